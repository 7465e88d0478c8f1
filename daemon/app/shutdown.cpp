// SIGTERM's sequence: STOPPING=1, server stop, worker drain, io_context stop.
#include "app/shutdown.hpp"

#include <systemd/sd-daemon.h>
#include <boost/asio/co_spawn.hpp>

namespace auditfwd {
namespace asio = boost::asio;

GracefulStop::GracefulStop(asio::io_context& io, UnixServer& server, WorkerPool* pool, Reloader& reloader,
                           Watchdog& watchdog, std::chrono::milliseconds grace, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      server_(server),
      pool_(pool),
      reloader_(reloader),
      watchdog_(watchdog),
      grace_(grace),
      log_(std::move(log)) {}

void GracefulStop::begin() {
  if (begun_.exchange(true)) return;
  asio::co_spawn(io_, sequence(), [log = log_](std::exception_ptr error) {
    if (error) log->critical("shutdown sequence failed");
  });
}

asio::awaitable<void> GracefulStop::sequence() {
  sd_notify(0, "STOPPING=1");
  log_->info("stopping: no new connections; answering what was read, then draining deliveries in flight");
  co_await watchdog_.stop(std::chrono::steady_clock::now() + grace_);
  co_await reloader_.stop(std::chrono::steady_clock::now() + grace_);
  co_await server_.stop(grace_);
  if (pool_) co_await pool_->drain(grace_);
  abandoned_work_ = server_.active_sessions() > 0 || (pool_ && pool_->running() > 0);
  io_.stop();
}

}  // namespace auditfwd
