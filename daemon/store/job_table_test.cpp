// Unit tests for JobTable: the writer's statements on jobs and seen_ids, against a real SQLite file.
#include "store/job_table.hpp"

#include "store/schema.hpp"
#include "support/temp_store.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

namespace {

struct Table : testing::TempStore {
  SQLite::Database db = open_store_database(config.path, false);
  JobTable table{db};

  // A row as the jobs CLI or a failed batch job leaves it.
  void insert(std::int64_t id, const std::string& forwarder, const std::string& state, std::int64_t scheduled_at,
              const std::string& payload = "{}") {
    SQLite::Statement insert(db,
                             "INSERT INTO jobs (id, forwarder, event_id, state, attempt, max_attempts, payload, "
                             "inserted_at, scheduled_at) VALUES (?1, ?2, 'e', ?3, 0, 5, ?4, 0, ?5)");
    insert.bind(1, static_cast<int64_t>(id));
    insert.bind(2, forwarder);
    insert.bind(3, state);
    insert.bind(4, payload);
    insert.bind(5, static_cast<int64_t>(scheduled_at));
    insert.exec();
  }
  std::string state_of(std::int64_t id) {
    SQLite::Statement read(db, "SELECT state FROM jobs WHERE id = ?1");
    read.bind(1, static_cast<int64_t>(id));
    return read.executeStep() ? read.getColumn(0).getString() : "<gone>";
  }
};

EnqueueItem remembered(const std::string& id, uid_t uid, unsigned char content) {
  EnqueueItem item;
  item.event_id = id;
  item.remember_id = true;
  item.sender_uid = uid;
  item.content_digest = ContentDigest{content};
  return item;
}

}  // namespace

