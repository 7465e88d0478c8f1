// Spacing of reconnect (or restart) attempts so a dead destination is not hammered.
#pragma once

#include <algorithm>
#include <chrono>

namespace auditfwd {

// After each consecutive failure the next attempt waits twice as long,
// 100ms → 200ms → … → 30s; a success resets it. Not thread-safe: its owner
// keeps it under the lock that serializes attempts.
class ReconnectBackoff {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds first{100};
  static constexpr std::chrono::milliseconds cap{30'000};

  // Time left before the next attempt may start (zero: go ahead).
  std::chrono::milliseconds remaining(clock::time_point now = clock::now()) const {
    if (now >= next_attempt_) return std::chrono::milliseconds{0};
    return std::chrono::ceil<std::chrono::milliseconds>(next_attempt_ - now);
  }

  // Records a failed attempt; returns the wait before the next one.
  std::chrono::milliseconds failed(clock::time_point now = clock::now()) {
    delay_ = delay_.count() == 0 ? first : std::min(delay_ * 2, cap);
    next_attempt_ = now + delay_;
    return delay_;
  }

  void succeeded() {
    delay_ = std::chrono::milliseconds{0};
    next_attempt_ = {};
  }

 private:
  std::chrono::milliseconds delay_{0};
  clock::time_point next_attempt_{};
};

}  // namespace auditfwd
