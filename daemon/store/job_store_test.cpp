// Unit tests for the job lifecycle against a real SQLite file.
#include "store/job_store.hpp"

#include "common/time_format.hpp"
#include "store/job_admin.hpp"
#include "store/schema.hpp"
#include "support/temp_store.hpp"

#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <future>
#include <thread>

using namespace auditfwd;
namespace asio = boost::asio;

namespace {

// A store directory, and what a test reads back from it as the `jobs` CLI
// shows it (whatever the layout: a pending job inside a stored batch is
// `available`, with no attempt recorded yet).
struct TempStore : testing::TempStore {
  std::optional<JobRow> row_of(std::int64_t id) {
    for (auto& row : list_jobs(config.path, std::nullopt, std::nullopt, 1'000'000))
      if (row.id == id) return row;
    return std::nullopt;
  }
  std::string state_of(std::int64_t id) {
    auto row = row_of(id);
    return row ? row->state : "<gone>";
  }
  std::string errors_of(std::int64_t id) {
    auto row = row_of(id);
    return row ? row->errors : "";
  }
};

// The end of an attempt at `job`, as a worker reports it.
JobFinish ended(const ClaimedJob& job, JobState state, std::int64_t scheduled_at_ms = 0, std::string error = {}) {
  return JobFinish{job.id, state, job.attempt, scheduled_at_ms, std::move(error), job.batch_id, job.payload};
}

// Runs one awaitable to completion on a private io_context.
template <typename T>
T run(asio::awaitable<T> work) {
  asio::io_context io;
  auto future = asio::co_spawn(io, std::move(work), asio::use_future);
  io.run();
  return future.get();
}

// Enqueues as a session does: the outcomes at the commit, then (durability
// "fsync") the commit on disk.
std::vector<EnqueueOutcome> enqueue(JobStore& store, std::vector<EnqueueItem> items) {
  return run([&]() -> asio::awaitable<std::vector<EnqueueOutcome>> {
    auto enqueued = co_await store.async_enqueue(std::move(items), asio::use_awaitable);
    if (auto& durable = std::get<1>(enqueued)) co_await durable->async_wait(asio::use_awaitable);
    co_return std::move(std::get<0>(enqueued));
  }());
}

// A client id from `uid`, standing for the content whose digest starts with `content`.
IdempotencyKey key(const std::string& id, uid_t uid = 1000, unsigned char content = 0) {
  return IdempotencyKey{id, uid, ContentDigest{content}};
}

std::vector<SeenStatus> find_seen(JobStore& store, std::vector<IdempotencyKey> keys) {
  return run([&]() -> asio::awaitable<std::vector<SeenStatus>> {
    auto found = co_await store.async_find_seen(std::move(keys), asio::use_awaitable);
    if (auto& durable = std::get<1>(found)) co_await durable->async_wait(asio::use_awaitable);
    co_return std::move(std::get<0>(found));
  }());
}

// Claims up to `max_jobs` due jobs of `forwarder`, as a worker does.
std::vector<ClaimedJob> claim_from(JobStore& store, const std::string& forwarder, std::size_t max_jobs = 100) {
  return run([&]() -> asio::awaitable<std::vector<ClaimedJob>> {
    auto [ec, jobs] = co_await store.async_claim(forwarder, max_jobs, 0, asio::as_tuple(asio::use_awaitable));
    CHECK_FALSE(ec);
    co_return jobs;
  }());
}

// A stored event as the validator writes it (its first fields in their order).
std::string payload_of(const std::string& id) {
  return R"({"id":")" + id + R"(","action":"a.b","outcome":"success","occurred_at":"2026-11-29T10:00:00Z"})";
}

EnqueueItem item(const std::string& id, std::vector<std::string> forwarders, bool remember = false) {
  EnqueueItem it{id, payload_of(id), {}, remember, 1000, ContentDigest{}};
  for (auto& f : forwarders) it.jobs.push_back({f, 3});
  return it;
}

}  // namespace

