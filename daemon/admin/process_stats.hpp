// The process's own figures from /proc: what Prometheus clients export as process_*.
#pragma once

#include <cstdint>

namespace auditfwd {

struct ProcessStats {
  std::uint64_t resident_memory_bytes = 0;
  double cpu_seconds = 0;  // user + system
  std::uint64_t open_fds = 0;
  double start_time_seconds = 0;  // Unix time
};

// Reads /proc/self (stat, statm, fd); a figure that cannot be read stays 0.
ProcessStats read_process_stats();

}  // namespace auditfwd
