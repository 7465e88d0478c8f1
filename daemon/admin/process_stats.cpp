// /proc/self/stat fields 14, 15 (utime, stime) and 22 (starttime) in clock ticks; statm in pages.
#include "admin/process_stats.hpp"

#include <unistd.h>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace auditfwd {

ProcessStats read_process_stats() {
  ProcessStats stats;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (std::ifstream statm("/proc/self/statm"); statm) {
    std::uint64_t size = 0, resident = 0;
    if (statm >> size >> resident) stats.resident_memory_bytes = resident * static_cast<std::uint64_t>(::getpagesize());
  }
  if (std::ifstream stat_file("/proc/self/stat"); stat_file) {
    std::string line;
    std::getline(stat_file, line);
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const auto close = line.rfind(')');
    if (close != std::string::npos && ticks > 0) {
      std::istringstream fields(line.substr(close + 2));
      std::string field;
      double utime = 0, stime = 0, starttime = 0;
      for (int index = 3; fields >> field; ++index) {
        if (index == 14) utime = std::stod(field);
        if (index == 15) stime = std::stod(field);
        if (index == 22) {
          starttime = std::stod(field);
          break;
        }
      }
      stats.cpu_seconds = (utime + stime) / ticks;
      double uptime = 0;
      if (std::ifstream uptime_file("/proc/uptime"); uptime_file >> uptime) {
        const double boot = static_cast<double>(::time(nullptr)) - uptime;
        stats.start_time_seconds = boot + starttime / ticks;
      }
    }
  }
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end; it.increment(error))
    ++stats.open_fds;
  if (stats.open_fds > 0) --stats.open_fds;  // the iterator's own descriptor
  return stats;
}

}  // namespace auditfwd
