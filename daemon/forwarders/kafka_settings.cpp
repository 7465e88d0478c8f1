// Kafka settings: the properties go through rd_kafka_conf_set at load time, so librdkafka, not a copy of
// its property list, decides what is known and valid.
#include "forwarders/kafka_settings.hpp"

#include "config/config_reader.hpp"
#include "forwarders/forwarder_options.hpp"
#include "forwarders/rdkafka_library.hpp"
#include "forwarders/secret_redactor.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <stdexcept>

namespace auditfwd {
namespace {

// What the forwarder sets before the configured properties (which may override them).
const std::array<std::pair<const char*, const char*>, 2> default_properties = {{
    {"enable.idempotence", "true"},  // librdkafka's own retries never duplicate or reorder a message
    {"acks", "all"},                 // a message is delivered once every in-sync replica has it
}};

// TOML reads `bootstrap.servers = "…"` written without quotes as nested tables:
// join their names with dots, as librdkafka spells its properties.
void flatten(const boost::json::object& table, const std::string& prefix,
             std::vector<std::pair<std::string, const boost::json::value*>>& out) {
  for (const auto& [name, value] : table) {
    auto full = prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
    if (value.is_object())
      flatten(value.get_object(), full, out);
    else
      out.emplace_back(std::move(full), &value);
  }
}

// A property's value as librdkafka takes it (text); nullopt for a list, a number with a fraction, null.
std::optional<std::string> property_text(const boost::json::value& value) {
  if (value.is_string()) return std::string(value.get_string());
  if (value.is_bool()) return value.get_bool() ? "true" : "false";
  if (value.is_int64()) return std::to_string(value.get_int64());
  if (value.is_uint64()) return std::to_string(value.get_uint64());
  return std::nullopt;
}

bool is_table(const ForwarderConfig& config, const char* key) {
  const auto* value = config.options.if_contains(key);
  return value && value->is_object();
}

}  // namespace

bool kafka_property_is_secret(std::string_view name) {
  return name.find("password") != std::string_view::npos || name.find("secret") != std::string_view::npos ||
         name == "ssl.key.pem" || name == "ssl_key" || name == "sasl.oauthbearer.config";
}

const std::vector<std::string>& kafka_key_fields() {
  static const std::vector<std::string> fields = {
      "id",        "action",      "outcome",         "occurred_at",       "actor_id",   "actor_type",
      "target_id", "target_type", "organization_id", "effective_user_id", "ip_address", "user_agent"};
  return fields;
}

KafkaSettings parse_kafka_settings(const ForwarderConfig& config) {
  return read_forwarder_options(config, [&config](ConfigReader& reader) {
    KafkaSettings settings;
    settings.topic = reader.required_string("topic");
    if (reader.holds_string("topic") && settings.topic.empty()) reader.report("topic", "must not be empty");
    settings.key_field = reader.string_or("key", "id");
    const auto& fields = kafka_key_fields();
    if (std::find(fields.begin(), fields.end(), settings.key_field) == fields.end())
      reader.report("key", fmt::format("must be a top-level string field of the event ({})", fmt::join(fields, ", ")));

    if (!reader.contains("properties")) reader.report("properties", "is required (at least \"bootstrap.servers\")");
    std::vector<std::pair<std::string, const boost::json::value*>> configured;
    const auto table = reader.table("properties");
    flatten(table, "", configured);

    std::string load_error;
    if (!load_rdkafka(load_error)) {
      reader.report("type", load_error);
      reader.finish();
      return settings;
    }
    // One librdkafka configuration object takes the defaults and every configured property, as the producer
    // will: a value it refuses is refused here, with its reason.
    const std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(rdkafka().rd_kafka_conf_new(),
                                                                                  rdkafka().rd_kafka_conf_destroy);
    char reason[512];
    for (const auto& [name, value] : default_properties) {
      if (rdkafka().rd_kafka_conf_set(conf.get(), name, value, reason, sizeof reason) != RD_KAFKA_CONF_OK)
        throw std::logic_error(fmt::format("librdkafka refuses the default {} = {}: {}", name, value, reason));
      settings.properties.emplace_back(name, value);
    }
    bool has_bootstrap = false;
    for (const auto& [name, value] : configured) {
      const auto key = fmt::format("properties.\"{}\"", name);
      const auto text = property_text(*value);
      if (!text) {
        reader.report(key, "must be a string, an integer or a boolean");
        continue;
      }
      if (rdkafka().rd_kafka_conf_set(conf.get(), name.c_str(), text->c_str(), reason, sizeof reason) !=
          RD_KAFKA_CONF_OK) {
        // librdkafka may quote the value it refuses: never a secret one.
        const auto shown = kafka_property_is_secret(name)
                               ? SecretRedactor(std::vector<std::string>{*text}).redact(reason)
                               : std::string(reason);
        reader.report(key, shown);
        continue;
      }
      if (name == "bootstrap.servers" || name == "metadata.broker.list") has_bootstrap = !text->empty();
      if (kafka_property_is_secret(name) && !text->empty()) settings.secrets.push_back(*text);
      settings.properties.emplace_back(name, *text);
    }
    if (reader.contains("properties") && is_table(config, "properties") && !has_bootstrap)
      reader.report("properties", "\"bootstrap.servers\" is required (host:port[,host:port…])");
    reader.finish();
    return settings;
  });
}

}  // namespace auditfwd
