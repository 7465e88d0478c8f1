// The `kafka` forwarder's settings: topic, message key and librdkafka properties, each checked by librdkafka itself.
#pragma once

#include "config/config.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace auditfwd {

// A validated kafka forwarder configuration. `properties` are the librdkafka
// properties in the order they are applied: the forwarder's defaults first
// (enable.idempotence = true, acks = all), then the configured ones, each
// already accepted by rd_kafka_conf_set. Values of secret properties
// (kafka_property_is_secret) are in `secrets` and never logged.
struct KafkaSettings {
  std::string topic;
  std::string key_field = "id";  // the event's top-level field whose value keys each message
  std::vector<std::pair<std::string, std::string>> properties;
  std::vector<std::string> secrets;
};

// Reads the type keys of one `kafka` forwarder entry: `topic` (required), `key`
// (a top-level string field of the event, default "id") and `properties` (a
// table of librdkafka properties; `bootstrap.servers` required). Every
// property is tried on a librdkafka configuration object: an unknown property
// or a value librdkafka refuses is a ConfigError naming
// `forwarders[N].properties."x.y"` with librdkafka's reason. Every problem of the
// entry is reported in one pass. Opens no connection and starts no thread.
KafkaSettings parse_kafka_settings(const ForwarderConfig& config);

// True for a librdkafka property whose value is a secret (sasl.password,
// ssl.key.password, ssl.key.pem, sasl.oauthbearer.client.secret, …).
bool kafka_property_is_secret(std::string_view name);

// The event fields that may key the messages: the top-level fields an event
// carries as a string (or null).
const std::vector<std::string>& kafka_key_fields();

}  // namespace auditfwd
