// GCRA: a token is there when the bucket's full-again time is at most `burst - 1` intervals ahead.
#include "ingest/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace auditfwd {

TokenBucket::TokenBucket(double rate, std::int64_t burst, clock::time_point now)
    : interval_(std::max<clock::duration>(
          clock::duration{1}, std::chrono::round<clock::duration>(std::chrono::duration<double>(1.0 / rate)))),
      tolerance_(interval_ * (std::max<std::int64_t>(burst, 1) - 1)),
      full_at_(now),
      latest_(now) {}

TokenBucket::clock::time_point TokenBucket::advance(clock::time_point now) {
  latest_ = std::max(latest_, now);
  full_at_ = std::max(full_at_, latest_);
  return latest_;
}

bool TokenBucket::take(clock::time_point now) {
  now = advance(now);
  if (full_at_ - now > tolerance_) return false;
  full_at_ += interval_;
  return true;
}

TokenBucket::clock::duration TokenBucket::wait_for_token(clock::time_point now) {
  now = advance(now);
  return std::max(clock::duration::zero(), full_at_ - now - tolerance_);
}

bool TokenBucket::full(clock::time_point now) { return full_at_ <= advance(now); }

}  // namespace auditfwd
