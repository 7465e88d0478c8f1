// Which config file the daemon and every command use, and how it was chosen.
#pragma once

#include <string>

namespace auditfwd {

// The config a package installs; used when it exists and nothing else is named.
inline constexpr const char* system_config_path = "/etc/auditfwd/auditfwd.toml";

struct ConfigLocation {
  std::string path;    // empty: the embedded development default
  std::string origin;  // how it was chosen, for the line every command prints

  // The name problems and messages give it: the path, or "<embedded default>".
  std::string name() const { return path.empty() ? "<embedded default>" : path; }
};

// DESIGN.md's resolution, the same for the daemon and every command:
// `option` (--config) when given, else `env_value` ($AUDITFWD_CONFIG) when
// set and not empty, else system_config_path when `system_config_present`,
// else the embedded default.
ConfigLocation resolve_config(const std::string& option, const char* env_value, bool system_config_present);

// The same with the process's environment and file system. A system config
// that exists but cannot be looked at (a directory without search permission)
// counts as present, so its error is reported instead of the embedded default
// being used silently.
ConfigLocation resolve_config(const std::string& option);

}  // namespace auditfwd
