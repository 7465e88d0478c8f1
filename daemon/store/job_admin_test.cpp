// Unit tests for the jobs CLI's store actions, including operations larger than one chunk.
#include "store/job_admin.hpp"

#include "store/schema.hpp"
#include "support/temp_store.hpp"

#include <doctest/doctest.h>
#include <unistd.h>
#include <filesystem>

using namespace auditfwd;

namespace {

struct TempDatabase : testing::TempStore {
  std::string path = config.path;

  void insert(int count, const char* state, const char* forwarder = "f") {
    auto db = open_store_database(path, false);
    SQLite::Statement insert(db,
                             "INSERT INTO jobs (forwarder, event_id, state, attempt, max_attempts, payload, "
                             "inserted_at, scheduled_at, finished_at) VALUES (?1, 'e', ?2, 3, 3, '{}', 0, 0, 0)");
    db.exec("BEGIN");
    for (int i = 0; i < count; ++i) {
      insert.bind(1, forwarder);
      insert.bind(2, state);
      insert.exec();
      insert.reset();
    }
    db.exec("COMMIT");
  }
};

}  // namespace

TEST_CASE("retry and purge cover more rows than one chunk, and honour --forwarder") {
  TempDatabase temp;
  temp.insert(2500, "discarded");
  temp.insert(10, "discarded", "other");
  temp.insert(7, "cancelled");
  CHECK(retry_all_in_state(temp.path, JobState::discarded, std::string("f")) == 2500);
  auto available = list_jobs(temp.path, JobState::available, std::nullopt, 10000);
  CHECK(available.size() == 2500);
  CHECK(available.front().max_attempts == 4);  // room for one more attempt
  CHECK(list_jobs(temp.path, JobState::discarded, std::nullopt, 100).size() == 10);
  CHECK(purge_jobs(temp.path, JobState::discarded, std::nullopt) == 10);
  CHECK(purge_jobs(temp.path, JobState::cancelled, std::nullopt) == 7);
  CHECK_THROWS(purge_jobs(temp.path, JobState::available, std::nullopt));
  const auto stats = store_stats(temp.path);
  REQUIRE(stats.jobs_by_state.size() == 1);
  CHECK(std::get<2>(stats.jobs_by_state[0]) == 2500);
}

TEST_CASE("retry by id touches only dead or waiting jobs") {
  TempDatabase temp;
  temp.insert(3, "discarded");
  temp.insert(1, "executing");
  CHECK(retry_jobs(temp.path, {1, 2, 4, 99}) == 2);
  CHECK(list_jobs(temp.path, JobState::available, std::nullopt, 10).size() == 2);
  CHECK(list_jobs(temp.path, JobState::executing, std::nullopt, 10).size() == 1);
}
