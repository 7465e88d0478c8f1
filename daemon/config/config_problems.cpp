// Collecting config problems with their positions, and their text.
#include "config/config_problems.hpp"

#include <fmt/format.h>

namespace auditfwd {
namespace {

std::string joined_text(const std::vector<ConfigProblem>& problems) {
  std::string out;
  for (const auto& problem : problems) {
    if (!out.empty()) out += '\n';
    out += problem.text();
  }
  return out;
}

}  // namespace

std::string ConfigProblem::text() const {
  if (line > 0) return fmt::format("{}:{}:{}: {}: {}", file, line, column, key, reason);
  return fmt::format("{}: {}: {}", file, key, reason);
}

const char* to_string(ConfigProblem::Kind kind) {
  switch (kind) {
    case ConfigProblem::Kind::missing: return "missing";
    case ConfigProblem::Kind::unreadable: return "unreadable";
    case ConfigProblem::Kind::malformed: return "malformed";
    case ConfigProblem::Kind::invalid: return "invalid";
  }
  return "invalid";
}

ConfigError::ConfigError(std::vector<ConfigProblem> problems)
    : std::runtime_error(joined_text(problems)), problems_(std::move(problems)) {}

void ConfigProblems::add(const std::string& key, const std::string& reason, ConfigProblem::Kind kind) {
  // A key may be the empty string ("" = 0): name it so, never leave the key out.
  ConfigProblem problem{kind, file_, key.empty() ? "\"\"" : key, reason, 0, 0};
  if (positions_) {
    const auto position = positions_->find(key);
    problem.line = position.line;
    problem.column = position.column;
  }
  problems_.push_back(std::move(problem));
}

void ConfigProblems::add(const ConfigProblem& problem) {
  if (problem.line == 0 && problem.file == file_ && problem.kind == ConfigProblem::Kind::invalid) {
    add(problem.key, problem.reason);
    return;
  }
  problems_.push_back(problem);
}

void ConfigProblems::throw_if_any() const {
  if (!problems_.empty()) throw ConfigError(problems_);
}

}  // namespace auditfwd
