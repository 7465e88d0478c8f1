// The composition root: builds every subsystem from a Config, wires them, runs until SIGTERM.
#pragma once

#include "config/config.hpp"

#include <string>
#include <vector>

namespace auditfwd {

// Runs the daemon in the foreground and returns the process exit code:
// 0 after a graceful stop (SIGTERM/SIGINT), 78 for a refused configuration,
// 1 when the environment is broken (socket or database cannot be opened).
// `config_path` is re-read on SIGHUP to report whether it changed.
int run_daemon(const Config& config, const std::string& config_path);

// Builds every forwarder to validate its type-specific keys (no side effects):
// the first problem of each forwarder, placed in the file (none: all valid).
std::vector<ConfigProblem> forwarder_problems(const Config& config);
// The same, thrown as one ConfigError.
void validate_forwarders(const Config& config);

}  // namespace auditfwd