TEST_CASE("enqueue → claim → complete (deleted when completed_retention is 0)") {
  TempStore temp;
  temp.config.completed_retention = std::chrono::milliseconds(0);
  JobStore store(temp.config);
  store.start({});
  auto outcomes = enqueue(store, {item("e1", {"a", "b"}), item("e2", {"a"}), item("e3", {"a"})});
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0].code == errc::ok);
  CHECK(outcomes[0].jobs == 2);
  CHECK(temp.state_of(outcomes[0].job_id(0)) == "available");
  CHECK(temp.row_of(outcomes[0].job_id(0))->event_id == "e1");

  auto claimed = claim_from(store, "a", 2);
  REQUIRE(claimed.size() == 2);
  CHECK(claimed[0].attempt == 1);
  CHECK(claimed[0].payload == payload_of("e1"));
  CHECK(temp.state_of(claimed[0].id) == "available");  // pending until its outcome is recorded
  // Built outside the coroutine: GCC 12 rejects braced arrays inside coroutine bodies.
  std::vector<JobFinish> finishes{ended(claimed[0], JobState::completed), ended(claimed[1], JobState::completed)};
  auto error = run([&]() -> asio::awaitable<boost::system::error_code> {
    auto result = co_await store.async_finish(finishes, asio::as_tuple(asio::use_awaitable));
    co_return std::get<0>(result);
  }());
  CHECK_FALSE(error);
  CHECK(store.counters().pending_jobs == 2);  // e1/b, and e3/a
  auto last = claim_from(store, "a", 10);
  REQUIRE(last.size() == 1);  // e3/a: its batch's other jobs ended
  store.stop();
  // The batch of e1/a, e2/a and e3/a stays until e3/a has an outcome: after a
  // stop, e3/a is pending with no attempt spent, and the delivered ones too
  // (what a crash may deliver again: at least once).
  CHECK(temp.state_of(last[0].id) == "available");
  CHECK(temp.row_of(last[0].id)->attempt == 0);
  CHECK(temp.state_of(outcomes[0].job_id(1)) == "available");  // e1/b, never claimed
}

