// A token bucket: `rate` tokens a second, holding at most `burst`; the clock is the caller's.
#pragma once

#include <chrono>
#include <cstdint>

namespace auditfwd {

// Starts full. Each take() spends one token when one is there; tokens come back
// at `rate` per second up to `burst`. Kept as the time the bucket will be full
// again (GCRA, the "virtual scheduling" form of a token bucket): integer
// arithmetic, so no rounding drifts over millions of events. Time is passed in
// (a monotonic clock's time points), so the bucket is pure and testable; a time
// earlier than the latest one seen counts as that latest time. Not thread-safe.
class TokenBucket {
 public:
  using clock = std::chrono::steady_clock;

  // rate > 0 tokens per second (at most one token a nanosecond); burst >= 1 tokens.
  TokenBucket(double rate, std::int64_t burst, clock::time_point now);

  // Spends a token: true, or false when less than one is left (nothing is spent).
  bool take(clock::time_point now);
  // How long until take() would succeed (zero when it would now).
  clock::duration wait_for_token(clock::time_point now);
  // True when the bucket has refilled: forgetting it changes nothing.
  bool full(clock::time_point now);

 private:
  clock::time_point advance(clock::time_point now);

  clock::duration interval_;   // one token's worth of time: 1 / rate
  clock::duration tolerance_;  // (burst - 1) tokens' worth
  clock::time_point full_at_;  // empty tokens are owed until then; full from then on
  clock::time_point latest_;
};

}  // namespace auditfwd
