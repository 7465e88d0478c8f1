// Unit tests for WorkerPool: classify (how one attempt's outcome becomes the job's next state) and drain.
#include "workers/worker_pool.hpp"

#include "common/time_format.hpp"
#include "dispatch/dispatcher.hpp"
#include "support/temp_store.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include <doctest/doctest.h>

using namespace auditfwd;
using namespace std::chrono_literals;

namespace {

RetryPolicy fixed_backoff(std::chrono::milliseconds delay, int max_attempts = 5) {
  RetryPolicy policy;
  policy.max_attempts = max_attempts;
  policy.backoff = BackoffKind::fixed;
  policy.backoff_min = delay;
  return policy;
}

ClaimedJob job(std::int64_t id, int attempt, int max_attempts = 5) { return {id, attempt, max_attempts, "{}"}; }

// classify() for one job, with the clock read before and after it.
struct Classified {
  JobFinish finish;
  std::int64_t before_ms = 0;
  std::int64_t after_ms = 0;
};

Classified classify_one(const RetryPolicy& policy, const ClaimedJob& claimed, const DeliveryOutcome& outcome) {
  std::mt19937_64 rng{42};
  Classified out;
  out.before_ms = unix_millis_now();
  auto finishes = WorkerPool::classify(policy, {claimed}, {outcome}, rng);
  out.after_ms = unix_millis_now();
  REQUIRE(finishes.size() == 1);
  out.finish = finishes[0];
  return out;
}

// The finish is retryable, due `delay` after the call (give or take its duration).
void check_due_after(const Classified& c, std::chrono::milliseconds delay) {
  CHECK(c.finish.state == JobState::retryable);
  CHECK(c.finish.scheduled_at_ms >= c.before_ms + delay.count());
  CHECK(c.finish.scheduled_at_ms <= c.after_ms + delay.count());
}

}  // namespace

TEST_CASE("classify: ok completes, a permanent failure cancels; the attempt is kept and the reason recorded") {
  std::mt19937_64 rng{1};
  const std::vector<ClaimedJob> jobs{job(7, 1), job(8, 3)};
  const BatchOutcome outcomes{DeliveryOutcome::success(), DeliveryOutcome::permanent("HTTP 400 Bad Request")};
  auto finishes = WorkerPool::classify(fixed_backoff(1s), jobs, outcomes, rng);
  REQUIRE(finishes.size() == 2);
  CHECK(finishes[0].id == 7);
  CHECK(finishes[0].state == JobState::completed);
  CHECK(finishes[0].attempt == 1);
  CHECK(finishes[0].error.empty());
  CHECK(finishes[1].id == 8);
  CHECK(finishes[1].state == JobState::cancelled);
  CHECK(finishes[1].attempt == 3);
  CHECK(finishes[1].error == "HTTP 400 Bad Request");
}

TEST_CASE("classify: a retry waits the policy's backoff, with its reason; a timeout is a retry") {
  auto retried = classify_one(fixed_backoff(5s), job(1, 2), DeliveryOutcome::retry("connection refused"));
  check_due_after(retried, 5s);
  CHECK(retried.finish.attempt == 2);
  CHECK(retried.finish.error == "connection refused");

  auto timed_out = classify_one(fixed_backoff(5s), job(1, 1), DeliveryOutcome::timeout("timeout after 5s"));
  check_due_after(timed_out, 5s);
  CHECK(timed_out.finish.error == "timeout after 5s");
}

TEST_CASE("classify: the destination's Retry-After wins over the backoff, but never below 1 s") {
  check_due_after(classify_one(fixed_backoff(200ms), job(1, 1), DeliveryOutcome::retry("HTTP 503", 30s)), 30s);
  check_due_after(classify_one(fixed_backoff(1h), job(1, 1), DeliveryOutcome::retry("HTTP 429", 2s)), 2s);
  // "Retry-After: 0" must not burn every attempt at once.
  check_due_after(classify_one(fixed_backoff(200ms), job(1, 1), DeliveryOutcome::retry("HTTP 503", 0ms)), 1s);
  check_due_after(classify_one(fixed_backoff(200ms), job(1, 1), DeliveryOutcome::retry("HTTP 503", 300ms)), 1s);
}

TEST_CASE("classify: a zero backoff still waits 100 ms, so a failing destination cannot spin a worker") {
  check_due_after(classify_one(fixed_backoff(0ms), job(1, 1), DeliveryOutcome::retry("refused")), 100ms);
}