TEST_CASE("a batch goes once every job of it has an outcome") {
  TempStore temp;
  temp.config.completed_retention = std::chrono::milliseconds(0);
  JobStore store(temp.config);
  store.start({});
  auto outcomes = enqueue(store, {item("e1", {"a"}), item("e2", {"a"})});
  auto claimed = claim_from(store, "a");
  REQUIRE(claimed.size() == 2);
  CHECK(claimed[0].batch_id == claimed[1].batch_id);
  std::vector<JobFinish> finishes{ended(claimed[0], JobState::completed),
                                  ended(claimed[1], JobState::cancelled, 0, "HTTP 400")};
  run([&]() -> asio::awaitable<void> { co_await store.async_finish(finishes, asio::use_awaitable); }());
  CHECK(temp.state_of(claimed[1].id) == "cancelled");
  CHECK(temp.row_of(claimed[1].id)->event_id == "e2");
  CHECK(temp.row_of(claimed[1].id)->attempt == 1);
  CHECK(store.counters().pending_jobs == 0);
  // The emptied batch goes within a second (with later new batches, or alone).
  enqueue(store, {item("e3", {"b"})});
  for (int tries = 0; tries < 40 && temp.state_of(claimed[0].id) != "<gone>"; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(temp.state_of(claimed[0].id) == "<gone>");
  {
    SQLite::Database db(temp.config.path);
    CHECK(db.execAndGet("SELECT count(*) FROM batches").getInt() == 1);  // e3's
    CHECK(db.execAndGet("SELECT payload FROM jobs WHERE id = " + std::to_string(claimed[1].id)).getString() ==
          payload_of("e2"));
  }
  store.stop();
}

TEST_CASE("without new batches, an emptied batch goes within a second, or at stop") {
  for (const bool wait_for_maintenance : {true, false}) {
    TempStore temp;
    JobStore store(temp.config);
    store.start({});
    enqueue(store, {item("e1", {"a"})});
    auto claimed = claim_from(store, "a");
    REQUIRE(claimed.size() == 1);
    std::vector<JobFinish> finishes{ended(claimed[0], JobState::completed)};
    run([&]() -> asio::awaitable<void> { co_await store.async_finish(finishes, asio::use_awaitable); }());
    if (wait_for_maintenance) {
      for (int tries = 0; tries < 40 && temp.state_of(claimed[0].id) != "<gone>"; ++tries)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } else {
      store.stop();
    }
    CHECK(temp.state_of(claimed[0].id) == "<gone>");
    store.stop();
  }
}

TEST_CASE("retryable waits for scheduled_at; failures append to the error list; discarded and cancelled") {
  TempStore temp;
  temp.config.completed_retention = std::chrono::hours(1);
  JobStore store(temp.config);
  store.start({});
  auto ids = enqueue(store, {item("e1", {"a"}), item("e2", {"a"})});
  auto claim = [&]() {
    return run([&]() -> asio::awaitable<std::vector<ClaimedJob>> {
      auto [ec, jobs] = co_await store.async_claim("a", 10, 0, asio::as_tuple(asio::use_awaitable));
      co_return jobs;
    }());
  };
  auto finish = [&](std::vector<JobFinish> f) {
    run([&]() -> asio::awaitable<void> { co_await store.async_finish(f, asio::use_awaitable); }());
  };
  auto first = claim();
  REQUIRE(first.size() == 2);
  finish({ended(first[0], JobState::retryable, unix_millis_now() + 60'000, "HTTP 503"),
          ended(first[1], JobState::retryable, unix_millis_now() - 1, "connection refused")});
  CHECK(temp.state_of(first[0].id) == "retryable");
  CHECK(temp.errors_of(first[0].id).find("\"error\":\"HTTP 503\"") != std::string::npos);
  CHECK(temp.errors_of(first[0].id).find("\"attempt\":1") != std::string::npos);
  auto second = claim();  // only the due one
  REQUIRE(second.size() == 1);
  CHECK(second[0].id == first[1].id);
  CHECK(second[0].attempt == 2);
  finish({ended(second[0], JobState::discarded, 0, "still refused")});
  CHECK(temp.state_of(second[0].id) == "discarded");
  CHECK(temp.errors_of(second[0].id).find("still refused") != std::string::npos);
  CHECK(temp.errors_of(second[0].id).find("connection refused") != std::string::npos);
  (void)ids;
  store.stop();
}

TEST_CASE("max_pending_jobs turns enqueues into store_full and sets full()") {
  TempStore temp;
  temp.config.max_pending_jobs = 3;
  JobStore store(temp.config);
  store.start({});
  auto outcomes = enqueue(store, {item("e1", {"a", "b"}), item("e2", {"a", "b"})});
  CHECK(outcomes[0].code == errc::ok);
  CHECK(outcomes[1].code == errc::store_full);
  CHECK_FALSE(store.full());  // 2 of 3
  enqueue(store, {item("e3", {"a"})});
  CHECK(store.full());
  CHECK_FALSE(store.accepting());
  CHECK(store.counters().store_full_rejections == 1);
  store.stop();
}

TEST_CASE("a store that is full when it opens says so at once, before its first commit") {
  TempStore temp;
  temp.config.max_pending_jobs = 2;
  {
    JobStore store(temp.config);
    store.start({});
    enqueue(store, {item("e1", {"a", "b"})});
    store.stop();
  }
  JobStore reopened(temp.config);
  CHECK(reopened.full());  // the dispatcher's `auto` must fall back to sync from the first event
  CHECK_FALSE(reopened.accepting());
}

TEST_CASE("durability fsync: a found id comes with a commit to wait for, as its first copy's may not be on disk yet") {
  TempStore temp;
  temp.config.durability_fsync = true;
  JobStore store(temp.config);
  store.start({});
  enqueue(store, {item("id-1", {"a"}, true)});
  auto [found, found_durable] = run(store.async_find_seen({key("id-1")}, asio::use_awaitable));
  CHECK(found == std::vector<SeenStatus>{SeenStatus::duplicate});
  REQUIRE(found_durable);
  run(found_durable->async_wait(asio::use_awaitable));
  auto [unknown, unknown_durable] = run(store.async_find_seen({key("id-2")}, asio::use_awaitable));
  CHECK(unknown == std::vector<SeenStatus>{SeenStatus::unseen});
  CHECK_FALSE(unknown_durable);  // nothing reported depends on a commit
  store.stop();
}

TEST_CASE("durability os: nothing to wait for after the commit") {
  TempStore temp;
  JobStore store(temp.config);
  store.start({});
  auto [outcomes, durable] = run(store.async_enqueue({item("e1", {"a"}, true)}, asio::use_awaitable));
  CHECK(outcomes[0].code == errc::ok);
  CHECK_FALSE(durable);
  store.stop();
}

TEST_CASE("remembered ids are found; others are not") {
  TempStore temp;
  JobStore store(temp.config);
  store.start({});
  enqueue(store, {item("id-1", {}, true), item("id-2", {"a"}, false)});
  auto seen = find_seen(store, {key("id-1"), key("id-2"), key("id-3")});
  CHECK(seen == std::vector<SeenStatus>{SeenStatus::duplicate, SeenStatus::unseen, SeenStatus::unseen});
  store.stop();
}

TEST_CASE("a remembered id is a duplicate only for the same uid and content; otherwise a conflict") {
  TempStore temp;
  JobStore store(temp.config);
  store.start({});
  enqueue(store, {item("id-1", {}, true)});  // uid 1000, content 0
  auto seen = find_seen(store, {key("id-1", 1000, 0), key("id-1", 0, 0), key("id-1", 1000, 7)});
  CHECK(seen == std::vector<SeenStatus>{SeenStatus::duplicate, SeenStatus::conflict, SeenStatus::conflict});
  store.stop();
}

TEST_CASE("an expired id is taken over by its next sender") {
  TempStore temp;
  temp.config.idempotency_window = std::chrono::milliseconds(50);
  JobStore store(temp.config);
  store.start({});
  enqueue(store, {item("id-1", {}, true)});
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  CHECK(find_seen(store, {key("id-1", 0, 9)}) == std::vector<SeenStatus>{SeenStatus::unseen});
  auto again = item("id-1", {}, true);
  again.sender_uid = 0;
  again.content_digest = ContentDigest{9};
  enqueue(store, {again});
  CHECK(find_seen(store, {key("id-1", 0, 9), key("id-1", 1000, 0)}) ==
        std::vector<SeenStatus>{SeenStatus::duplicate, SeenStatus::conflict});
  store.stop();
}

TEST_CASE("jobs left executing by a crash are rescued at open") {
  TempStore temp;
  {
    auto db = open_store_database(temp.config.path, false);
    // e1, e2: claimed (attempt recorded); e3: handed to a worker, no attempt recorded yet.
    db.exec(
        "INSERT INTO jobs (forwarder, event_id, state, attempt, max_attempts, payload, inserted_at, scheduled_at, "
        "attempted_at) VALUES ('a', 'e1', 'executing', 1, 3, '{}', 0, 0, 5), "
        "('a', 'e2', 'executing', 3, 3, '{}', 0, 0, 5), ('a', 'e3', 'executing', 0, 1, '{}', 0, 0, NULL)");
  }
  JobStore store(temp.config);
  CHECK(temp.state_of(1) == "available");
  CHECK(temp.errors_of(1).find("interrupted") != std::string::npos);
  CHECK(temp.state_of(2) == "discarded");
  CHECK(temp.state_of(3) == "available");  // even with max_attempts 1: it was never attempted
  CHECK(temp.errors_of(3) == "[]");
  store.stop();
}

TEST_CASE("the committed listener names the forwarders that got jobs") {
  TempStore temp;
  JobStore store(temp.config);
  std::vector<std::string> notified;
  std::mutex mutex;
  store.start([&](const std::vector<std::string>& ids) {
    std::lock_guard lock(mutex);
    notified.insert(notified.end(), ids.begin(), ids.end());
  });
  enqueue(store, {item("e1", {"b", "a"})});
  store.stop();
  std::sort(notified.begin(), notified.end());
  CHECK(notified == std::vector<std::string>{"a", "b"});
}

namespace {

// Starts `store` with a hand-off queue of `capacity` jobs for forwarder "a".
std::shared_ptr<JobHandoff> start_with_handoff(JobStore& store, std::size_t capacity) {
  auto handoff = std::make_shared<JobHandoff>(capacity);
  store.add_handoff("a", handoff);
  store.start({});
  return handoff;
}

}  // namespace

TEST_CASE("handoff: fresh jobs go to the workers executing once the table has no due job, up to capacity") {
  TempStore temp;
  JobStore store(temp.config);
  auto handoff = start_with_handoff(store, 2);

  // At start the table may hold older due jobs: new ones wait there, in order.
  auto first = enqueue(store, {item("e1", {"a"})});
  CHECK(temp.state_of(first[0].job_id(0)) == "available");
  std::vector<ClaimedJob> taken;
  handoff->take(taken, 10, 0);
  CHECK(taken.empty());
  CHECK(claim_from(store, "a").size() == 1);
  CHECK(claim_from(store, "a").empty());  // caught up: from now on, handed over

  auto next = enqueue(store, {item("e2", {"a"}), item("e3", {"a", "b"}), item("e4", {"a"})});
  const auto e2 = next[0].job_id(0), e3a = next[1].job_id(0), e3b = next[1].job_id(1), e4 = next[2].job_id(0);
  for (auto id : {e2, e3a, e3b, e4}) CHECK(temp.state_of(id) == "available");  // pending, whoever delivers it
  handoff->take(taken, 10, 0);
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].id == e2);
  CHECK(taken[0].attempt == 1);  // in memory; the table records it with the outcome
  CHECK(taken[0].payload == payload_of("e2"));
  CHECK(taken[1].id == e3a);
  CHECK(taken[1].payload == payload_of("e3"));  // copied for "b", moved for "a"
  CHECK(store.counters().pending_jobs == 5);    // e1 executing, e2, e3a executing, e3b, e4

  // e4 waits in the table, so the next job must too, though there is room now.
  auto after = enqueue(store, {item("e5", {"a"})});
  CHECK(temp.state_of(after[0].job_id(0)) == "available");
  auto claimed = claim_from(store, "a");
  REQUIRE(claimed.size() == 2);
  CHECK(claimed[0].id == e4);
  store.stop();
  // Handed jobs are in-flight attempts like claimed ones: pending after a stop, no attempt spent.
  CHECK(temp.state_of(e2) == "available");
  CHECK(temp.row_of(e2)->attempt == 0);
  JobStore reopened(temp.config);
  auto again = start_with_handoff(reopened, 2);
  auto redelivered = claim_from(reopened, "a");
  REQUIRE(redelivered.size() == 5);  // e1, e2, e3a, e4, e5: everything that had no outcome
  CHECK(redelivered[1].id == e2);
  CHECK(redelivered[1].attempt == 1);
  reopened.stop();
}

