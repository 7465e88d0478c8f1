// The graceful stop: no new connections, answer what was read, drain deliveries in flight, then end the I/O loop.
#pragma once

#include "app/reload.hpp"
#include "app/watchdog.hpp"
#include "ingest/unix_server.hpp"
#include "workers/worker_pool.hpp"

#include <spdlog/logger.h>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

namespace auditfwd {

// Runs the stop sequence once, on the io_context: tells systemd STOPPING=1,
// ends the watchdog's turns (no WATCHDOG=1 while stopping: systemd's
// TimeoutStopSec= bounds the stop), lets a reload in progress end (within `grace`), stops the server (sessions answer
// the lines they read, within `grace`), drains the worker pool (deliveries in flight are recorded, within `grace`),
// then stops the io_context so that Daemon::run returns.
class GracefulStop {
 public:
  // `pool` is null when the store is disabled. All must outlive the sequence.
  GracefulStop(boost::asio::io_context& io, UnixServer& server, WorkerPool* pool, Reloader& reloader,
               Watchdog& watchdog, std::chrono::milliseconds grace, std::shared_ptr<spdlog::logger> log);

  // Starts the sequence; a second call does nothing.
  void begin();

  // After the io_context stopped: true when sessions or workers were still
  // suspended when the grace ran out (their coroutine frames still refer to
  // the server, dispatcher, forwarders and store).
  bool abandoned_work() const noexcept { return abandoned_work_.load(); }

 private:
  boost::asio::awaitable<void> sequence();

  boost::asio::io_context& io_;
  UnixServer& server_;
  WorkerPool* pool_;
  Reloader& reloader_;
  Watchdog& watchdog_;
  std::chrono::milliseconds grace_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> begun_{false};
  std::atomic<bool> abandoned_work_{false};
};

}  // namespace auditfwd
