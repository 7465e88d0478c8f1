// Retry delays: Sigra's default curve, exponential with jitter, or fixed.
#pragma once

#include "config/config.hpp"

#include <chrono>
#include <random>

namespace auditfwd {

// The delay before retry number `attempt + 1`, after `attempt` failed attempts (attempt ≥ 1).
//  sigra:       attempt^4 + 15 + rand(1..10)·attempt seconds (Sigra's worker); capped only by an explicit backoff_max
//  exponential: backoff_min·2^(attempt-1), ±20 % jitter, capped at backoff_max (default 1h)
//  fixed:       backoff_min
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937_64& rng);

}  // namespace auditfwd
