// Address parsing and TLS key rules: every refusal names the key the user has to fix.
#include "forwarders/endpoint.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

using namespace auditfwd;

namespace {

std::string config_error(const char* json, std::initializer_list<Transport> allowed) {
  const auto table = boost::json::parse(json).as_object();
  ConfigReader reader(table, "auditfwd.toml", "forwarders[0]");
  try {
    auto endpoint = read_endpoint(reader, "address", allowed);
    read_tls_files(reader, endpoint);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("addresses parse into transport, host and port") {
  auto parsed = parse_endpoint("tcp://logs.example.com:6514");
  REQUIRE(parsed.endpoint);
  CHECK(parsed.endpoint->transport == Transport::tcp);
  CHECK(parsed.endpoint->host == "logs.example.com");
  CHECK(parsed.endpoint->port == 6514);

  parsed = parse_endpoint("udp://[::1]:514");
  REQUIRE(parsed.endpoint);
  CHECK(parsed.endpoint->transport == Transport::udp);
  CHECK(parsed.endpoint->host == "::1");
  CHECK(parsed.endpoint->text() == "udp://[::1]:514");
  CHECK(parse_endpoint("tls://127.0.0.1:1").endpoint->text() == "tls://127.0.0.1:1");
}

TEST_CASE("malformed addresses are refused with the reason") {
  CHECK(parse_endpoint("127.0.0.1:514").error.find("scheme://host:port") != std::string::npos);
  CHECK(parse_endpoint("http://h:80").error.find("unknown scheme") != std::string::npos);
  CHECK(parse_endpoint("tcp://host").error.find("port is required") != std::string::npos);
  CHECK(parse_endpoint("tcp://:514").error.find("host is empty") != std::string::npos);
  CHECK(parse_endpoint("tcp://h:0").error.find("not a port") != std::string::npos);
  CHECK(parse_endpoint("tcp://h:65536").error.find("not a port") != std::string::npos);
  CHECK(parse_endpoint("tcp://h:51x").error.find("not a port") != std::string::npos);
  CHECK(parse_endpoint("tcp://::1:514").error.find("brackets") != std::string::npos);
  CHECK(parse_endpoint("tcp://[::1:514").error.find("unterminated") != std::string::npos);
  CHECK(parse_endpoint("tcp://h/x:5").error.find("not a host") != std::string::npos);
}

TEST_CASE("config errors name the key") {
  CHECK(config_error(R"({"address":"tcp://h:1"})", {Transport::tcp}).empty());
  CHECK(config_error(R"({})", {Transport::tcp}) == "auditfwd.toml: forwarders[0].address: is required");
  CHECK(config_error(R"({"address":"tcp://h"})", {Transport::tcp}).starts_with("auditfwd.toml: forwarders[0].address: "));
  CHECK(config_error(R"({"address":"udp://h:514"})", {Transport::tcp, Transport::tls})
            .find("forwarders[0].address: udp:// is not supported") != std::string::npos);
  CHECK(config_error(R"({"address":"tcp://h:1","tls_ca_file":"/ca.pem"})", {Transport::tcp})
            .find("forwarders[0].tls_ca_file: is only valid with a tls:// address") != std::string::npos);
  CHECK(config_error(R"({"address":"tls://h:1","tls_cert_file":"/c.pem"})", {Transport::tls})
            .find("forwarders[0].tls_key_file") != std::string::npos);
  CHECK(config_error(R"({"address":"tls://h:1","tls_cert_file":"/c.pem","tls_key_file":"/k.pem"})", {Transport::tls})
            .empty());
}
