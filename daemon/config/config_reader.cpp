// Strict typed reads over a config table, with file/key/reason errors.
#include "config/config_reader.hpp"

#include "common/units.hpp"

#include <fmt/format.h>
#include <cmath>
#include <fstream>
#include <sstream>

namespace auditfwd {

ConfigReader::ConfigReader(const boost::json::object& table, std::string file, std::string path,
                           ConfigProblems* problems)
    : table_(table), file_(std::move(file)), path_(std::move(path)), problems_(problems) {}

std::string ConfigReader::key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

void ConfigReader::fail(const std::string& key, const std::string& reason) const {
  throw ConfigError(file_, key_path(key), reason);
}

void ConfigReader::report(const std::string& key, const std::string& reason) const {
  if (!problems_) fail(key, reason);
  problems_->add(key_path(key), reason);
}

const boost::json::value* ConfigReader::find(const std::string& key) {
  read_.insert(key);
  return table_.if_contains(key);
}

void ConfigReader::accept(const std::string& key) { read_.insert(key); }

std::string ConfigReader::required_string(const std::string& key) {
  auto value = optional_string(key);
  if (!value) {
    if (!contains(key)) report(key, "is required");  // else optional_string reported its type
    return {};
  }
  return *value;
}

std::optional<std::string> ConfigReader::optional_string(const std::string& key) {
  const auto* value = find(key);
  if (!value) return std::nullopt;
  if (!value->is_string()) {
    report(key, "must be a string");
    return std::nullopt;
  }
  return std::string(value->get_string());
}

std::string ConfigReader::string_or(const std::string& key, std::string fallback) {
  auto value = optional_string(key);
  return value ? *value : std::move(fallback);
}

std::string ConfigReader::choice(const std::string& key, std::vector<std::string> allowed, std::string fallback) {
  auto value = string_or(key, std::move(fallback));
  for (const auto& candidate : allowed)
    if (candidate == value) return value;
  report(key, fmt::format("must be one of {}, not \"{}\"", fmt::join(allowed, ", "), value));
  return allowed.front();
}

bool ConfigReader::boolean(const std::string& key, bool fallback) {
  const auto* value = find(key);
  if (!value) return fallback;
  if (!value->is_bool()) {
    report(key, "must be true or false");
    return fallback;
  }
  return value->get_bool();
}

std::int64_t ConfigReader::integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const auto* value = find(key);
  if (!value) return fallback;
  std::int64_t number;
  if (value->is_int64())
    number = value->get_int64();
  else if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    number = static_cast<std::int64_t>(value->get_uint64());
  else {
    report(key, "must be an integer");
    return fallback;
  }
  if (number < min || number > max) {
    report(key, fmt::format("must be between {} and {}", min, max));
    return fallback;
  }
  return number;
}

std::chrono::milliseconds ConfigReader::duration(const std::string& key, std::chrono::milliseconds fallback) {
  const auto* value = find(key);
  if (!value) return fallback;
  std::optional<std::chrono::milliseconds> parsed;
  constexpr std::int64_t max_seconds = 100LL * 365 * 24 * 3600;  // checked before scaling: no overflow
  if (value->is_int64() && value->get_int64() >= 0)
    parsed = std::chrono::seconds{std::min(value->get_int64(), max_seconds + 1)};
  else if (value->is_uint64())
    parsed = std::chrono::seconds{max_seconds + 1};
  else if (value->is_double() && value->get_double() >= 0 &&
           value->get_double() <= static_cast<double>(max_seconds) + 1)
    parsed = std::chrono::milliseconds{static_cast<std::int64_t>(value->get_double() * 1000)};
  else if (value->is_string())
    parsed = parse_duration(value->get_string());
  if (!parsed) {
    report(key, "must be a duration: seconds as a number, or a string like \"500ms\", \"10s\", \"5m\", \"2h\", \"7d\"");
    return fallback;
  }
  if (*parsed > std::chrono::hours(24 * 365 * 100)) {
    report(key, "must be at most 100 years");
    return fallback;
  }
  return *parsed;
}

