// The composition root: builds every subsystem from a Config, wires them, runs until SIGTERM.
#pragma once

#include "app/reload.hpp"
#include "app/reload_counters.hpp"
#include "app/shutdown.hpp"
#include "app/signals.hpp"
#include "app/watchdog.hpp"
#include "config/config.hpp"
#include "dispatch/dispatcher.hpp"
#include "forwarders/forwarder_slot.hpp"
#include "ingest/unix_server.hpp"
#include "net/net_services.hpp"
#include "store/job_store.hpp"
#include "workers/worker_pool.hpp"

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace auditfwd {

class AdminServer;

// The environment cannot host the daemon (the store cannot be opened): exit 1.
struct StartupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The daemon: every subsystem, declared in the order they depend on each
// other, so that they are built in that order and destroyed in the reverse
// one (the io_context last: no coroutine frame outlives what it refers to).
class Daemon {
 public:
  // Builds everything; nothing runs yet. Throws ConfigError for a refused
  // configuration (a forwarder's keys, the dispatch rule), StartupError when
  // the store cannot be opened. `config_path` is re-read on SIGHUP (empty:
  // the embedded default, nothing to re-read).
  Daemon(const Config& config, std::string config_path);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Config reloads so far (SIGHUP): for the admin endpoint's metrics.
  const ReloadCounters& reload_counters() const noexcept { return reload_counters_; }

  // Listens, tells systemd READY=1 (then STATUS= and, under WatchdogSec=,
  // WATCHDOG=1: app/watchdog.hpp) and runs the I/O threads until a graceful
  // stop (SIGTERM/SIGINT). Returns the exit code: 0 after the stop, 1 when the
  // socket cannot be bound.
  int run();

 private:
  // An io_context whose suspended coroutines can be destroyed before the
  // objects they refer to: shutdown() destroys every handler still queued
  // (and with them the coroutine frames waiting on them), which ~io_context
  // would otherwise do only after the server, dispatcher and forwarders are gone.
  class IoContext : public boost::asio::io_context {
   public:
    using boost::asio::execution_context::shutdown;
    using boost::asio::io_context::io_context;
  };

  // After the I/O threads returned: the store releases jobs still executing,
  // forwarders release their processes and connections, and the coroutines
  // abandoned at the end of the grace go while what they use is alive.
  void finish();

  const Config config_;
  const std::string config_path_;
  std::shared_ptr<spdlog::logger> log_;
  IoContext io_;
  boost::asio::thread_pool blocking_{2};  // file and stdout writes, so a slow disk never holds an I/O thread
  NetServices net_;
  std::unique_ptr<JobStore> store_;                    // null when the store is disabled
  std::shared_ptr<SetReleased> initial_set_released_;  // set with the dispatcher's first forwarder set
  Dispatcher dispatcher_;
  UnixServer server_;
  std::unique_ptr<WorkerPool> pool_;    // null when the store is disabled
  std::unique_ptr<AdminServer> admin_;  // null without [admin] listen; reads the store
  ReloadCounters reload_counters_;
  Reloader reloader_;
  Watchdog watchdog_;
  GracefulStop stop_;
  SignalHandler signals_;
};

// Runs the daemon in the foreground and returns the process exit code:
// 0 after a graceful stop (SIGTERM/SIGINT), 78 for a refused configuration
// (thrown as ConfigError), 1 when the environment is broken (socket or
// database cannot be opened).
int run_daemon(const Config& config, const std::string& config_path);

// Builds every forwarder to validate its type-specific keys (no side effects):
// the first problem of each forwarder, placed in the file (none: all valid).
std::vector<ConfigProblem> forwarder_problems(const Config& config);
// The same, thrown as one ConfigError.
void validate_forwarders(const Config& config);

}  // namespace auditfwd
