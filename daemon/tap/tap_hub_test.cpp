// Unit tests for the tap hub: filters, and a full buffer that drops and counts instead of waiting.
#include "tap/tap_hub.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("a tap gets the events its filters match") {
  Counter dropped;
  TapHub hub(dropped);
  CHECK_FALSE(hub.active());
  auto logins = hub.subscribe({ActionPattern::parse("user.*"), ""}, 1024);
  auto siem = hub.subscribe({std::nullopt, "siem"}, 1024);
  CHECK(hub.active());
  hub.publish("user.login", {"file"}, "A");
  hub.publish("sudo.exec", {"siem", "file"}, "B");
  CHECK(logins->take().lines == std::vector<std::string>{"A"});
  CHECK(siem->take().lines == std::vector<std::string>{"B"});
  hub.unsubscribe(logins);
  hub.unsubscribe(siem);
  CHECK_FALSE(hub.active());
}

TEST_CASE("a full tap drops and counts, and never blocks the publisher") {
  Counter dropped;
  TapHub hub(dropped);
  auto slow = hub.subscribe({}, 10);
  for (int i = 0; i < 5; ++i) hub.publish("a.b", {}, "12345");  // two fit in 10 bytes
  auto taken = slow->take();
  CHECK(taken.lines.size() == 2);
  CHECK(taken.dropped == 3);
  CHECK(dropped.value() == 3);
  hub.publish("a.b", {}, "12345");  // room again after the take
  taken = slow->take();
  CHECK(taken.lines.size() == 1);
  CHECK(taken.dropped == 3);  // the count is in all, not since the last take
}
