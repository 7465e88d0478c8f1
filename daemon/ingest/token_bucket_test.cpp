// Unit tests for the token bucket: burst, steady refill, cap, and a clock that steps back.
#include "ingest/token_bucket.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;
using namespace std::chrono_literals;

namespace {
const auto t0 = TokenBucket::clock::time_point{} + 1000s;

int takes(TokenBucket& bucket, TokenBucket::clock::time_point now, int tries) {
  int taken = 0;
  for (int i = 0; i < tries; ++i) taken += bucket.take(now) ? 1 : 0;
  return taken;
}
}  // namespace

TEST_CASE("a fresh bucket gives its burst at once, then nothing until time passes") {
  TokenBucket bucket(10, 5, t0);
  CHECK(bucket.full(t0));
  CHECK(takes(bucket, t0, 100) == 5);
  CHECK_FALSE(bucket.full(t0));
  CHECK(bucket.wait_for_token(t0) == 100ms);
}

TEST_CASE("tokens come back at the rate, a fraction at a time") {
  TokenBucket bucket(10, 5, t0);
  takes(bucket, t0, 5);
  CHECK_FALSE(bucket.take(t0 + 50ms));  // half a token
  CHECK(bucket.wait_for_token(t0 + 50ms) == 50ms);
  CHECK(bucket.take(t0 + 100ms));
  CHECK_FALSE(bucket.take(t0 + 100ms));
  CHECK(takes(bucket, t0 + 400ms, 100) == 3);  // 300 ms: three more
  CHECK(bucket.wait_for_token(t0 + 400ms) == 100ms);
}

TEST_CASE("the bucket never holds more than its burst, however long it rests") {
  TokenBucket bucket(10, 5, t0);
  takes(bucket, t0, 5);
  CHECK(bucket.full(t0 + 500ms));
  CHECK(takes(bucket, t0 + 1h, 100) == 5);
}

TEST_CASE("a rate below one a second and a burst of one") {
  TokenBucket bucket(0.5, 1, t0);
  CHECK(bucket.take(t0));
  CHECK_FALSE(bucket.take(t0 + 1s));
  CHECK(bucket.wait_for_token(t0 + 1s) == 1s);
  CHECK(bucket.take(t0 + 2s));
}

TEST_CASE("a time before the last one seen counts as no time passing") {
  TokenBucket bucket(10, 1, t0 + 10s);
  CHECK(bucket.take(t0 + 10s));
  CHECK_FALSE(bucket.take(t0));
  CHECK_FALSE(bucket.take(t0 + 10s + 50ms));
  CHECK(bucket.take(t0 + 10s + 100ms));
}

TEST_CASE("a long steady stream at the rate is never refused, and no faster one is let through") {
  TokenBucket bucket(3, 1, t0);  // an interval that is not a whole number of nanoseconds
  int taken = 0;
  for (int i = 0; i < 300'000; ++i) taken += bucket.take(t0 + i * 1'000'000'000ns / 3 + 1ns) ? 1 : 0;
  CHECK(taken == 300'000);
  TokenBucket fast(1000, 10, t0);
  taken = 0;
  for (int i = 0; i < 100'000; ++i) taken += fast.take(t0 + i * 100us) ? 1 : 0;  // 10,000 a second offered
  CHECK(taken >= 10 + 10'000 - 1);
  CHECK(taken <= 10 + 10'000);
}
