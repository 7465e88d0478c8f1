// The worker loop: claim → deliver (bounded) → classify (Oban's lifecycle) → record.
#include "workers/worker_pool.hpp"

#include "common/time_format.hpp"
#include "concurrency/wake_signal.hpp"
#include "forwarders/timed_delivery.hpp"
#include "store/backoff.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>

namespace auditfwd {
namespace asio = boost::asio;

namespace {
// Floor for computed retry delays: a zero backoff_min must not spin a worker.
constexpr std::chrono::milliseconds minimum_backoff{100};
}  // namespace

struct WorkerPool::Lane {
  Lane(asio::io_context& io, std::shared_ptr<ForwarderSlot> s, std::size_t jobs_per_delivery,
       std::shared_ptr<JobHandoff> shared_handoff)
      : held_slot(std::move(s)),
        slot(*held_slot),
        claim_size(jobs_per_delivery),
        handoff(std::move(shared_handoff)),
        strand(asio::make_strand(io)),
        wake(strand, static_cast<std::size_t>(std::max(1, slot.config.concurrency))),
        workers(io.get_executor()) {}
  std::shared_ptr<ForwarderSlot> held_slot;
  ForwarderSlot& slot;
  std::size_t claim_size;  // jobs per delivery
  std::shared_ptr<JobHandoff> handoff;
  asio::strand<asio::io_context::executor_type> strand;
  WakeSignal wake;                    // new jobs, the drain or the retirement; on `strand` only
  std::atomic<bool> retiring{false};  // a reload took the lane out of service
  TaskGroup workers;
};

namespace {
bool delivers_jobs(const ForwarderSlot& slot) { return slot.config.dispatch != DispatchMode::sync; }
}  // namespace

std::shared_ptr<WorkerPool::Lane> WorkerPool::make_lane(std::shared_ptr<ForwarderSlot> slot,
                                                        std::shared_ptr<JobHandoff> handoff) {
  const auto claim_size = std::clamp<std::size_t>(slot->forwarder->batch_limits().max_events, 1,
                                                  static_cast<std::size_t>(config_.claim_batch));
  // Two deliveries' worth per worker: enough to keep them busy between
  // commits, little enough to bound memory.
  if (!handoff)
    handoff = std::make_shared<JobHandoff>(
        std::max<std::size_t>(64, 2 * claim_size * static_cast<std::size_t>(std::max(1, slot->config.concurrency))));
  return std::make_shared<Lane>(io_, std::move(slot), claim_size, std::move(handoff));
}

WorkerPool::WorkerPool(asio::io_context& io, const std::vector<std::shared_ptr<ForwarderSlot>>& slots, JobStore& store,
                       WorkersConfig config)
    : io_(io), store_(store), config_(config) {
  for (const auto& slot : slots) {
    if (!delivers_jobs(*slot)) continue;
    auto lane = make_lane(slot, nullptr);
    store_.add_handoff(slot->config.id, lane->handoff);
    lanes_.push_back(std::move(lane));
  }
}

WorkerPool::~WorkerPool() = default;

void WorkerPool::start() {
  std::lock_guard lock(lanes_mutex_);
  for (auto& lane : lanes_) start_lane(*lane);
}

void WorkerPool::start_lane(Lane& lane) {
  for (int i = 0; i < lane.slot.config.concurrency; ++i) spawn_worker(lane);
  lane.slot.log->debug("{} worker(s) started", lane.slot.config.concurrency);
}

int WorkerPool::running() const {
  std::lock_guard lock(lanes_mutex_);
  std::size_t running = 0;
  for (const auto* lanes : {&lanes_, &retired_})
    for (const auto& lane : *lanes) running += lane->workers.size();
  return static_cast<int>(running);
}

asio::awaitable<std::shared_ptr<WorkerPool::Lane>> WorkerPool::retire(const std::string& forwarder_id) {
  std::shared_ptr<Lane> lane;
  {
    std::lock_guard lock(lanes_mutex_);
    auto it = std::find_if(lanes_.begin(), lanes_.end(),
                           [&](const auto& candidate) { return candidate->slot.config.id == forwarder_id; });
    if (it == lanes_.end()) co_return nullptr;
    lane = *it;
    lanes_.erase(it);
    // Kept until the pool goes: a worker's last step (and its end) may still
    // run on another thread when the wait below returns.
    retired_.push_back(lane);
  }
  lane->retiring = true;
  asio::post(lane->strand, [lane] { lane->wake.close(); });  // idle workers see `retiring`
  const auto deadline = std::chrono::steady_clock::now() + lane->slot.config.timeout + config_.shutdown_grace;
  if (!co_await lane->workers.wait_until(deadline))
    lane->slot.log->warn("{} worker(s) still delivering past the forwarder's timeout; their jobs are released at stop",
                         lane->workers.size());
  co_return lane;
}

asio::awaitable<void> WorkerPool::add(std::shared_ptr<ForwarderSlot> slot) {
  if (!delivers_jobs(*slot)) co_return;
  auto lane = make_lane(std::move(slot), nullptr);
  co_await store_.async_set_handoff(lane->slot.config.id, lane->handoff, asio::use_awaitable);
  {
    std::lock_guard lock(lanes_mutex_);
    lanes_.push_back(lane);
  }
  start_lane(*lane);
}

asio::awaitable<void> WorkerPool::replace(std::shared_ptr<ForwarderSlot> slot) {
  const std::string id = slot->config.id;
  if (!delivers_jobs(*slot)) {  // now sync: no jobs of it are delivered any more
    co_await remove(id);
    co_return;
  }
  auto old = co_await retire(id);
  if (!old) {  // it was sync
    co_await add(std::move(slot));
    co_return;
  }
  // The store keeps handing new jobs to the same hand-off: nothing to tell it.
  auto lane = make_lane(std::move(slot), old->handoff);
  {
    std::lock_guard lock(lanes_mutex_);
    lanes_.push_back(lane);
  }
  start_lane(*lane);
}

asio::awaitable<std::size_t> WorkerPool::remove(std::string forwarder_id) {
  auto old = co_await retire(forwarder_id);
  if (!old) co_return 0;
  // Completes after the commit that pushed the last jobs into the hand-off.
  co_await store_.async_set_handoff(forwarder_id, nullptr, asio::use_awaitable);
  std::vector<ClaimedJob> left;
  old->handoff->take(left, SIZE_MAX, 0);
  if (left.empty()) co_return 0;
  // Not attempted: back in line with the attempt they were handed over for.
  std::vector<JobFinish> released;
  for (auto& job : left)
    released.push_back({job.id, JobState::retryable, job.attempt - 1, unix_millis_now(),
                        "not delivered: the forwarder was removed by a reload", job.batch_id, std::move(job.payload)});
  for (int attempt = 0;; ++attempt) {
    auto [error] = co_await store_.async_finish(released, asio::as_tuple(asio::use_awaitable));
    if (!error) break;
    if (attempt >= 5) {
      old->slot.log->error("could not put {} handed-over job(s) back; they are released at stop", released.size());
      co_return 0;
    }
    asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(200 << attempt));
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return released.size();
}

void WorkerPool::spawn_worker(Lane& lane) {
  lane.workers.spawn(lane.strand, work(lane), [this, &lane](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      lane.slot.log->critical("worker ended by an exception (a bug); starting a new one: {}", e.what());
    }
    if (!stopping_ && !lane.retiring) spawn_worker(lane);  // its claimed jobs are rescued at the next start
  });
}

