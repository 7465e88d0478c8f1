// Unit tests for BatchLedger: batches written, claimed, left, emptied, and what a restart sees.
#include "store/batch_ledger.hpp"

#include "store/schema.hpp"
#include "support/temp_store.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

using namespace auditfwd;

namespace {

// One writer's view of a store; a second one over the same file is a restart.
struct Writer {
  SQLite::Database db;
  JobTable table{db};
  ForwarderDirectory forwarders;
  BatchLedger ledger{db, table, forwarders, spdlog::default_logger(), /*keep_completed_rows=*/false};
  explicit Writer(const std::string& path) : db(open_store_database(path, false)) {}

  template <typename Work>
  void transaction(Work&& work) {
    db.exec("BEGIN");
    work();
    ledger.write_open(0);
    db.exec("COMMIT");
    ledger.committed();
  }
  void add(std::int64_t first, std::int64_t last, bool handed = false) {
    transaction([&] {
      for (auto id = first; id <= last; ++id)
        ledger.add("a", forwarders["a"], handed, 5, id, "{\"n\":" + std::to_string(id) + "}");
    });
  }
  std::vector<ClaimedJob> claim(std::size_t max_jobs = 100) {
    std::vector<ClaimedJob> jobs;
    transaction([&] { ledger.claim("a", max_jobs, 0, jobs); });
    return jobs;
  }
  void finish(const ClaimedJob& job, JobState state) {
    transaction([&] {
      JobFinish f{job.id,       state,      job.attempt, 60'000, state == JobState::completed ? "" : "failed",
                  job.batch_id, job.payload};
      CHECK(ledger.finish(f, 1'000, "now") != nullptr);
    });
  }
  std::int64_t batches() { return db.execAndGet("SELECT count(*) FROM batches").getInt64(); }
};

std::vector<std::int64_t> ids_of(const std::vector<ClaimedJob>& jobs) {
  std::vector<std::int64_t> ids;
  for (const auto& job : jobs) ids.push_back(job.id);
  return ids;
}

}  // namespace

TEST_CASE("BatchLedger: a commit's jobs are one batch; after a crash, jobs that left it are not served again") {
  testing::TempStore temp;
  {
    Writer w(temp.config.path);
    w.add(1, 3);
    CHECK(w.batches() == 1);
    auto jobs = w.claim();
    REQUIRE(ids_of(jobs) == std::vector<std::int64_t>{1, 2, 3});
    CHECK(jobs[0].payload == R"({"n":1})");
    CHECK(jobs[0].max_attempts == 5);
    w.finish(jobs[1], JobState::retryable);  // job 2 leaves for a row of the jobs table
    w.finish(jobs[0], JobState::completed);  // job 1 completes with nothing recorded
  }                                          // a crash: nothing recorded at stop
  Writer restarted(temp.config.path);
  // Job 1 is delivered again (at least once); job 2 lives on as a row.
  CHECK(ids_of(restarted.claim()) == std::vector<std::int64_t>{1, 3});
  CHECK(restarted.table.ids_in_range("a", 1, 3) == std::vector<std::int64_t>{2});
}

TEST_CASE("BatchLedger: a batch whose every job ended is deleted, with a later transaction") {
  testing::TempStore temp;
  Writer w(temp.config.path);
  w.add(1, 2);
  auto jobs = w.claim();
  REQUIRE(jobs.size() == 2);
  w.finish(jobs[0], JobState::completed);
  CHECK(w.ledger.emptied() == 0);
  w.finish(jobs[1], JobState::completed);
  CHECK(w.ledger.emptied() == 1);
  CHECK(w.batches() == 1);
  w.transaction([&] { w.ledger.delete_emptied(); });
  CHECK(w.batches() == 0);
}

TEST_CASE("BatchLedger: a graceful stop takes completed jobs out of the batches in delivery") {
  testing::TempStore temp;
  {
    Writer w(temp.config.path);
    w.add(1, 3);
    auto jobs = w.claim();
    w.finish(jobs[1], JobState::completed);
    w.ledger.record_progress_at_stop();
  }
  Writer restarted(temp.config.path);
  CHECK(ids_of(restarted.claim()) == std::vector<std::int64_t>{1, 3});
}

TEST_CASE("BatchLedger: a handed batch is never served to a claim, not even one in its own transaction") {
  testing::TempStore temp;
  Writer w(temp.config.path);
  std::vector<ClaimedJob> jobs;
  w.transaction([&] {
    w.ledger.add("a", w.forwarders["a"], /*handed=*/true, 5, 1, "{}");
    w.ledger.write_open(0);  // as before a claim in the same transaction
    w.ledger.claim("a", 10, 0, jobs);
  });
  CHECK(jobs.empty());
  w.add(2, 2);  // a batch left for a claim, after the handed one
  CHECK(ids_of(w.claim()) == std::vector<std::int64_t>{2});
}

TEST_CASE("BatchLedger: a rolled-back claim gives its jobs back, first in line") {
  testing::TempStore temp;
  Writer w(temp.config.path);
  w.add(1, 3);
  std::vector<ClaimedJob> jobs;
  w.db.exec("BEGIN");
  w.ledger.claim("a", 2, 0, jobs);
  w.db.exec("ROLLBACK");
  w.ledger.unclaim("a", jobs);
  w.ledger.rolled_back();
  CHECK(ids_of(w.claim()) == std::vector<std::int64_t>{1, 2, 3});
}
