// Unit tests for [admin] listen: loopback TCP or a Unix socket, anything else refused with a reason.
#include "config/admin_address.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("loopback TCP addresses and Unix sockets are accepted") {
  auto v4 = parse_admin_address("127.0.0.1:9880");
  REQUIRE(v4.address);
  CHECK(v4.address->kind == AdminAddress::Kind::tcp);
  CHECK(v4.address->host == "127.0.0.1");
  CHECK(v4.address->port == 9880);
  auto v6 = parse_admin_address("[::1]:9");
  REQUIRE(v6.address);
  CHECK(v6.address->host == "::1");
  CHECK(v6.address->describe() == "http://[::1]:9");
  auto local = parse_admin_address("unix:/run/auditfwd/admin.sock");
  REQUIRE(local.address);
  CHECK(local.address->kind == AdminAddress::Kind::unix_socket);
  CHECK(local.address->path == "/run/auditfwd/admin.sock");
}

TEST_CASE("other addresses are refused, each with a reason") {
  CHECK(parse_admin_address("0.0.0.0:9880").problem.find("only a loopback address") != std::string::npos);
  CHECK(parse_admin_address("192.0.2.1:9880").problem.find("only a loopback address") != std::string::npos);
  CHECK(parse_admin_address("localhost:9880").problem.find("not an IP address") != std::string::npos);
  CHECK(parse_admin_address("127.0.0.1:0").problem.find("port") != std::string::npos);
  CHECK(parse_admin_address("127.0.0.1:65536").problem.find("port") != std::string::npos);
  CHECK(parse_admin_address("127.0.0.1:x").problem.find("port") != std::string::npos);
  CHECK(parse_admin_address("9880").problem.find("is not an address") != std::string::npos);
  CHECK(parse_admin_address("unix:").problem.find("needs a path") != std::string::npos);
  CHECK_FALSE(parse_admin_address("").address);
}