void WorkerPool::notify(const std::vector<std::string>& forwarder_ids) {
  std::lock_guard lock(lanes_mutex_);
  for (auto& lane : lanes_) {
    if (std::find(forwarder_ids.begin(), forwarder_ids.end(), lane->slot.config.id) == forwarder_ids.end()) continue;
    asio::post(lane->strand, [lane] { lane->wake.notify(); });
  }
}

// Until new jobs are notified, the drain begins, or `wait` has passed.
asio::awaitable<void> WorkerPool::idle(Lane& lane, std::chrono::milliseconds wait) {
  co_await lane.wake.wait_until(std::chrono::steady_clock::now() + wait);
}

std::vector<JobFinish> WorkerPool::classify(const RetryPolicy& policy, const std::vector<ClaimedJob>& jobs,
                                            const BatchOutcome& outcomes, std::mt19937_64& rng) {
  std::vector<JobFinish> finishes;
  finishes.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& job = jobs[i];
    const auto& outcome = outcomes[i];
    JobFinish finish{job.id, JobState::completed, job.attempt, 0, {}, job.batch_id, {}};
    if (outcome.kind == DeliveryOutcome::Kind::permanent) {
      finish.state = JobState::cancelled;
      finish.error = outcome.reason;
    } else if (outcome.kind == DeliveryOutcome::Kind::retry) {
      finish.error = outcome.reason;
      if (job.attempt >= job.max_attempts) {
        finish.state = JobState::discarded;
      } else {
        finish.state = JobState::retryable;
        std::chrono::milliseconds delay;
        if (outcome.retry_after) {
          // The destination asked for this time: it wins, but "Retry-After: 0"
          // must not burn every attempt in a tight loop.
          delay = std::max<std::chrono::milliseconds>(*outcome.retry_after, std::chrono::seconds(1));
        } else {
          delay = std::max<std::chrono::milliseconds>(backoff_delay(policy, job.attempt, rng), minimum_backoff);
        }
        finish.scheduled_at_ms = unix_millis_now() + delay.count();
      }
    }
    finishes.push_back(std::move(finish));
  }
  return finishes;
}

