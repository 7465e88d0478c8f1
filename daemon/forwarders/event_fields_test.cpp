// The time and host destinations index events on.
#include "forwarders/event_fields.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("RFC 3339 to Unix nanoseconds, offsets applied, fractions padded") {
  CHECK(rfc3339_to_unix_nanos("1970-01-01T00:00:00Z") == 0);
  CHECK(rfc3339_to_unix_nanos("2026-11-29T21:05:30.123456Z") == 1795986330123456000);
  CHECK(rfc3339_to_unix_nanos("2026-11-29T22:05:30.5+01:00") == 1795986330500000000);
  CHECK(rfc3339_to_unix_nanos("2026-11-29T20:35:30.000000001-00:30") == 1795986330000000001);
  CHECK(rfc3339_to_unix_nanos("2016-12-31T23:59:60Z") == 1483228800000000000);  // the leap second: next minute
  CHECK_FALSE(rfc3339_to_unix_nanos("2026-11-29T21:05:30"));
  CHECK_FALSE(rfc3339_to_unix_nanos(""));
}

TEST_CASE("the stamped host name, empty when null") {
  Event event;
  event.json = R"({"id":"x","host":{"hostname":"web-1","machine_id":null,"boot_id":null}})";
  CHECK(event_hostname(event) == "web-1");
  event.json = R"({"id":"x","host":{"hostname":null}})";
  CHECK(event_hostname(event).empty());
  event.json = R"({"id":"x"})";
  CHECK(event_hostname(event).empty());
}
