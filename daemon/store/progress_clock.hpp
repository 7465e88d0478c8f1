// The clock of the store's signs of life (the systemd watchdog asks how long ago the last one was).
#pragma once

#include <chrono>
#include <cstdint>

namespace auditfwd {

// Milliseconds of the monotonic clock, never 0 on a running system: "how long
// since", which a change of the wall clock must not distort.
inline std::int64_t steady_millis_now() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace auditfwd
