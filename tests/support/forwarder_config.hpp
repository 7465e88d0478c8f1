// A forwarder entry built from JSON options for unit tests of a type's settings, and the ConfigError its
// parser throws for it.
#pragma once

#include "config/config.hpp"
#include "config/config_error.hpp"

#include <boost/json/parse.hpp>
#include <string>

namespace auditfwd::testing {

// forwarders[0] of test.toml, of `type`, with `options_json` as its type keys.
inline ForwarderConfig forwarder_config(const std::string& type, const std::string& options_json) {
  ForwarderConfig config;
  config.id = type + "-under-test";
  config.type = type;
  config.file = "test.toml";
  config.path = "forwarders[0]";
  config.options = boost::json::parse(options_json).as_object();
  return config;
}

// What `parse` (a type's settings parser) refuses in that entry: the ConfigError's text, or "" when it accepts it.
template <typename Parse>
std::string config_error(Parse parse, const std::string& type, const std::string& options_json) {
  try {
    parse(forwarder_config(type, options_json));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace auditfwd::testing