TEST_CASE("classify: a retry on the job's last attempt discards it, Retry-After or not") {
  auto last = classify_one(fixed_backoff(1s), job(1, 5, 5), DeliveryOutcome::retry("still refused"));
  CHECK(last.finish.state == JobState::discarded);
  CHECK(last.finish.attempt == 5);
  CHECK(last.finish.error == "still refused");
  // The job's own max_attempts counts (it was fixed when the job was enqueued), not the policy's.
  CHECK(classify_one(fixed_backoff(1s, 20), job(1, 3, 3), DeliveryOutcome::retry("x", 1s)).finish.state ==
        JobState::discarded);
  CHECK(classify_one(fixed_backoff(1s, 2), job(1, 2, 3), DeliveryOutcome::retry("x")).finish.state ==
        JobState::retryable);
}

// --- drain, with a store and a forwarder of the test's own ---

namespace {

// Takes `delay` per delivery; counts deliveries begun and ended.
class SlowForwarder final : public Forwarder {
 public:
  explicit SlowForwarder(std::chrono::milliseconds delay) : delay_(delay) {}
  boost::asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    ++begun;
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay_);
    co_await timer.async_wait(boost::asio::use_awaitable);
    ++ended;
    co_return same_outcome(events.size(), DeliveryOutcome::success());
  }
  std::atomic<int> begun{0};
  std::atomic<int> ended{0};

 private:
  std::chrono::milliseconds delay_;
};

struct PoolRig {
  testing::TempStore temp;
  JobStore store{temp.config};
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  boost::asio::io_context io{2};
  WorkersConfig config;
  std::unique_ptr<WorkerPool> pool;
  std::vector<std::thread> threads;

  explicit PoolRig(std::chrono::milliseconds delay) {
    ForwarderConfig forwarder;
    forwarder.id = "slow";
    forwarder.type = "test";
    forwarder.dispatch = DispatchMode::async;
    forwarder.timeout = std::chrono::seconds(60);
    slots.push_back(std::make_shared<ForwarderSlot>(
        ForwarderSlot{forwarder, std::make_unique<SlowForwarder>(delay), spdlog::default_logger()}));
    config.poll_interval = std::chrono::seconds(30);  // idle workers wake only when notified (or drained)
  }
  void start() {
    pool = std::make_unique<WorkerPool>(io, slots, store, config);
    store.start([this](const std::vector<std::string>& ids) { pool->notify(ids); });
    pool->start();
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  SlowForwarder& forwarder() { return static_cast<SlowForwarder&>(*slots[0]->forwarder); }
  // Returns how long drain(grace) took.
  std::chrono::steady_clock::duration drain(std::chrono::milliseconds grace) {
    const auto start = std::chrono::steady_clock::now();
    boost::asio::co_spawn(io, pool->drain(grace), boost::asio::use_future).get();
    return std::chrono::steady_clock::now() - start;
  }
  ~PoolRig() {
    for (auto& thread : threads) thread.join();
    store.stop();
  }
};

}  // namespace

TEST_CASE("WorkerPool: drain returns at once when every worker is idle, without waiting for poll_interval") {
  PoolRig rig(0ms);
  rig.start();
  std::this_thread::sleep_for(50ms);  // the worker claimed nothing and sleeps toward its poll
  CHECK(rig.drain(20s) < 5s);
  CHECK(rig.pool->running() == 0);
}

TEST_CASE("WorkerPool: drain waits for the delivery in flight to end and be recorded, then returns") {
  PoolRig rig(300ms);
  rig.start();
  Dispatcher dispatcher(make_forwarder_set(rig.slots), &rig.store);
  auto line = validate_event(R"({"action":"a.b"})", {}, {}, now_micros());
  std::vector<ParsedLine> lines;
  lines.push_back(std::move(line));
  auto chunk = boost::asio::co_spawn(rig.io, dispatcher.dispatch(std::move(lines)), boost::asio::use_future).get();
  REQUIRE(chunk.verdicts.at(0) == Verdict::accepted);
  for (int i = 0; i < 500 && rig.forwarder().begun == 0; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(rig.forwarder().begun == 1);
  const auto took = rig.drain(20s);
  CHECK(rig.forwarder().ended == 1);
  CHECK(rig.pool->running() == 0);
  CHECK(took < 5s);
}
