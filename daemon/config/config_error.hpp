// A refused configuration: every problem names the file, where in it, the key and the reason.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace auditfwd {

// One thing wrong with a config. `line` and `column` (1-based) point at the
// key, or at the table that lacks it; 0 when the problem has no place in the
// text (the file is missing or unreadable, the embedded default).
struct ConfigProblem {
  // What kind of problem: the file does not exist, cannot be read, is not
  // valid TOML/JSON, or holds a value the daemon refuses.
  enum class Kind { missing, unreadable, malformed, invalid };

  Kind kind = Kind::invalid;
  std::string file;
  std::string key;  // "forwarders[0].path", or "(file)", "(document)", "(root)"
  std::string reason;
  int line = 0;
  int column = 0;

  // "<file>:<line>:<column>: <key>: <reason>", or "<file>: <key>: <reason>"
  // without a position: the form compilers use, so editors can jump to it.
  std::string text() const;
};

const char* to_string(ConfigProblem::Kind kind);

// Thrown while loading or validating a config; it carries every problem found
// (at least one). what() is their text(), one a line, ready to print;
// check-config and the daemon exit 78 (EX_CONFIG) on it.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, const std::string& key, const std::string& reason)
      : ConfigError(std::vector<ConfigProblem>{{ConfigProblem::Kind::invalid, file, key, reason, 0, 0}}) {}
  explicit ConfigError(std::vector<ConfigProblem> problems);

  const std::vector<ConfigProblem>& problems() const noexcept { return problems_; }

 private:
  std::vector<ConfigProblem> problems_;
};

inline constexpr int exit_config_error = 78;  // EX_CONFIG from sysexits.h

}  // namespace auditfwd