TEST_CASE("job ids are never reused, even after the newest job was deleted and the store reopened") {
  TempStore temp;
  temp.config.completed_retention = std::chrono::milliseconds(0);
  std::int64_t newest = 0;
  {
    JobStore store(temp.config);
    store.start({});
    auto outcomes = enqueue(store, {item("e1", {"a"}), item("e2", {"a"})});
    newest = outcomes[1].job_id(0);
    CHECK(newest == outcomes[0].job_id(0) + 1);
    auto claimed = claim_from(store, "a");
    REQUIRE(claimed.size() == 2);
    std::vector<JobFinish> finishes{ended(claimed[0], JobState::completed), ended(claimed[1], JobState::completed)};
    run([&]() -> asio::awaitable<void> { co_await store.async_finish(finishes, asio::use_awaitable); }());
    store.stop();
    CHECK(temp.state_of(newest) == "<gone>");
  }
  JobStore reopened(temp.config);
  reopened.start({});
  auto outcomes = enqueue(reopened, {item("e3", {"a"})});
  CHECK(outcomes[0].job_id(0) > newest);
  reopened.stop();
}

TEST_CASE(
    "durability fsync: concurrent enqueues are all answered ok, made durable by the syncers, and survive a reopen") {
  TempStore temp;
  temp.config.durability_fsync = true;
  std::vector<std::int64_t> ids;
  {
    JobStore store(temp.config);
    store.start({});
    asio::io_context io;
    std::vector<std::future<std::tuple<std::vector<EnqueueOutcome>, std::shared_ptr<DurableCommit>>>> pending;
    for (int request = 0; request < 40; ++request) {
      std::vector<EnqueueItem> items;
      for (int k = 0; k < (request % 3 == 0 ? 100 : 2); ++k)
        items.push_back(item("r" + std::to_string(request) + "-" + std::to_string(k), {"a"}));
      pending.push_back(store.async_enqueue(std::move(items), asio::bind_executor(io, asio::use_future)));
    }
    std::thread runner([&io] {
      auto guard = asio::make_work_guard(io);
      io.run_for(std::chrono::seconds(10));
    });
    for (auto& outcome : pending) {
      auto [results, durable] = outcome.get();
      REQUIRE(durable);  // with fsync, every commit holding jobs is handed over to wait for
      durable->async_wait(asio::bind_executor(io, asio::use_future)).get();
      for (const auto& result : results) {
        CHECK(result.code == errc::ok);
        ids.push_back(result.first_job_id);
      }
    }
    io.stop();
    runner.join();
    store.stop();
  }
  REQUIRE(ids.size() == 14 * 100 + 26 * 2);
  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());  // every id once
  for (auto id : {ids.front(), ids[ids.size() / 2], ids.back()}) CHECK(temp.state_of(id) == "available");
}

