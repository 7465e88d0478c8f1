// Address and TLS key rules: every refusal names the key the user has to fix.
#include "forwarders/endpoint.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>

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

TEST_CASE("config errors name the key") {
  CHECK(config_error(R"({"address":"tcp://h:1"})", {Transport::tcp}).empty());
  CHECK(config_error(R"({})", {Transport::tcp}) == "auditfwd.toml: forwarders[0].address: is required");
  CHECK(
      config_error(R"({"address":"tcp://h"})", {Transport::tcp}).starts_with("auditfwd.toml: forwarders[0].address: "));
  CHECK(config_error(R"({"address":"udp://h:514"})", {Transport::tcp, Transport::tls})
            .find("forwarders[0].address: udp:// is not supported") != std::string::npos);
  CHECK(config_error(R"({"address":"tcp://h:1","tls_ca_file":"/ca.pem"})", {Transport::tcp})
            .find("forwarders[0].tls_ca_file: is only valid with a tls:// address") != std::string::npos);
  CHECK(config_error(R"({"address":"tls://h:1","tls_cert_file":"/c.pem"})", {Transport::tls})
            .find("forwarders[0].tls_key_file") != std::string::npos);
  CHECK(config_error(R"({"address":"tls://h:1","tls_cert_file":"/c.pem","tls_key_file":"/k.pem"})", {Transport::tls})
            .empty());
}
