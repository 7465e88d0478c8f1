// The problems found in one config file, each placed at its line and column.
#pragma once

#include "config/config_error.hpp"
#include "config/source_positions.hpp"

#include <string>
#include <vector>

namespace auditfwd {

// Collects every problem of one file instead of stopping at the first, so
// check-config (and the daemon refusing to start) can name them all at once.
class ConfigProblems {
 public:
  // `positions` may be null (no text to point into, e.g. a file that cannot be read).
  ConfigProblems(std::string file, const SourcePositions* positions) : file_(std::move(file)), positions_(positions) {}

  // Records a problem with `key` (a path such as "forwarders[0].path"),
  // placed where the key is, or where the table lacking it is.
  void add(const std::string& key, const std::string& reason, ConfigProblem::Kind kind = ConfigProblem::Kind::invalid);
  // Records a problem thrown by code that stops at its first (a forwarder's
  // factory), adding the position it could not know.
  void add(const ConfigProblem& problem);

  bool empty() const { return problems_.empty(); }
  const std::vector<ConfigProblem>& list() const { return problems_; }
  const std::string& file() const { return file_; }

  // Throws ConfigError with every problem recorded, if there is one.
  void throw_if_any() const;

 private:
  std::string file_;
  const SourcePositions* positions_;
  std::vector<ConfigProblem> problems_;
};

}  // namespace auditfwd