asio::awaitable<void> WorkerPool::work(Lane& lane) {
  auto& slot = lane.slot;
  const auto limits = slot.forwarder->batch_limits();
  const std::size_t claim_size = lane.claim_size;
  auto last_table_claim = std::chrono::steady_clock::now();
  while (!stopping_ && !lane.retiring) {
    // Jobs handed over by the writer first (the writer hands over only while
    // no due job waits in the table); the table when there are none, and at
    // least once per poll_interval whatever happens.
    std::vector<ClaimedJob> jobs;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_table_claim < config_.poll_interval) lane.handoff->take(jobs, claim_size, limits.max_bytes);
    if (jobs.empty()) {
      last_table_claim = now;
      auto [claim_error, claimed] = co_await store_.async_claim(slot.config.id, claim_size, limits.max_bytes,
                                                                asio::as_tuple(asio::use_awaitable));
      jobs = std::move(claimed);
      if (jobs.empty()) lane.handoff->take(jobs, claim_size, limits.max_bytes);
      if (jobs.empty()) {
        co_await idle(lane, claim_error ? std::chrono::milliseconds(1000) : config_.poll_interval);
        continue;
      }
    }
    if (limits.linger.count() > 0) co_await fill_batch(lane, jobs, claim_size, limits);

    std::vector<Event> events;
    std::vector<ClaimedJob> deliverable;
    std::vector<JobFinish> finishes;
    for (auto& job : jobs) {
      try {
        events.push_back(Event::from_json(std::move(job.payload)));
        deliverable.push_back(std::move(job));
      } catch (const std::exception& e) {
        finishes.push_back({job.id,
                            JobState::cancelled,
                            job.attempt,
                            0,
                            std::string("corrupt payload: ") + e.what(),
                            job.batch_id,
                            {}});
      }
    }
    if (!events.empty()) {
      const auto outcomes = co_await deliver_within(*slot.forwarder, events, slot.config.timeout, *slot.log,
                                                    &daemon_metrics().forwarder(slot.config.id));
      std::vector<JobFinish> classified;
      {
        std::lock_guard lock(rng_mutex_);
        classified = classify(slot.config.retry, deliverable, outcomes, rng_);
      }
      // A job of a stored batch may leave it for a row of its own (a
      // failure, or completed_retention): the store needs its event for that.
      for (std::size_t k = 0; k < classified.size(); ++k)
        if (classified[k].batch_id != 0) classified[k].payload = std::move(events[k].json);
      for (const auto& f : classified) {
        if (f.state == JobState::retryable)
          slot.log->warn("job {} attempt {}/{} failed, retry scheduled: {}", f.id, f.attempt,
                         slot.config.retry.max_attempts, f.error);
        else if (f.state == JobState::discarded)
          slot.log->error("job {} discarded after {} attempts: {}", f.id, f.attempt, f.error);
        else if (f.state == JobState::cancelled)
          slot.log->error("job {} cancelled (permanent failure): {}", f.id, f.error);
      }
      finishes.insert(finishes.end(), classified.begin(), classified.end());
    }

    // The outcome must reach the database; until it does, the jobs stay
    // executing (and are rescued at the next start if we never succeed).
    // Completed jobs of stored batches need no commit: no round trip.
    if (store_.finish_without_commit(finishes)) continue;
    for (int attempt = 0;; ++attempt) {
      auto [finish_error] = co_await store_.async_finish(finishes, asio::as_tuple(asio::use_awaitable));
      if (!finish_error) break;
      if (stopping_ && attempt > 3) {
        slot.log->error("could not record {} delivery outcome(s) before shutdown; they are rescued at the next start",
                        finishes.size());
        break;
      }
      asio::steady_timer pause(lane.strand, std::chrono::milliseconds(std::min(100 << std::min(attempt, 5), 5000)));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

// Batch timeout: with a partial batch in hand, keep claiming newly due jobs
// until the batch is full or `limits.linger` has passed since the first claim.
asio::awaitable<void> WorkerPool::fill_batch(Lane& lane, std::vector<ClaimedJob>& jobs, std::size_t claim_size,
                                             const BatchLimits& limits) {
  const auto deadline = std::chrono::steady_clock::now() + limits.linger;
  std::size_t bytes = 0;
  for (const auto& job : jobs) bytes += job.payload.size();
  while (jobs.size() < claim_size && !stopping_ && !lane.retiring &&
         (limits.max_bytes == 0 || bytes < limits.max_bytes)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    co_await idle(lane, left);
    const std::size_t bytes_left = limits.max_bytes == 0 ? 0 : limits.max_bytes - bytes;
    std::vector<ClaimedJob> more;
    lane.handoff->take(more, claim_size - jobs.size(), bytes_left);
    if (more.empty()) {
      auto [error, claimed] = co_await store_.async_claim(lane.slot.config.id, claim_size - jobs.size(), bytes_left,
                                                          asio::as_tuple(asio::use_awaitable));
      if (error) break;
      more = std::move(claimed);
    }
    for (auto& job : more) {
      bytes += job.payload.size();
      jobs.push_back(std::move(job));
    }
  }
}

asio::awaitable<void> WorkerPool::drain(std::chrono::milliseconds grace) {
  stopping_ = true;
  std::vector<std::shared_ptr<Lane>> lanes;
  {
    std::lock_guard lock(lanes_mutex_);
    lanes.insert(lanes.end(), lanes_.begin(), lanes_.end());
    lanes.insert(lanes.end(), retired_.begin(), retired_.end());
  }
  for (auto& lane : lanes) asio::post(lane->strand, [lane] { lane->wake.close(); });  // idle workers see stopping_
  const auto deadline = std::chrono::steady_clock::now() + grace;
  bool all_ended = true;
  for (auto& lane : lanes) {
    const bool ended = co_await lane->workers.wait_until(deadline);
    all_ended = all_ended && ended;
  }
  if (!all_ended)
    spdlog::default_logger()->clone("workers")->warn(
        "{} worker(s) still delivering after workers.shutdown_grace; their jobs go back to available", running());
}

}  // namespace auditfwd
