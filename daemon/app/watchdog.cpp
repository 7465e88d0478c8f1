// The watchdog's turns: rate, backlog, store progress → sd_notify(STATUS=…, WATCHDOG=1).
#include "app/watchdog.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <algorithm>
#include <boost/asio/post.hpp>

namespace auditfwd {
namespace asio = boost::asio;
using std::chrono::milliseconds;

WatchdogTiming WatchdogTiming::from_usec(std::optional<std::uint64_t> watchdog_usec) {
  WatchdogTiming timing;
  if (!watchdog_usec || *watchdog_usec == 0) return timing;
  const milliseconds half{static_cast<std::int64_t>(*watchdog_usec / 2000)};
  timing.enabled = true;
  timing.interval = std::max(half, milliseconds{1});
  timing.stall_limit = std::max(half, milliseconds{2000});
  return timing;
}

WatchdogTiming WatchdogTiming::from_environment() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return from_usec(std::nullopt);
  return from_usec(usec);
}

std::string status_line(double events_per_second, std::optional<std::uint64_t> backlog,
                        std::optional<milliseconds> store_stuck_for) {
  std::string line = fmt::format("STATUS={:.1f} events/s, ", events_per_second);
  line += backlog ? fmt::format("backlog {} jobs", *backlog) : std::string("backlog: store disabled");
  if (store_stuck_for)
    line += fmt::format(", store stuck for {:.1f} s", static_cast<double>(store_stuck_for->count()) / 1000);
  return line;
}

Watchdog::Watchdog(asio::io_context& io, WatchdogTiming timing, Sources sources)
    : timing_(timing),
      sources_(std::move(sources)),
      log_(spdlog::default_logger()->clone("watchdog")),
      strand_(asio::make_strand(io)),
      stopping_(strand_),
      task_(io.get_executor()) {}

void Watchdog::start() {
  if (timing_.enabled)
    log_->info("systemd watchdog: WATCHDOG=1 every {} ms while the store shows progress within {} ms",
               timing_.interval.count(), timing_.stall_limit.count());
  task_.spawn(strand_, turns(), [log = log_](std::exception_ptr error) {
    if (error) log->critical("the watchdog's turns ended by an exception (a bug): no more WATCHDOG=1");
  });
}

asio::awaitable<void> Watchdog::stop(std::chrono::steady_clock::time_point deadline) {
  asio::post(strand_, [this] { stopping_.close(); });
  co_await task_.wait_until(deadline);
}

asio::awaitable<void> Watchdog::turns() {
  using clock = std::chrono::steady_clock;
  auto last_at = clock::now();
  auto last_accepted = sources_.events_accepted();
  bool was_stuck = false;
  // True at each deadline; false once stop() closed the signal.
  while (co_await stopping_.wait_until(clock::now() + timing_.interval)) {
    const auto now = clock::now();
    const auto accepted = sources_.events_accepted();
    const double seconds = std::chrono::duration<double>(now - last_at).count();
    const double rate = seconds > 0 ? static_cast<double>(accepted - last_accepted) / seconds : 0.0;
    last_at = now;
    last_accepted = accepted;

    const auto stalled = sources_.store_stalled();
    const bool stuck = stalled && *stalled >= timing_.stall_limit;
    if (stuck && !was_stuck)
      log_->error(
          "the job store has made no progress for {} ms (a commit or an fdatasync hangs){}", stalled->count(),
          timing_.enabled ? ": no WATCHDOG=1 until it does; systemd restarts the service after WatchdogSec" : "");
    else if (!stuck && was_stuck)
      log_->info("the job store makes progress again");
    was_stuck = stuck;

    const auto status = status_line(rate, sources_.backlog(), stuck ? stalled : std::nullopt);
    const std::string message = timing_.enabled && !stuck ? "WATCHDOG=1\n" + status : status;
    sd_notify(0, message.c_str());
  }
}

}  // namespace auditfwd
