// Address parsing: scheme, host and port, with the reason when the text is not an address.
#include "net/endpoint.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

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