TEST_CASE("handoff: a handed job's failure records attempt 1, and its retry goes before newer jobs once due") {
  TempStore temp;
  JobStore store(temp.config);
  auto handoff = start_with_handoff(store, 10);
  CHECK(claim_from(store, "a").empty());  // caught up
  auto first = enqueue(store, {item("e1", {"a"})});
  std::vector<ClaimedJob> taken;
  handoff->take(taken, 10, 0);
  REQUIRE(taken.size() == 1);
  const auto e1 = first[0].job_id(0);
  const auto due_at = unix_millis_now() + 300;
  std::vector<JobFinish> finishes{ended(taken[0], JobState::retryable, due_at, "HTTP 503")};
  run([&]() -> asio::awaitable<void> { co_await store.async_finish(finishes, asio::use_awaitable); }());
  CHECK(temp.state_of(e1) == "retryable");
  CHECK(temp.errors_of(e1).find("\"attempt\":1") != std::string::npos);
  {
    SQLite::Database db(temp.config.path);
    CHECK(db.execAndGet("SELECT attempt FROM jobs WHERE id = " + std::to_string(e1)).getInt() == 1);
  }
  // Not due yet: new jobs are still handed over.
  auto second = enqueue(store, {item("e2", {"a"})});
  taken.clear();
  handoff->take(taken, 10, 0);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].id == second[0].job_id(0));
  // Once it is due, new jobs wait in the table behind it.
  while (unix_millis_now() <= due_at) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto third = enqueue(store, {item("e3", {"a"})});
  taken.clear();
  handoff->take(taken, 10, 0);
  CHECK(taken.empty());
  auto claimed = claim_from(store, "a");
  REQUIRE(claimed.size() == 2);
  CHECK(claimed[0].id == e1);
  CHECK(claimed[0].attempt == 2);
  store.stop();
}

