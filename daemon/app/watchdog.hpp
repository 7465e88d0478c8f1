// systemd's watchdog and status line: WATCHDOG=1 only while the I/O threads and the store make progress; STATUS=.
#pragma once

#include "concurrency/task_group.hpp"
#include "concurrency/wake_signal.hpp"

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace auditfwd {

// When to ping and what counts as stuck, from $WATCHDOG_USEC (sd_watchdog_enabled(3)).
struct WatchdogTiming {
  bool enabled = false;                      // WatchdogSec= set for this process
  std::chrono::milliseconds interval{5000};  // between two turns: half of WATCHDOG_USEC; 5 s for STATUS only
  // The store counts as stuck when it showed no progress for this long: half
  // of WATCHDOG_USEC, but at least 2 s (the writer turns once a second when idle).
  std::chrono::milliseconds stall_limit{2000};

  static WatchdogTiming from_usec(std::optional<std::uint64_t> watchdog_usec);
  // From this process's environment: $WATCHDOG_USEC (and $WATCHDOG_PID, when set, naming this process).
  static WatchdogTiming from_environment();
};

// "STATUS=12.5 events/s, backlog 42 jobs" (no store: "backlog: store disabled";
// stuck: ", store stuck for 3.1 s" appended).
std::string status_line(double events_per_second, std::optional<std::uint64_t> backlog,
                        std::optional<std::chrono::milliseconds> store_stuck_for);

// Each turn (on the io_context, so it runs only while the I/O threads run
// handlers) sends STATUS= with the rate of accepted events since the last turn
// and the store's backlog, and WATCHDOG=1 when the watchdog is enabled and the
// store's writer and syncers showed progress within stall_limit. A stuck
// writer thus stops the pings and systemd restarts the service after WatchdogSec.
class Watchdog {
 public:
  struct Sources {
    std::function<std::uint64_t()> events_accepted;
    std::function<std::optional<std::uint64_t>()> backlog;                    // nullopt: no store
    std::function<std::optional<std::chrono::milliseconds>()> store_stalled;  // nullopt: no store
  };

  Watchdog(boost::asio::io_context& io, WatchdogTiming timing, Sources sources);

  void start();
  // Ends the turns; waits for the one running, if any, until `deadline`.
  boost::asio::awaitable<void> stop(std::chrono::steady_clock::time_point deadline);

 private:
  boost::asio::awaitable<void> turns();

  WatchdogTiming timing_;
  Sources sources_;
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  WakeSignal stopping_;  // on strand_: closed by stop()
  TaskGroup task_;
};

}  // namespace auditfwd
