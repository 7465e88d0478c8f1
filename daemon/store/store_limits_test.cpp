// Unit tests for StoreLimits: the limits, the full flag and the counters.
#include "store/store_limits.hpp"

#include "store/schema.hpp"
#include "support/temp_store.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

using namespace auditfwd;

TEST_CASE("StoreLimits: max_pending_jobs counts the running transaction, and sets the full flag once committed") {
  StoreConfig config;
  config.max_pending_jobs = 3;
  std::atomic<bool> full{false};
  StoreLimits limits(config, full, spdlog::default_logger());
  limits.recount_pending(1, 0);
  CHECK_FALSE(limits.over_limits(2));
  CHECK(limits.over_limits(3));
  limits.transaction.pending = 2;  // this transaction's enqueues so far
  CHECK(limits.over_limits(1));
  limits.apply(limits.transaction, /*ok=*/false, true);  // rolled back: nothing counts
  limits.update_full_flag();
  CHECK_FALSE(full);
  CHECK(limits.counters().pending_jobs == 1);
  limits.apply(limits.transaction, /*ok=*/true, true);
  limits.update_full_flag();
  CHECK(full);
  CHECK(limits.counters().pending_jobs == 3);
  CHECK(limits.counters().commits == 1);
  limits.apply(StoreDelta{-1, 0, 0, 0, 0, 0}, true, false);  // wrote nothing: not a commit
  limits.update_full_flag();
  CHECK_FALSE(full);
  CHECK(limits.counters().commits == 1);
}

TEST_CASE("StoreLimits: max_bytes from the database's size; refusals counted from any path") {
  testing::TempStore temp;
  auto db = open_store_database(temp.config.path, false);
  temp.config.max_bytes = 4096;  // smaller than any database
  std::atomic<bool> full{false};
  StoreLimits limits(temp.config, full, spdlog::default_logger());
  CHECK_FALSE(limits.over_limits(1));
  limits.measure_used_bytes(db);
  CHECK(limits.counters().used_bytes >= 4096);
  CHECK(limits.over_limits(1));
  limits.update_full_flag();
  CHECK(full);
  limits.apply(StoreDelta{0, 0, 0, 0, 0, 2}, true, true);
  limits.count_refusal_while_full();
  CHECK(limits.counters().store_full_rejections == 3);
  limits.publish(db, true);
  const auto published = db.execAndGet("SELECT value FROM meta WHERE key = 'counters'").getString();
  CHECK(published.find(R"("store_full_rejections":3)") != std::string::npos);
  CHECK(published.find(R"("full":true)") != std::string::npos);
}
