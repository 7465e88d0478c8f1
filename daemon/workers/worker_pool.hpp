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
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace auditfwd {

// Each forwarder gets its own lane (a strand, its workers, its wake-up
// timers), so a failing or hanging forwarder delays no other forwarder.
// A reload adds, replaces and removes lanes while the others keep working.
class WorkerPool {
 public:
  WorkerPool(boost::asio::io_context& io, const std::vector<std::shared_ptr<ForwarderSlot>>& slots, JobStore& store,
             WorkersConfig config);
  ~WorkerPool();

  // Spawns the workers of every forwarder that can receive jobs (dispatch auto or async).
  void start();

  // After start(), one at a time (a reload). A slot whose dispatch is sync
  // gets no lane; each call copes with the forwarder's lane existing or not.
  //
  // A forwarder new to the pool: a lane, its workers, its hand-off.
  boost::asio::awaitable<void> add(std::shared_ptr<ForwarderSlot> slot);
  // The same forwarder id with a new config: its workers finish the
  // deliveries in flight and record them, then new workers start with the new
  // slot, taking over the hand-off with the jobs in it (none lost, none twice).
  boost::asio::awaitable<void> replace(std::shared_ptr<ForwarderSlot> slot);
  // A forwarder gone from the config: its workers finish the deliveries in
  // flight and record them; the store stops handing it jobs, and the jobs
  // handed over but not taken go back to the table, undelivered. Every job of
  // the forwarder then waits in the store. Returns how many went back.
  boost::asio::awaitable<std::size_t> remove(std::string forwarder_id);

  // Thread-safe: new jobs were committed for these forwarders; wake idle workers.
  void notify(const std::vector<std::string>& forwarder_ids);

  // Stops claiming and waits up to `grace` for deliveries in flight to finish
  // and be recorded. Jobs still executing afterwards are released by the store at stop.
  boost::asio::awaitable<void> drain(std::chrono::milliseconds grace);

  // Workers still running (delivering or about to record an outcome).
  int running() const;

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
  std::shared_ptr<Lane> make_lane(std::shared_ptr<ForwarderSlot> slot, std::shared_ptr<JobHandoff> handoff);
  void start_lane(Lane& lane);
  // Takes the forwarder's lane out of service: its workers end after the
  // delivery in flight (within its timeout and the shutdown grace). Null when
  // it has none. The lane is kept (retired_) if a worker is still running.
  boost::asio::awaitable<std::shared_ptr<Lane>> retire(const std::string& forwarder_id);
  void spawn_worker(Lane& lane);
  boost::asio::awaitable<void> work(Lane& lane);
  boost::asio::awaitable<void> idle(Lane& lane, std::chrono::milliseconds wait);
  boost::asio::awaitable<void> fill_batch(Lane& lane, std::vector<ClaimedJob>& jobs, std::size_t claim_size,
                                          const BatchLimits& limits);

  boost::asio::io_context& io_;
  JobStore& store_;
  WorkersConfig config_;
  mutable std::mutex lanes_mutex_;            // notify() runs on the store's writer thread
  std::list<std::shared_ptr<Lane>> lanes_;    // under lanes_mutex_
  std::list<std::shared_ptr<Lane>> retired_;  // under lanes_mutex_: workers outlived their retirement
  std::atomic<bool> stopping_{false};
  std::mt19937_64 rng_{std::random_device{}()};
  std::mutex rng_mutex_;
};

}  // namespace auditfwd