std::uint64_t ConfigReader::byte_size(const std::string& key, std::uint64_t fallback) {
  const auto* value = find(key);
  if (!value) return fallback;
  std::optional<std::uint64_t> parsed;
  if (value->is_int64() && value->get_int64() >= 0)
    parsed = static_cast<std::uint64_t>(value->get_int64());
  else if (value->is_uint64())
    parsed = value->get_uint64();
  else if (value->is_string())
    parsed = parse_byte_size(value->get_string());
  if (!parsed) {
    report(key, "must be a size: bytes as a number, or a string like \"64KiB\", \"10MiB\", \"2GiB\"");
    return fallback;
  }
  return *parsed;
}

std::vector<std::string> ConfigReader::string_list(const std::string& key) {
  const auto* value = find(key);
  std::vector<std::string> out;
  if (!value) return out;
  auto wrong = [&] {
    report(key, "must be a list of strings");
    return std::vector<std::string>{};
  };
  if (!value->is_array()) return wrong();
  for (const auto& item : value->get_array()) {
    if (!item.is_string()) return wrong();
    out.emplace_back(item.get_string());
  }
  return out;
}

std::vector<std::int64_t> ConfigReader::integer_list(const std::string& key, std::int64_t min, std::int64_t max) {
  const auto* value = find(key);
  std::vector<std::int64_t> out;
  if (!value) return out;
  auto wrong = [&](const std::string& reason) {
    report(key, reason);
    return std::vector<std::int64_t>{};
  };
  if (!value->is_array()) return wrong("must be a list of integers");
  for (const auto& item : value->get_array()) {
    std::int64_t number;
    if (item.is_int64())
      number = item.get_int64();
    else if (item.is_uint64() && item.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      number = static_cast<std::int64_t>(item.get_uint64());
    else
      return wrong("must be a list of integers");
    if (number < min || number > max)
      return wrong(fmt::format("each must be between {} and {}, not {}", min, max, number));
    out.push_back(number);
  }
  return out;
}

std::optional<double> ConfigReader::optional_number(const std::string& key, double min, double max) {
  const auto* value = find(key);
  if (!value) return std::nullopt;
  double number;
  if (value->is_int64())
    number = static_cast<double>(value->get_int64());
  else if (value->is_uint64())
    number = static_cast<double>(value->get_uint64());
  else if (value->is_double())
    number = value->get_double();
  else {
    report(key, "must be a number");
    return std::nullopt;
  }
  if (!std::isfinite(number)) {
    report(key, "must be a finite number");
    return std::nullopt;
  }
  if (number < min || number > max) {
    report(key, fmt::format("must be between {:g} and {:g}", min, max));
    return std::nullopt;
  }
  return number;
}

boost::json::object ConfigReader::table(const std::string& key) {
  const auto* value = find(key);
  if (!value) return {};
  if (!value->is_object()) {
    report(key, "must be a table");
    return {};
  }
  return value->get_object();
}

std::optional<std::string> ConfigReader::secret(const std::string& key) {
  auto inline_value = optional_string(key);
  auto file_name = optional_string(key + "_file");
  if (inline_value && file_name) fail(key, fmt::format("give either {} or {}_file, not both", key, key));
  if (!file_name) return inline_value;
  std::ifstream in(*file_name, std::ios::binary);
  if (!in) fail(key + "_file", fmt::format("cannot read \"{}\"", *file_name));
  std::ostringstream contents;
  contents << in.rdbuf();
  std::string secret_value = contents.str();
  while (!secret_value.empty() && (secret_value.back() == '\n' || secret_value.back() == '\r')) secret_value.pop_back();
  return secret_value;
}

void ConfigReader::finish() const {
  for (const auto& [key, _] : table_) {
    if (!read_.contains(std::string(key))) report(std::string(key), "unknown key");
  }
}

}  // namespace auditfwd
