// Unit tests for durations, sizes, UUIDs and timestamps.
#include "common/units.hpp"
#include "common/time_format.hpp"
#include "common/uuid.hpp"

#include <doctest/doctest.h>
#include <set>

using namespace auditfwd;
using namespace std::chrono_literals;

TEST_CASE("durations") {
  CHECK(parse_duration("10s") == 10s);
  CHECK(parse_duration("5m") == 5min);
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("2h") == 2h);
  CHECK(parse_duration("7d") == 168h);
  CHECK(parse_duration("1.5") == 1500ms);
  CHECK_FALSE(parse_duration("soon"));
  CHECK_FALSE(parse_duration("5 parsecs"));
  CHECK_FALSE(parse_duration("-1s"));
}

TEST_CASE("byte sizes") {
  CHECK(parse_byte_size("512") == 512u);
  CHECK(parse_byte_size("64KiB") == 65536u);
  CHECK(parse_byte_size("10MiB") == 10u * 1024 * 1024);
  CHECK(parse_byte_size("1GB") == 1'000'000'000u);
  CHECK_FALSE(parse_byte_size("lots"));
}

TEST_CASE("UUIDv7 ids are unique, well-formed and time-ordered") {
  std::set<std::string> ids;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_uuid_v7();
    CHECK(is_uuid(id));
    CHECK(id[14] == '7');
    CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
    CHECK(id.substr(0, 13) >= previous.substr(0, std::min<std::size_t>(13, previous.size())));
    previous = id;
    ids.insert(id);
  }
  CHECK(ids.size() == 1000);
  CHECK_FALSE(is_uuid("0190b2a4-7c1e-7cc2-8e1d-1234567890a"));
  CHECK_FALSE(is_uuid("0190b2a4x7c1e-7cc2-8e1d-1234567890ab"));
}

TEST_CASE("RFC 3339") {
  CHECK(is_rfc3339("2026-11-26T19:25:30Z"));
  CHECK(is_rfc3339("2026-11-26t19:25:30.123456789-05:30"));
  CHECK(is_rfc3339("2024-02-29T00:00:00Z"));
  CHECK_FALSE(is_rfc3339("2023-02-29T00:00:00Z"));
  CHECK_FALSE(is_rfc3339("2026-11-26T24:00:00Z"));
  CHECK_FALSE(is_rfc3339("2026-11-26T19:25:30"));
  CHECK_FALSE(is_rfc3339("2026-11-26T19:25:30.Z"));
  CHECK(is_rfc3339(format_rfc3339(now_micros())));
}

TEST_CASE("RFC 3339 as DESIGN.md narrows it: years, fraction digits, leap seconds") {
  CHECK(is_rfc3339("1970-01-01T00:00:00Z"));
  CHECK(is_rfc3339("9999-12-31T23:59:59.999999999Z"));
  CHECK_FALSE(is_rfc3339("0000-01-01T00:00:00Z"));
  CHECK_FALSE(is_rfc3339("1969-12-31T23:59:59Z"));
  CHECK(is_rfc3339("2026-11-26T19:25:30.123456789Z"));
  CHECK_FALSE(is_rfc3339("2026-11-26T19:25:30.1234567890Z"));
  CHECK_FALSE(is_rfc3339("2026-11-26T19:25:30." + std::string(1000, '1') + "Z"));
  // Leap seconds only at the end of a UTC day.
  CHECK(is_rfc3339("2016-12-31T23:59:60Z"));
  CHECK(is_rfc3339("2016-12-31T23:59:60.5z"));
  CHECK(is_rfc3339("2017-01-01T00:59:60+01:00"));
  CHECK(is_rfc3339("2016-12-31T18:59:60-05:00"));
  CHECK(is_rfc3339("2016-12-31T23:59:60-00:00"));
  CHECK_FALSE(is_rfc3339("2026-11-26T12:34:60Z"));
  CHECK_FALSE(is_rfc3339("2016-12-31T23:58:60Z"));
  CHECK_FALSE(is_rfc3339("2016-12-31T23:59:60+01:00"));
  CHECK_FALSE(is_rfc3339("2016-12-31T23:59:61Z"));
}
