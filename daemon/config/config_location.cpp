// Config resolution: --config, $AUDITFWD_CONFIG, /etc/auditfwd/auditfwd.toml, the embedded default.
#include "config/config_location.hpp"

#include <sys/stat.h>
#include <cerrno>
#include <cstdlib>

namespace auditfwd {

ConfigLocation resolve_config(const std::string& option, const char* env_value, bool system_config_present) {
  if (!option.empty()) return {option, "from --config"};
  if (env_value && *env_value) return {env_value, "from $AUDITFWD_CONFIG"};
  if (system_config_present) return {system_config_path, "the system config: no --config or $AUDITFWD_CONFIG"};
  return {"", std::string("no --config, $AUDITFWD_CONFIG or ") + system_config_path};
}

ConfigLocation resolve_config(const std::string& option) {
  struct stat status {};
  const bool present = ::stat(system_config_path, &status) == 0 || (errno != ENOENT && errno != ENOTDIR);
  return resolve_config(option, std::getenv("AUDITFWD_CONFIG"), present);
}

}  // namespace auditfwd
