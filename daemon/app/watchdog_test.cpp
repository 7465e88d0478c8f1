// Unit tests for the watchdog's timing from WATCHDOG_USEC and its STATUS= line.
#include "app/watchdog.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;
using std::chrono::milliseconds;

TEST_CASE("watchdog timing: half of WATCHDOG_USEC between pings; the store is stuck after the same, at least 2 s") {
  const auto off = WatchdogTiming::from_usec(std::nullopt);
  CHECK_FALSE(off.enabled);
  CHECK(off.interval == milliseconds(5000));  // STATUS= only
  CHECK_FALSE(WatchdogTiming::from_usec(0).enabled);

  const auto thirty = WatchdogTiming::from_usec(30'000'000);
  CHECK(thirty.enabled);
  CHECK(thirty.interval == milliseconds(15'000));
  CHECK(thirty.stall_limit == milliseconds(15'000));

  const auto one = WatchdogTiming::from_usec(1'000'000);
  CHECK(one.interval == milliseconds(500));
  CHECK(one.stall_limit == milliseconds(2000));  // the idle writer turns once a second
}

TEST_CASE("status line: rate and backlog, and why the pings stopped") {
  CHECK(status_line(12.345, 42, std::nullopt) == "STATUS=12.3 events/s, backlog 42 jobs");
  CHECK(status_line(0, std::nullopt, std::nullopt) == "STATUS=0.0 events/s, backlog: store disabled");
  CHECK(status_line(0, 7, milliseconds(3100)) == "STATUS=0.0 events/s, backlog 7 jobs, store stuck for 3.1 s");
}
