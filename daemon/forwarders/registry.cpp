// The table of forwarder types. Adding a type = one factory and one line here.
#include "forwarders/registry.hpp"

#include "config/config_error.hpp"
#include "forwarders/elasticsearch_forwarder.hpp"
#include "forwarders/exec_forwarder.hpp"
#include "forwarders/file_forwarder.hpp"
#include "forwarders/http_forwarder.hpp"
#include "forwarders/kafka_forwarder.hpp"
#include "forwarders/loki_forwarder.hpp"
#include "forwarders/postgresql_forwarder.hpp"
#include "forwarders/redacting_forwarder.hpp"
#include "forwarders/splunk_hec_forwarder.hpp"
#include "forwarders/stdout_forwarder.hpp"
#include "forwarders/syslog_forwarder.hpp"
#include "forwarders/tcp_forwarder.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <functional>
#include <map>

namespace auditfwd {
namespace {

using Factory = std::function<std::unique_ptr<Forwarder>(const ForwarderConfig&, const ForwarderContext&)>;

const std::map<std::string, Factory>& factories() {
  // One row per type, so a new type is a one-line change.
  // clang-format off
  static const std::map<std::string, Factory> table = {
      {"exec", make_exec_forwarder},
      {"file", make_file_forwarder},
      {"http", make_http_forwarder},
      {"stdout", make_stdout_forwarder},
      {"syslog", make_syslog_forwarder},
      {"tcp", make_tcp_forwarder},
      {"splunk_hec", make_splunk_hec_forwarder},
      {"elasticsearch", make_elasticsearch_forwarder},
      {"loki", make_loki_forwarder},
      {"kafka", make_kafka_forwarder},
      {"postgresql", make_postgresql_forwarder},
  };
  // clang-format on
  return table;
}

}  // namespace

std::unique_ptr<Forwarder> make_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  const auto it = factories().find(config.type);
  if (it == factories().end())
    throw ConfigError(
        config.file, config.path + ".type",
        fmt::format("unknown forwarder type \"{}\" (known: {})", config.type, fmt::join(forwarder_types(), ", ")));
  return with_redacted_reasons(it->second(config, context));
}

std::shared_ptr<spdlog::logger> forwarder_logger(const std::string& id) {
  return spdlog::default_logger()->clone("forwarder." + id);
}

std::vector<std::string> forwarder_types() {
  std::vector<std::string> names;
  for (const auto& [name, _] : factories()) names.push_back(name);
  return names;
}

}  // namespace auditfwd
