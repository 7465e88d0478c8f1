// SIGHUP: reopen output files, re-read the config file and apply what a running daemon can change.
#pragma once

#include "app/reload_counters.hpp"
#include "app/reload_plan.hpp"
#include "concurrency/task_group.hpp"
#include "concurrency/wake_signal.hpp"
#include "config/config.hpp"
#include "dispatch/dispatcher.hpp"
#include "forwarders/forwarder_slot.hpp"
#include "ingest/unix_server.hpp"
#include "net/net_services.hpp"
#include "workers/worker_pool.hpp"

#include <spdlog/logger.h>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace auditfwd {

// Completes once the set it watches is let go by every chunk that used it.
using SetReleased = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;

// A forwarder set that tells `released` when its last holder lets go.
std::shared_ptr<const ForwarderSet> watched_forwarder_set(boost::asio::io_context& io,
                                                          std::vector<std::shared_ptr<ForwarderSlot>> slots,
                                                          std::shared_ptr<SetReleased>& released);

// Builds the forwarder of `config`, with its own logger, on the daemon's executors.
std::shared_ptr<ForwarderSlot> build_slot(const ForwarderConfig& config, boost::asio::io_context& io,
                                          boost::asio::thread_pool& blocking, NetServices& net);

// Applies a valid new config file to the running daemon, one reload at a time:
//  - every output file is reopened first (logrotate), whatever the file says;
//  - an invalid file, a forwarder whose keys are refused, or a change of
//    ingest.socket, store.path or store.enabled refuses the whole reload: the
//    running config stays, the log says why (file:line:column: key: reason),
//    and the failure is counted;
//  - otherwise the [ingest] section (UnixServer::apply) and log.level apply at
//    once; added forwarders start; changed ones are replaced (their workers
//    finish the deliveries in flight, the new instance takes over their queued
//    jobs); removed ones finish their deliveries in flight and stop, their jobs
//    staying in the store (logged, purgeable with `jobs purge --forwarder`).
// A forwarder replaced or removed is stopped once no chunk and no worker uses
// it any more, and kept (stopped) until the daemon ends.
class Reloader {
 public:
  struct Parts {
    boost::asio::io_context& io;
    boost::asio::thread_pool& blocking;
    NetServices& net;
    Dispatcher& dispatcher;
    UnixServer& server;
    WorkerPool* pool;  // null when the store is disabled
    ReloadCounters& counters;
  };

  // `running`: the config the daemon started with; `initial_released`: the
  // watch on the set the dispatcher started with.
  Reloader(Parts parts, Config running, std::string config_path, std::shared_ptr<SetReleased> initial_released);

  // Starts waiting for requests.
  void start();
  // Thread-safe (the SIGHUP handler): reload once the one running, if any, is
  // done. Requests that come while one waits are served by that one.
  void request();
  // Ends the waiting; waits for a reload in progress until `deadline`.
  boost::asio::awaitable<void> stop(std::chrono::steady_clock::time_point deadline);

  // After the I/O threads returned: releases every forwarder's processes and
  // connections (those of the running config, and retired ones not stopped yet).
  void stop_forwarders();

  std::size_t forwarder_count() const { return current_slots_.size(); }

 private:
  boost::asio::awaitable<void> serve();
  boost::asio::awaitable<void> reload_once();
  // Counts and logs a refused reload: each line of `problems`, then the summary.
  void refuse(const std::string& reason, const std::vector<std::string>& problems = {});
  // Once no chunk uses the set `released` watches any more (or at `deadline`):
  // stops the `retired` forwarders, which no worker uses either.
  boost::asio::awaitable<void> retire(std::shared_ptr<SetReleased> released,
                                      std::vector<std::shared_ptr<ForwarderSlot>> retired,
                                      std::chrono::steady_clock::time_point deadline);
  // Logs how many jobs of a removed forwarder wait in the store.
  boost::asio::awaitable<void> report_left_jobs(const std::string& forwarder_id, std::size_t handed_back);

  Parts parts_;
  Config running_;
  const std::string config_path_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<std::shared_ptr<ForwarderSlot>> current_slots_;  // on strand_ (and after the I/O threads ended)
  std::shared_ptr<SetReleased> current_released_;
  std::vector<std::shared_ptr<ForwarderSlot>> stopped_;       // retired and stopped: kept until the end
  std::vector<std::shared_ptr<ForwarderSlot>> still_in_use_;  // retired, still used at the deadline: stopped at the end
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  WakeSignal requested_;  // on strand_
  TaskGroup tasks_;       // serve()
};

}  // namespace auditfwd
