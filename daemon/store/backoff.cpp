// Backoff curves, kept apart from the store so workers and tests can use them directly.
#include "store/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace auditfwd {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937_64& rng) {
  using namespace std::chrono;
  attempt = std::max(attempt, 1);
  switch (policy.backoff) {
    case BackoffKind::fixed: return policy.backoff_min;
    case BackoffKind::exponential: {
      const double base = static_cast<double>(policy.backoff_min.count()) * std::pow(2.0, std::min(attempt - 1, 60));
      const double cap = static_cast<double>(policy.backoff_max.value_or(hours{1}).count());
      std::uniform_real_distribution<double> jitter(0.8, 1.2);
      return milliseconds{static_cast<std::int64_t>(std::min(base * jitter(rng), cap))};
    }
    case BackoffKind::sigra: {
      std::uniform_int_distribution<int> spread(1, 10);
      const auto a = static_cast<std::int64_t>(attempt);
      const milliseconds delay = seconds{a * a * a * a + 15 + spread(rng) * a};
      return policy.backoff_max ? std::min(delay, *policy.backoff_max) : delay;
    }
  }
  return policy.backoff_min;
}

}  // namespace auditfwd
