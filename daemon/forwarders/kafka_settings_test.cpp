// Config validation of the `kafka` forwarder: librdkafka judges the properties, errors name the key.
#include "forwarders/kafka_settings.hpp"
#include "config/config_error.hpp"

#include "support/forwarder_config.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>
#include <string>

using namespace auditfwd;

namespace {
ForwarderConfig config_with(const std::string& options_json) {
  return testing::forwarder_config("kafka", options_json);
}

std::string error_of(const std::string& options_json) {
  return testing::config_error(parse_kafka_settings, "kafka", options_json);
}

std::string property(const KafkaSettings& settings, const std::string& name) {
  std::string value;  // the last one set wins, as in librdkafka
  for (const auto& [key, text] : settings.properties)
    if (key == name) value = text;
  return value;
}
}  // namespace

TEST_CASE("kafka: idempotence and acks=all by default, the key the event id") {
  const auto s = parse_kafka_settings(config_with(R"({"topic":"audit","properties":{"bootstrap.servers":"k1:9092"}})"));
  CHECK(s.topic == "audit");
  CHECK(s.key_field == "id");
  CHECK(property(s, "enable.idempotence") == "true");
  CHECK(property(s, "acks") == "all");
  CHECK(property(s, "bootstrap.servers") == "k1:9092");
  CHECK(s.secrets.empty());
}

TEST_CASE("kafka: configured properties override the defaults; numbers and booleans become text") {
  const auto s = parse_kafka_settings(config_with(
      R"({"topic":"audit","key":"organization_id","properties":{"bootstrap.servers":"k1:9092","acks":"1",
          "enable.idempotence":false,"linger.ms":20}})"));
  CHECK(s.key_field == "organization_id");
  CHECK(property(s, "acks") == "1");
  CHECK(property(s, "enable.idempotence") == "false");
  CHECK(property(s, "linger.ms") == "20");
}

TEST_CASE("kafka: dotted names written as nested tables (TOML without quotes) are joined") {
  const auto s =
      parse_kafka_settings(config_with(R"({"topic":"audit","properties":{"bootstrap":{"servers":"k1:9092"}}})"));
  CHECK(property(s, "bootstrap.servers") == "k1:9092");
}

TEST_CASE("kafka: an unknown property is refused, naming it and with librdkafka's reason") {
  const auto error =
      error_of(R"({"topic":"audit","properties":{"bootstrap.servers":"k1:9092","no.such.property":"1"}})");
  CHECK(error.find(R"(forwarders[0].properties."no.such.property")") != std::string::npos);
  CHECK(error.find("No such configuration property") != std::string::npos);
}

TEST_CASE("kafka: a value librdkafka refuses is refused, naming the property") {
  const auto error = error_of(R"({"topic":"audit","properties":{"bootstrap.servers":"k1:9092","acks":"some"}})");
  CHECK(error.find(R"(forwarders[0].properties."acks")") != std::string::npos);
  CHECK(error.find("Invalid value") != std::string::npos);
  const auto range = error_of(R"({"topic":"audit","properties":{"bootstrap.servers":"k1:9092","linger.ms":-5}})");
  CHECK(range.find(R"(forwarders[0].properties."linger.ms")") != std::string::npos);
  const auto list = error_of(R"({"topic":"audit","properties":{"bootstrap.servers":["k1:9092"]}})");
  CHECK(list.find("must be a string, an integer or a boolean") != std::string::npos);
}

TEST_CASE("kafka: topic and bootstrap.servers are required; every problem is named in one pass") {
  const auto error = error_of(R"({"key":"nope","properties":{"acks":"bad"},"extra":1})");
  CHECK(error.find("forwarders[0].topic: is required") != std::string::npos);
  CHECK(error.find("forwarders[0].key: must be a top-level string field") != std::string::npos);
  CHECK(error.find(R"(forwarders[0].properties."acks")") != std::string::npos);
  CHECK(error.find("\"bootstrap.servers\" is required") != std::string::npos);
  CHECK(error.find("forwarders[0].extra: unknown key") != std::string::npos);
  CHECK(error_of(R"({"topic":"audit"})").find("forwarders[0].properties: is required") != std::string::npos);
}

TEST_CASE("kafka: secret properties are collected, and a refused secret value is not quoted") {
  const auto s = parse_kafka_settings(config_with(
      R"({"topic":"audit","properties":{"bootstrap.servers":"k1:9093","security.protocol":"sasl_ssl",
          "sasl.mechanisms":"PLAIN","sasl.username":"relay","sasl.password":"hunter2-secret"}})"));
  REQUIRE(s.secrets.size() == 1);
  CHECK(s.secrets[0] == "hunter2-secret");
  CHECK(kafka_property_is_secret("ssl.key.password"));
  CHECK(kafka_property_is_secret("sasl.oauthbearer.client.secret"));
  CHECK(kafka_property_is_secret("ssl.key.pem"));
  CHECK_FALSE(kafka_property_is_secret("sasl.username"));
  // A refused secret value is never quoted back.
  const auto error =
      error_of(R"({"topic":"audit","properties":{"bootstrap.servers":"k1","sasl.password":["pw-123"]}})");
  CHECK(error.find("pw-123") == std::string::npos);
}