TEST_CASE("JobTable: an id is a duplicate for its sender and content, a conflict otherwise, unseen once expired") {
  Table t;
  t.table.remember_id(remembered("x", 1000, 7), 5'000, 0);
  CHECK(t.table.find_seen({"x", 1000, ContentDigest{7}}, 0) == SeenStatus::duplicate);
  CHECK(t.table.find_seen({"x", 0, ContentDigest{7}}, 0) == SeenStatus::conflict);       // another uid
  CHECK(t.table.find_seen({"x", 1000, ContentDigest{8}}, 0) == SeenStatus::conflict);    // other content
  CHECK(t.table.find_seen({"x", 1000, ContentDigest{7}}, 5'001) == SeenStatus::unseen);  // window starts later
  CHECK(t.table.find_seen({"y", 1000, ContentDigest{7}}, 0) == SeenStatus::unseen);
  // A live row is kept; an expired one is taken over by its next sender.
  t.table.remember_id(remembered("x", 0, 9), 6'000, 4'000);
  CHECK(t.table.find_seen({"x", 1000, ContentDigest{7}}, 0) == SeenStatus::duplicate);
  t.table.remember_id(remembered("x", 0, 9), 7'000, 6'000);
  CHECK(t.table.find_seen({"x", 0, ContentDigest{9}}, 0) == SeenStatus::duplicate);
}

TEST_CASE("JobTable: a claim takes due rows of its forwarder, oldest first, within its count and bytes") {
  Table t;
  t.insert(1, "a", "available", 100, std::string(10, 'x'));
  t.insert(2, "a", "retryable", 50, std::string(10, 'y'));
  t.insert(3, "a", "available", 900, "{}");  // not due at 500
  t.insert(4, "b", "available", 10, "{}");   // another forwarder
  t.insert(5, "a", "discarded", 10, "{}");   // dead
  std::vector<ClaimedJob> jobs;
  CHECK(t.table.claim_due("a", 500, 10, 15, jobs) == 1);  // the second would pass 15 bytes
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == 2);
  CHECK(jobs[0].attempt == 1);
  CHECK(t.state_of(2) == "executing");
  CHECK(t.table.claim_due("a", 500, 10, 0, jobs) == 1);
  CHECK(jobs[1].id == 1);
  CHECK(t.table.next_scheduled("a") == 900);
  CHECK(t.table.next_scheduled("c") == INT64_MAX);
  CHECK(t.table.count_waiting() == 2);  // 3 and 4
}

TEST_CASE("JobTable: outcomes change rows in delivery only, and each failure is appended to the errors") {
  Table t;
  for (std::int64_t id = 1; id <= 300; ++id) t.insert(id, "a", "executing", 0);
  t.insert(301, "a", "available", 0);
  JobFinish retry{1, JobState::retryable, 1, 9'000, "HTTP 503", 0, {}};
  CHECK(t.table.mark_failed(retry, 1'000, "t1") == std::optional<std::string>("a"));
  CHECK(t.state_of(1) == "retryable");
  JobFinish dead{2, JobState::discarded, 5, 0, "HTTP 400", 0, {}};
  CHECK(t.table.mark_failed(dead, 1'000, "t1").has_value());
  CHECK_FALSE(
      t.table.mark_failed(JobFinish{301, JobState::cancelled, 1, 0, "x", 0, {}}, 1'000, "t1"));  // not executing
  CHECK(t.table.mark_completed(3, 1'000, 1) == 1);
  CHECK(t.table.mark_completed(3, 1'000, 1) == 0);  // already ended
  SQLite::Statement errors(t.db, "SELECT json_array_length(errors), errors ->> '$[0].error' FROM jobs WHERE id = 2");
  REQUIRE(errors.executeStep());
  CHECK(errors.getColumn(0).getInt() == 1);
  CHECK(errors.getColumn(1).getString() == "HTTP 400");
  // More than one statement's worth (128), and one id that is not executing.
  std::vector<std::int64_t> delivered;
  for (std::int64_t id = 4; id <= 301; ++id) delivered.push_back(id);
  CHECK(t.table.delete_executing(delivered) == 297);
  CHECK(t.state_of(301) == "available");
}

TEST_CASE("JobTable: a job leaving its batch becomes a row with its event id and first error") {
  Table t;
  JobFinish failed{42,
                   JobState::retryable,
                   1,
                   60'000,
                   "refused",
                   7,
                   R"({"id":"ev-1","action":"a.b","outcome":"success","occurred_at":"2026-11-29T10:00:00Z"})"};
  t.table.insert_left_job(failed, "a", 20, 1'000, "2026-11-29T10:00:00Z");
  SQLite::Statement row(t.db,
                        "SELECT event_id, state, attempt, max_attempts, scheduled_at, errors ->> '$[0].error' "
                        "FROM jobs WHERE id = 42");
  REQUIRE(row.executeStep());
  CHECK(row.getColumn(0).getString() == "ev-1");
  CHECK(row.getColumn(1).getString() == "retryable");
  CHECK(row.getColumn(2).getInt() == 1);
  CHECK(row.getColumn(3).getInt() == 20);
  CHECK(row.getColumn(4).getInt64() == 60'000);
  CHECK(row.getColumn(5).getString() == "refused");
  CHECK(t.table.ids_in_range("a", 40, 50) == std::vector<std::int64_t>{42});
  CHECK(t.table.ids_in_range("b", 40, 50).empty());
}

TEST_CASE("JobTable: pruning deletes only what its cutoffs expire") {
  Table t;
  t.db.exec(
      "INSERT INTO jobs (id, forwarder, event_id, state, max_attempts, payload, inserted_at, scheduled_at, "
      "finished_at) VALUES (1, 'a', 'e', 'completed', 5, '{}', 0, 0, 100), "
      "(2, 'a', 'e', 'completed', 5, '{}', 0, 0, 900), (3, 'a', 'e', 'discarded', 5, '{}', 0, 0, 100), "
      "(4, 'a', 'e', 'cancelled', 5, '{}', 0, 0, 900), (5, 'a', 'e', 'available', 5, '{}', 0, 0, NULL)");
  t.table.remember_id(remembered("old", 1, 1), 100, 0);
  t.table.remember_id(remembered("new", 1, 1), 900, 0);
  t.table.prune({500, 500, 500}, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  CHECK(t.state_of(1) == "<gone>");
  CHECK(t.state_of(2) == "completed");
  CHECK(t.state_of(3) == "<gone>");
  CHECK(t.state_of(4) == "cancelled");
  CHECK(t.state_of(5) == "available");
  CHECK(t.table.find_seen({"old", 1, ContentDigest{1}}, 0) == SeenStatus::unseen);
  CHECK(t.table.find_seen({"new", 1, ContentDigest{1}}, 0) == SeenStatus::duplicate);
}

TEST_CASE("JobTable: the rescue requeues unstarted jobs, retries cut-short attempts, discards a cut-short last one") {
  Table t;
  t.db.exec(
      "INSERT INTO jobs (id, forwarder, event_id, state, attempt, max_attempts, payload, inserted_at, "
      "scheduled_at, attempted_at) VALUES (1, 'a', 'e', 'executing', 0, 3, '{}', 0, 0, NULL), "
      "(2, 'a', 'e', 'executing', 1, 3, '{}', 0, 0, 5), (3, 'a', 'e', 'executing', 3, 3, '{}', 0, 0, 5)");
  const auto counts = t.table.rescue_interrupted(1'000, "now");
  CHECK(counts.requeued == 1);
  CHECK(counts.rescued == 1);
  CHECK(counts.discarded == 1);
  CHECK(t.state_of(1) == "available");
  CHECK(t.state_of(2) == "available");
  CHECK(t.state_of(3) == "discarded");
  t.db.exec("UPDATE jobs SET state = 'executing', attempt = 2 WHERE id = 2");
  CHECK(t.table.release_executing() == 1);
  SQLite::Statement attempt(t.db, "SELECT attempt FROM jobs WHERE id = 2");
  REQUIRE(attempt.executeStep());
  CHECK(attempt.getColumn(0).getInt() == 1);  // a graceful stop spends no attempt
}
