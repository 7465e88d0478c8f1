// Unit tests for the three backoff curves.
#include "store/backoff.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;
using namespace std::chrono_literals;

TEST_CASE("sigra: attempt^4 + 15 + rand(1..10)*attempt seconds") {
  std::mt19937_64 rng(7);
  RetryPolicy policy;
  for (int attempt = 1; attempt <= 20; ++attempt) {
    const auto delay = backoff_delay(policy, attempt, rng);
    const long long a = attempt;
    CHECK(delay >= std::chrono::seconds(a * a * a * a + 15 + a));
    CHECK(delay <= std::chrono::seconds(a * a * a * a + 15 + 10 * a));
  }
  policy.backoff_max = 60s;
  CHECK(backoff_delay(policy, 10, rng) == 60s);
}

TEST_CASE("exponential doubles from backoff_min with jitter, capped") {
  std::mt19937_64 rng(7);
  RetryPolicy policy;
  policy.backoff = BackoffKind::exponential;
  policy.backoff_min = 1s;
  policy.backoff_max = 30s;
  CHECK(backoff_delay(policy, 1, rng) >= 800ms);
  CHECK(backoff_delay(policy, 1, rng) <= 1200ms);
  CHECK(backoff_delay(policy, 4, rng) >= 6400ms);
  CHECK(backoff_delay(policy, 4, rng) <= 9600ms);
  CHECK(backoff_delay(policy, 30, rng) == 30s);
}

TEST_CASE("fixed is always backoff_min") {
  std::mt19937_64 rng(7);
  RetryPolicy policy;
  policy.backoff = BackoffKind::fixed;
  policy.backoff_min = 250ms;
  CHECK(backoff_delay(policy, 1, rng) == 250ms);
  CHECK(backoff_delay(policy, 19, rng) == 250ms);
}