TEST_CASE("a stop puts claimed and handed-over jobs back without spending the attempt it cut short") {
  TempStore temp;
  std::int64_t retried = 0, handed = 0;
  {
    JobStore store(temp.config);
    auto handoff = start_with_handoff(store, 10);
    retried = enqueue(store, {item("e1", {"a"})})[0].job_id(0);
    auto first = claim_from(store, "a");
    REQUIRE(first.size() == 1);
    std::vector<JobFinish> failed{ended(first[0], JobState::retryable, unix_millis_now() - 1, "HTTP 503")};
    run([&]() -> asio::awaitable<void> { co_await store.async_finish(failed, asio::use_awaitable); }());
    auto second = claim_from(store, "a");  // the retry, in delivery when the stop comes
    REQUIRE(second.size() == 1);
    CHECK(second[0].attempt == 2);
    CHECK(claim_from(store, "a").empty());  // caught up: new jobs are handed over
    handed = enqueue(store, {item("e2", {"a"})})[0].job_id(0);
    std::vector<ClaimedJob> taken;
    handoff->take(taken, 10, 0);
    REQUIRE(taken.size() == 1);
    CHECK(taken[0].attempt == 1);
    store.stop();
  }
  JobStore reopened(temp.config);
  reopened.start({});
  auto again = claim_from(reopened, "a");
  REQUIRE(again.size() == 2);
  std::sort(again.begin(), again.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  CHECK(again[0].id == retried);
  CHECK(again[0].attempt == 2);  // one failure recorded; the attempt cut short is not counted
  CHECK(again[1].id == handed);
  CHECK(again[1].attempt == 1);
  CHECK(temp.errors_of(retried).find("interrupted") == std::string::npos);  // a graceful stop, not a crash
  reopened.stop();
}

TEST_CASE("completed batch jobs are recorded without a commit, at the writer's next turn") {
  TempStore temp;
  JobStore store(temp.config);
  store.start({});
  enqueue(store, {item("e1", {"a"}), item("e2", {"a"})});
  auto claimed = claim_from(store, "a");
  REQUIRE(claimed.size() == 2);
  std::vector<JobFinish> failed{ended(claimed[1], JobState::retryable, unix_millis_now() + 60'000, "HTTP 503")};
  CHECK_FALSE(store.finish_without_commit(failed));  // a failure needs a row: async_finish
  CHECK(failed.size() == 1);
  std::vector<JobFinish> completed{ended(claimed[0], JobState::completed)};
  CHECK(store.finish_without_commit(completed));
  enqueue(store, {item("e3", {"b"})});        // the next turn
  CHECK(store.counters().pending_jobs == 2);  // e2 (still in delivery) and e3
  store.stop();
  CHECK(temp.state_of(claimed[0].id) == "<gone>");
  CHECK(temp.state_of(claimed[1].id) == "available");
}

TEST_CASE("with completed_retention, completed batch jobs need a commit") {
  TempStore temp;
  temp.config.completed_retention = std::chrono::hours(1);
  JobStore store(temp.config);
  store.start({});
  enqueue(store, {item("e1", {"a"})});
  auto claimed = claim_from(store, "a");
  REQUIRE(claimed.size() == 1);
  std::vector<JobFinish> completed{ended(claimed[0], JobState::completed)};
  CHECK_FALSE(store.finish_without_commit(completed));
  run([&]() -> asio::awaitable<void> { co_await store.async_finish(completed, asio::use_awaitable); }());
  CHECK(temp.state_of(claimed[0].id) == "completed");
  store.stop();
}

TEST_CASE("store.commit_delay: a small commit waits for company and shares one commit") {
  for (const auto delay : {std::chrono::milliseconds(0), std::chrono::milliseconds(300)}) {
    TempStore temp;
    temp.config.commit_delay = delay;
    JobStore store(temp.config);
    store.start({});
    const auto commits_before = store.counters().commits;
    asio::io_context io;
    auto first = store.async_enqueue({item("e1", {"a"})}, asio::bind_executor(io, asio::use_future));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto second = store.async_enqueue({item("e2", {"a"})}, asio::bind_executor(io, asio::use_future));
    std::thread runner([&io] {
      auto guard = asio::make_work_guard(io);
      io.run_for(std::chrono::seconds(5));
    });
    CHECK(std::get<0>(first.get())[0].code == errc::ok);
    CHECK(std::get<0>(second.get())[0].code == errc::ok);
    io.stop();
    runner.join();
    CHECK(store.counters().commits - commits_before == (delay.count() ? 1u : 2u));
    store.stop();
  }
}

TEST_CASE("a claim in the same transaction as an enqueue sees its batch (never 'caught up' past it)") {
  TempStore temp;
  temp.config.commit_delay = std::chrono::milliseconds(300);  // both requests share one transaction
  JobStore store(temp.config);
  auto handoff = start_with_handoff(store, 10);  // at start, new jobs wait in the table
  asio::io_context io;
  auto enqueued = store.async_enqueue({item("e1", {"a"})}, asio::bind_executor(io, asio::use_future));
  auto claimed = store.async_claim("a", 10, 0, asio::bind_executor(io, asio::use_future));
  std::thread runner([&io] {
    auto guard = asio::make_work_guard(io);
    io.run_for(std::chrono::seconds(5));
  });
  const auto outcome = std::get<0>(enqueued.get());
  const auto jobs = claimed.get();  // throws on a store error
  io.stop();
  runner.join();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == outcome[0].first_job_id);
  store.stop();
}

namespace {

void finish_all(JobStore& store, std::vector<JobFinish> finishes) {
  run([&]() -> asio::awaitable<void> { co_await store.async_finish(finishes, asio::use_awaitable); }());
}

}  // namespace

TEST_CASE("a purged dead letter stays gone while the rest of its batch is still in delivery") {
  TempStore temp;
  {
    JobStore store(temp.config);
    store.start({});
    enqueue(store, {item("e1", {"a"}), item("e2", {"a"})});  // one batch
    auto jobs = claim_from(store, "a");
    REQUIRE(jobs.size() == 2);
    finish_all(store, {ended(jobs[0], JobState::discarded, 0, "HTTP 400")});  // e1 leaves; e2 still in delivery
    CHECK(purge_jobs(temp.config.path, JobState::discarded, std::nullopt) == 1);
    CHECK(temp.state_of(jobs[0].id) == "<gone>");  // not back among the pending
    CHECK(temp.state_of(jobs[1].id) == "available");
    store.stop();
  }
  JobStore reopened(temp.config);
  reopened.start({});
  auto again = claim_from(reopened, "a");
  REQUIRE(again.size() == 1);
  CHECK(again[0].payload == payload_of("e2"));
  reopened.stop();
}

TEST_CASE("store.dead_retention prunes a dead letter only once its batch is gone") {
  TempStore temp;
  temp.config.dead_retention = std::chrono::milliseconds(1);
  JobStore store(temp.config);
  store.start({});
  enqueue(store, {item("e1", {"a"}), item("e2", {"a"})});
  auto jobs = claim_from(store, "a");
  REQUIRE(jobs.size() == 2);
  finish_all(store, {ended(jobs[0], JobState::discarded, 0, "HTTP 400")});
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two maintenance ticks
  CHECK(temp.state_of(jobs[0].id) == "discarded");               // its batch holds e2 still: pruning it would revive it
  finish_all(store, {ended(jobs[1], JobState::completed)});
  bool pruned = false;
  for (int tick = 0; tick < 50 && !pruned; ++tick) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    pruned = temp.state_of(jobs[0].id) == "<gone>";
  }
  CHECK(pruned);
  store.stop();
}

TEST_CASE("without store.dead_retention a dead letter is never pruned (kept until purged)") {
  TempStore temp;  // the default config: no dead_retention
  JobStore store(temp.config);
  store.start({});
  enqueue(store, {item("e1", {"a"})});
  auto jobs = claim_from(store, "a");
  REQUIRE(jobs.size() == 1);
  finish_all(store, {ended(jobs[0], JobState::cancelled, 0, "HTTP 400")});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a maintenance tick, which prunes
  CHECK(temp.state_of(jobs[0].id) == "cancelled");
  store.stop();
}
