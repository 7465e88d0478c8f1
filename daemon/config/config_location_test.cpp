#include "config/config_location.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("config resolution: --config, then $AUDITFWD_CONFIG, then the system config, then the embedded default") {
  CHECK(resolve_config("a.toml", "b.toml", true).path == "a.toml");
  CHECK(resolve_config("a.toml", "b.toml", true).origin == "from --config");
  CHECK(resolve_config("", "b.toml", true).path == "b.toml");
  CHECK(resolve_config("", "b.toml", true).origin == "from $AUDITFWD_CONFIG");
  CHECK(resolve_config("", "", true).path == "/etc/auditfwd/auditfwd.toml");  // an empty variable is unset
  CHECK(resolve_config("", nullptr, true).path == "/etc/auditfwd/auditfwd.toml");
  const auto fallback = resolve_config("", nullptr, false);
  CHECK(fallback.path.empty());
  CHECK(fallback.name() == "<embedded default>");
  CHECK(fallback.origin == "no --config, $AUDITFWD_CONFIG or /etc/auditfwd/auditfwd.toml");
}
