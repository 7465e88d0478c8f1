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
#include <boost/asio/use_awaitable.hpp>

namespace auditfwd {
namespace asio = boost::asio;

namespace {
// Floor for computed retry delays: a zero backoff_min must not spin a worker.
constexpr std::chrono::milliseconds minimum_backoff{100};
}  // namespace

struct WorkerPool::Lane {
  explicit Lane(asio::io_context& io, ForwarderSlot& s, std::size_t claim_size)
      : slot(s),
        claim_size(claim_size),
        // Two deliveries' worth per worker: enough to keep them busy between
        // commits, little enough to bound memory.
        handoff(std::make_shared<JobHandoff>(
            std::max<std::size_t>(64, 2 * claim_size * static_cast<std::size_t>(std::max(1, s.config.concurrency))))),
        strand(asio::make_strand(io)),
        wake(strand, static_cast<std::size_t>(std::max(1, s.config.concurrency))) {}
  ForwarderSlot& slot;
  std::size_t claim_size;  // jobs per delivery
  std::shared_ptr<JobHandoff> handoff;
  asio::strand<asio::io_context::executor_type> strand;
  WakeSignal wake;  // new jobs, or the drain; on `strand` only
};

WorkerPool::WorkerPool(asio::io_context& io, std::vector<ForwarderSlot>& slots, JobStore& store, WorkersConfig config)
    : io_(io), slots_(slots), store_(store), config_(config), workers_(io.get_executor()) {
  for (auto& slot : slots_) {
    if (slot.config.dispatch == DispatchMode::sync) continue;
    const auto claim_size = std::clamp<std::size_t>(slot.forwarder->batch_limits().max_events, 1,
                                                    static_cast<std::size_t>(config_.claim_batch));
    auto& lane = lanes_.emplace_back(io_, slot, claim_size);
    store_.add_handoff(slot.config.id, lane.handoff);
  }
}

WorkerPool::~WorkerPool() = default;

void WorkerPool::start() {
  for (auto& lane : lanes_) {
    for (int i = 0; i < lane.slot.config.concurrency; ++i) spawn_worker(lane);
    lane.slot.log->debug("{} worker(s) started", lane.slot.config.concurrency);
  }
}

void WorkerPool::spawn_worker(Lane& lane) {
  workers_.spawn(lane.strand, work(lane), [this, &lane](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      lane.slot.log->critical("worker ended by an exception (a bug); starting a new one: {}", e.what());
    }
    if (!stopping_) spawn_worker(lane);  // its claimed jobs are rescued at the next start
  });
}

void WorkerPool::notify(const std::vector<std::string>& forwarder_ids) {
  for (auto& lane : lanes_) {
    if (std::find(forwarder_ids.begin(), forwarder_ids.end(), lane.slot.config.id) == forwarder_ids.end()) continue;
    asio::post(lane.strand, [&lane] { lane.wake.notify(); });
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
  while (!stopping_) {
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
  while (jobs.size() < claim_size && !stopping_ && (limits.max_bytes == 0 || bytes < limits.max_bytes)) {
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
  for (auto& lane : lanes_) asio::post(lane.strand, [&lane] { lane.wake.close(); });  // idle workers see stopping_
  if (!co_await workers_.wait_until(std::chrono::steady_clock::now() + grace))
    spdlog::default_logger()->clone("workers")->warn(
        "{} worker(s) still delivering after workers.shutdown_grace; their jobs go back to available", running());
}

}  // namespace auditfwd
