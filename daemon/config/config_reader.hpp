// Typed, strict access to one config table: every key is checked and an unknown key is an error.
#pragma once

#include "config/config_error.hpp"
#include "config/config_problems.hpp"

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace auditfwd {

// Reads keys of one table (a JSON object converted from TOML or JSON) and
// reports a missing, mistyped or out-of-range value naming `file` and
// `path.key`. Call finish() after the last read: any key that was not read is
// reported as unknown, so a typo is never silently ignored.
//
// Without `problems`, a report throws ConfigError at once. With it, each
// report is recorded there and the read returns its fallback, so the caller
// goes on and every problem of the file is found in one pass.
class ConfigReader {
 public:
  ConfigReader(const boost::json::object& table, std::string file, std::string path,
               ConfigProblems* problems = nullptr);

  std::string required_string(const std::string& key);
  std::optional<std::string> optional_string(const std::string& key);
  std::string string_or(const std::string& key, std::string fallback);
  // The value must be one of `allowed`.
  std::string choice(const std::string& key, std::vector<std::string> allowed, std::string fallback);
  bool boolean(const std::string& key, bool fallback);
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  std::chrono::milliseconds duration(const std::string& key, std::chrono::milliseconds fallback);
  std::uint64_t byte_size(const std::string& key, std::uint64_t fallback);
  std::vector<std::string> string_list(const std::string& key);
  // Each item an integer within [min, max].
  std::vector<std::int64_t> integer_list(const std::string& key, std::int64_t min, std::int64_t max);
  // An integer or a decimal number, finite, within [min, max]; nullopt when absent.
  std::optional<double> optional_number(const std::string& key, double min, double max);
  boost::json::object table(const std::string& key);  // empty when absent
  // A secret given inline as `key` or read from the file named by `key_file`
  // (trailing newline dropped). Both at once is an error.
  std::optional<std::string> secret(const std::string& key);
  // Marks a key as known without reading it (its owner validates it elsewhere).
  void accept(const std::string& key);

  bool contains(const std::string& key) const { return table_.contains(key); }
  // True when `key` is present and holds a string.
  bool holds_string(const std::string& key) const {
    const auto* value = table_.if_contains(key);
    return value && value->is_string();
  }
  // True when `key` is present and holds a list.
  bool holds_list(const std::string& key) const {
    const auto* value = table_.if_contains(key);
    return value && value->is_array();
  }
  const std::string& file() const { return file_; }
  std::string key_path(const std::string& key) const;
  // Always throws ConfigError (for code that cannot go on after a bad value).
  [[noreturn]] void fail(const std::string& key, const std::string& reason) const;
  // Records the problem when collecting, else throws like fail().
  void report(const std::string& key, const std::string& reason) const;

  // Reports every key that was not read as unknown.
  void finish() const;

 private:
  const boost::json::value* find(const std::string& key);

  const boost::json::object& table_;
  std::string file_;
  std::string path_;
  std::set<std::string> read_;
  ConfigProblems* problems_;
};

}  // namespace auditfwd
