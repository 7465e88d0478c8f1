// A refused configuration: always names the file, the key and the reason.
#pragma once

#include <stdexcept>
#include <string>

namespace auditfwd {

// Thrown while loading or validating a config. what() reads
// "<file>: <key>: <reason>", ready to print; check-config and the daemon
// exit 78 (EX_CONFIG) on it.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, const std::string& key, const std::string& reason)
      : std::runtime_error(file + ": " + key + ": " + reason) {}
};

inline constexpr int exit_config_error = 78;  // EX_CONFIG from sysexits.h

}  // namespace auditfwd
