// Unit tests for the rate-limited refusal counter: one report per second per reason, no count lost.
#include "ingest/refusal_log.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;
using namespace std::chrono_literals;

TEST_CASE("a flood of one reason makes one report at once and one per second after, with the count") {
  RateLimitedCounter counter(1s);
  const auto t0 = RateLimitedCounter::clock::time_point{} + 100s;
  auto first = counter.note("ingest.max_connections", "refused a", t0);
  REQUIRE(first.has_value());
  CHECK(first->count == 1);
  CHECK(first->message == "refused a");
  std::size_t reported_at_once = 0;
  for (int i = 0; i < 5000; ++i)
    if (counter.note("ingest.max_connections", "refused " + std::to_string(i), t0 + i * 100us)) ++reported_at_once;
  CHECK(reported_at_once == 0);
  CHECK(counter.due(t0 + 999ms).empty());
  auto due = counter.due(t0 + 1s);
  REQUIRE(due.size() == 1);
  CHECK(due[0].count == 5000);
  CHECK(due[0].message == "refused 4999");
  // The report at 1 s counts as that second's line: the next occurrence waits for the one after.
  CHECK_FALSE(counter.note("ingest.max_connections", "again", t0 + 1100ms).has_value());
  CHECK(counter.due(t0 + 1500ms).empty());
  due = counter.due(t0 + 2s);
  REQUIRE(due.size() == 1);
  CHECK(due[0].count == 1);
  // After a quiet second, an occurrence is reported at once again.
  CHECK(counter.due(t0 + 5s).empty());
  CHECK(counter.note("ingest.max_connections", "later", t0 + 5s).has_value());
}

TEST_CASE("reasons are limited separately") {
  RateLimitedCounter counter(1s);
  const auto t0 = RateLimitedCounter::clock::time_point{} + 100s;
  CHECK(counter.note("a", "x", t0).has_value());
  CHECK(counter.note("b", "y", t0).has_value());
  CHECK_FALSE(counter.note("a", "x", t0 + 1ms).has_value());
  auto due = counter.due(t0 + 1s);
  REQUIRE(due.size() == 1);
  CHECK(due[0].reason == "a");
}
