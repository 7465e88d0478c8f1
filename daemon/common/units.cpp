// Parsing of the config's human-friendly durations and sizes.
#include "common/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace auditfwd {
namespace {

// Splits "12.5ms" into 12.5 and "ms"; false when there is no leading number.
bool split_number(std::string_view text, double& number, std::string_view& suffix) noexcept {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
  if (end == 0) return false;
  const std::string digits{text.substr(0, end)};
  char* parsed_end = nullptr;
  number = std::strtod(digits.c_str(), &parsed_end);
  if (parsed_end != digits.c_str() + digits.size() || !std::isfinite(number)) return false;
  suffix = text.substr(end);
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;
  double ms_per_unit;
  if (unit.empty() || unit == "s")
    ms_per_unit = 1000;
  else if (unit == "ms")
    ms_per_unit = 1;
  else if (unit == "m")
    ms_per_unit = 60'000;
  else if (unit == "h")
    ms_per_unit = 3'600'000;
  else if (unit == "d")
    ms_per_unit = 86'400'000;
  else
    return std::nullopt;
  const double ms = number * ms_per_unit;
  if (ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(ms))};
}

std::optional<std::uint64_t> parse_byte_size(std::string_view text) noexcept {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;
  double factor;
  if (unit.empty() || unit == "B")
    factor = 1;
  else if (unit == "KiB")
    factor = 1024.0;
  else if (unit == "MiB")
    factor = 1024.0 * 1024;
  else if (unit == "GiB")
    factor = 1024.0 * 1024 * 1024;
  else if (unit == "TiB")
    factor = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "KB")
    factor = 1e3;
  else if (unit == "MB")
    factor = 1e6;
  else if (unit == "GB")
    factor = 1e9;
  else if (unit == "TB")
    factor = 1e12;
  else
    return std::nullopt;
  const double bytes = number * factor;
  if (bytes > 9e18) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(bytes));
}

}  // namespace auditfwd
