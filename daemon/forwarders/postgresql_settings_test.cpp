// Config validation of the `postgresql` forwarder: the connection string parsed by libpq, the table an identifier.
#include "forwarders/postgresql_settings.hpp"
#include "config/config_error.hpp"
#include "forwarders/postgresql_outcome.hpp"

#include "support/forwarder_config.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>
#include <string>

using namespace auditfwd;

namespace {
ForwarderConfig config_with(const std::string& options_json) {
  return testing::forwarder_config("postgresql", options_json);
}

std::string error_of(const std::string& options_json) {
  return testing::config_error(parse_postgresql_settings, "postgresql", options_json);
}
}  // namespace

TEST_CASE("postgresql: defaults, and the password of the connection string is a secret") {
  const auto s = parse_postgresql_settings(config_with(R"({"conninfo":"host=db user=relay password=s3cr3t-pw"})"));
  CHECK(s.table == "\"audit_events\"");
  CHECK(s.create_table);
  REQUIRE(s.secrets.size() == 1);
  CHECK(s.secrets[0] == "s3cr3t-pw");
  const auto uri = parse_postgresql_settings(
      config_with(R"({"conninfo":"postgresql://relay:uri-pw@db/audit?sslmode=verify-full","table":"audit.events"})"));
  CHECK(uri.secrets == std::vector<std::string>{"uri-pw"});
  CHECK(uri.table == "\"audit\".\"events\"");
}

TEST_CASE("postgresql: the table must be an identifier, never anything SQL could read otherwise") {
  for (const auto* bad : {"audit events", "x\\\"; DROP TABLE y; --", "1abc", "a.b.c", "", "a..b",
                          "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd"}) {
    CAPTURE(bad);
    CHECK(error_of(std::string(R"({"conninfo":"host=db","table":")") + bad + "\"}").find("forwarders[0].table") !=
          std::string::npos);
  }
  CHECK(quoted_table_name("Audit_$1") == "\"Audit_$1\"");
}

TEST_CASE("postgresql: conninfo is required, parsed by libpq, and never quoted back") {
  CHECK(error_of(R"({})").find("forwarders[0].conninfo: is required") != std::string::npos);
  const auto unknown = error_of(R"({"conninfo":"host=db colour=blue"})");
  CHECK(unknown.find("forwarders[0].conninfo: not a valid libpq connection string: invalid connection option "
                     "\"colour\"") != std::string::npos);
  const auto broken = error_of(R"({"conninfo":"host=db password 'unterminated-pw"})");
  CHECK(broken.find("forwarders[0].conninfo: not a valid libpq connection string") != std::string::npos);
  CHECK(broken.find("unterminated-pw") == std::string::npos);
  CHECK(error_of(R"({"conninfo":"host=db","conninfo_file":"/x"})").find("not both") != std::string::npos);
  CHECK(error_of(R"({"conninfo":"host=db","create_table":"yes","tablename":"x"})").find("create_table") !=
        std::string::npos);
}

TEST_CASE("postgresql: SQLSTATE classes decide retry or permanent") {
  CHECK(postgresql_outcome("", "server closed the connection unexpectedly\n").kind == DeliveryOutcome::Kind::retry);
  for (const auto* transient :
       {"08006", "40001", "40P01", "53100", "57P01", "57014", "55P03", "XX000", "42P01", "42703", "42501"})
    CHECK(postgresql_outcome(transient, "x").kind == DeliveryOutcome::Kind::retry);
  for (const auto* permanent : {"22P02", "22007", "23502", "23514", "44000", "0A000"})
    CHECK(postgresql_outcome(permanent, "x").kind == DeliveryOutcome::Kind::permanent);
  CHECK(postgresql_row_error("22P02"));
  CHECK_FALSE(postgresql_row_error("42P01"));
  CHECK(postgresql_outcome("23502", "null value in column \"action\"\n").reason ==
        "postgresql: null value in column \"action\" (SQLSTATE 23502)");
}
