// Unit tests for JobIdSequence: ids never reused, across rollbacks and restarts.
#include "store/job_id_sequence.hpp"

#include "store/schema.hpp"
#include "support/temp_store.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("JobIdSequence: consecutive ids, and a restart continues past everything reserved") {
  testing::TempStore temp;
  std::int64_t last = 0;
  {
    auto db = open_store_database(temp.config.path, false);
    JobIdSequence ids(db);
    db.exec("BEGIN");
    CHECK(ids.take(3) == 1);
    CHECK(ids.take(2) == 4);
    last = ids.take(JobIdSequence::block) + JobIdSequence::block - 1;  // a second block
    db.exec("COMMIT");
    ids.committed();
  }
  auto db = open_store_database(temp.config.path, false);
  JobIdSequence ids(db);
  // No row holds those ids: only the reservation in meta remembers them.
  CHECK(ids.take(1) > last);
}

TEST_CASE("JobIdSequence: a rolled-back reservation is made again by the next transaction") {
  testing::TempStore temp;
  auto db = open_store_database(temp.config.path, false);
  JobIdSequence ids(db);
  db.exec("BEGIN");
  const auto first = ids.take(10);
  db.exec("ROLLBACK");
  ids.rolled_back();
  CHECK(ids.reserved() == 0);
  db.exec("BEGIN");
  const auto next = ids.take(1);
  db.exec("COMMIT");
  ids.committed();
  CHECK(next > first);  // ids handed out in memory are not reused either
  CHECK(db.execAndGet("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'job_ids_reserved'").getInt64() >= next);
}
