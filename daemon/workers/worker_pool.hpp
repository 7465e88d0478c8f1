// Drains the job store: per forwarder, `concurrency` workers claim due jobs, deliver them, record the outcome.
#pragma once

#include "concurrency/task_group.hpp"
#include "config/config.hpp"
#include "forwarders/forwarder_slot.hpp"
#include "store/job_store.hpp"

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <random>
#include <vector>

namespace auditfwd {

// Each forwarder gets its own lane (a strand, its workers, its wake-up
// timers), so a failing or hanging forwarder delays no other forwarder.
class WorkerPool {
 public:
  WorkerPool(boost::asio::io_context& io, std::vector<ForwarderSlot>& slots, JobStore& store, WorkersConfig config);
  ~WorkerPool();

  // Spawns the workers of every forwarder that can receive jobs (dispatch auto or async).
  void start();

  // Thread-safe: new jobs were committed for these forwarders; wake idle workers.
  void notify(const std::vector<std::string>& forwarder_ids);

  // Stops claiming and waits up to `grace` for deliveries in flight to finish
  // and be recorded. Jobs still executing afterwards are released by the store at stop.
  boost::asio::awaitable<void> drain(std::chrono::milliseconds grace);

  // Workers still running (delivering or about to record an outcome).
  int running() const noexcept { return static_cast<int>(workers_.size()); }

  // The end of each delivered job's attempt, in Oban's lifecycle, one per job
  // in order: ok → completed; permanent → cancelled; retry → discarded if it
  // was the job's last attempt, else retryable at now + the destination's
  // Retry-After (at least 1 s: "Retry-After: 0" must not burn every attempt at
  // once) or else the policy's backoff (at least 100 ms). Errors carry the
  // outcome's reason. Pure but for the clock and `rng`.
  static std::vector<JobFinish> classify(const RetryPolicy& policy, const std::vector<ClaimedJob>& jobs,
                                         const BatchOutcome& outcomes, std::mt19937_64& rng);

 private:
  struct Lane;
  void spawn_worker(Lane& lane);
  boost::asio::awaitable<void> work(Lane& lane);
  boost::asio::awaitable<void> idle(Lane& lane, std::chrono::milliseconds wait);
  boost::asio::awaitable<void> fill_batch(Lane& lane, std::vector<ClaimedJob>& jobs, std::size_t claim_size,
                                          const BatchLimits& limits);

  boost::asio::io_context& io_;
  std::vector<ForwarderSlot>& slots_;
  JobStore& store_;
  WorkersConfig config_;
  std::list<Lane> lanes_;
  std::atomic<bool> stopping_{false};
  TaskGroup workers_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::mutex rng_mutex_;
};

}  // namespace auditfwd
