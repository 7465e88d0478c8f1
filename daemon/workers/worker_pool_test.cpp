// Unit tests for WorkerPool::classify: how one attempt's outcome becomes the job's next state.
#include "workers/worker_pool.hpp"

#include "common/time_format.hpp"

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
