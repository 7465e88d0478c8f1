// RFC 5424/6587 details a receiver would reject or misparse: PRI, header fields, SD escaping, framing.
#include "forwarders/syslog_format.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("PRI combines the facility and the outcome's severity") {
  CHECK(syslog_facility_code("authpriv") == 10);
  CHECK(syslog_facility_code("kern") == 0);
  CHECK(syslog_facility_code("local0") == 16);
  CHECK(syslog_facility_code("local7") == 23);
  CHECK_FALSE(syslog_facility_code("LOCAL0").has_value());
  CHECK_FALSE(syslog_facility_code("local8").has_value());
  CHECK(syslog_severity("success") == 6);
  CHECK(syslog_severity("failure") == 5);
  CHECK(syslog_severity("error") == 3);
  CHECK(syslog_pri(10, 6) == 86);
  CHECK(syslog_pri(23, 3) == 187);
  CHECK(syslog_facility_names().size() == 24);
}

TEST_CASE("MSGID is the action cut to 32 printable ASCII characters") {
  CHECK(syslog_msgid("user.login") == "user.login");
  CHECK(syslog_msgid(std::string(40, 'a')) == std::string(32, 'a'));
  CHECK(syslog_msgid("a b\tc\xc3\xa9") == "abc");
  CHECK(syslog_msgid("") == "-");
}

TEST_CASE("SD-PARAM values escape quote, backslash and closing bracket") {
  CHECK(syslog_escape_param("plain") == "plain");
  CHECK(syslog_escape_param(R"(a"b\c]d)") == R"(a\"b\\c\]d)");
  CHECK(syslog_escape_param("[x=") == "[x=");
}

TEST_CASE("timestamps are normalised to what RFC 5424 allows") {
  CHECK(syslog_timestamp("2026-11-26T19:25:30.123456Z") == "2026-11-26T19:25:30.123456Z");
  CHECK(syslog_timestamp("2026-11-26t19:25:30.123456789z") == "2026-11-26T19:25:30.123456Z");
  CHECK(syslog_timestamp("2026-11-26T19:25:30.1234567+02:00") == "2026-11-26T19:25:30.123456+02:00");
  CHECK(syslog_timestamp("2026-11-26T19:25:30-05:30") == "2026-11-26T19:25:30-05:30");
  CHECK(syslog_timestamp("2016-12-31T23:59:60Z") == "2016-12-31T23:59:59Z");
}

TEST_CASE("a message has every RFC 5424 field in order and the event JSON as MSG") {
  Event event;
  event.id = "0190f7a0-0000-7000-8000-000000000001";
  event.action = "user.password_reset";
  event.outcome = "failure";
  event.occurred_at = "2026-11-26T19:25:30.123456Z";
  event.json = R"({"action":"user.password_reset"})";
  SyslogOrigin origin{4, "host1", "auditfwd", "42"};
  CHECK(format_syslog_message(origin, event) ==
        "<37>1 2026-11-26T19:25:30.123456Z host1 auditfwd 42 user.password_reset "
        "[auditfwd@32473 id=\"0190f7a0-0000-7000-8000-000000000001\" outcome=\"failure\"] "
        R"({"action":"user.password_reset"})");
}

TEST_CASE("octet counting prefixes the byte length and a space") {
  std::string frames;
  append_octet_counted(frames, "<86>1 - - - - - - hi");
  append_octet_counted(frames, "\xc3\xa9");
  CHECK(frames == "20 <86>1 - - - - - - hi2 \xc3\xa9");
  CHECK(syslog_header_field(std::string(300, 'h'), 255).size() == 255);
}
