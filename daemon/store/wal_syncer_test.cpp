// Unit tests for WalSyncer: a commit's waiters run only after an fdatasync that began after it.
#include "store/wal_syncer.hpp"

#include "store/schema.hpp"
#include "support/temp_store.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

using namespace auditfwd;
namespace asio = boost::asio;

TEST_CASE("WalSyncer: every submitted commit completes, also those still queued at stop") {
  testing::TempStore temp;
  auto db = open_store_database(temp.config.path, true);
  db.exec("CREATE TABLE t (x)");
  asio::io_context io;
  int durable = 0;
  {
    WalSyncer syncer(db.getHandle(), spdlog::default_logger());
    syncer.start();
    for (int commit = 0; commit < 50; ++commit) {
      db.exec("INSERT INTO t VALUES (1)");
      auto done = std::make_shared<DurableCommit>();
      done->async_wait(asio::bind_executor(io, [&] { ++durable; }));
      syncer.submit(done);
    }
    syncer.sync_now();  // the writer's own descriptor works too
    syncer.stop();
  }
  io.run();
  CHECK(durable == 50);
}

TEST_CASE("WalSyncer: refuses to start without a WAL to sync") {
  testing::TempStore temp;
  SQLite::Database memory(":memory:");
  CHECK_THROWS_AS(WalSyncer(memory.getHandle(), spdlog::default_logger()), std::runtime_error);
}
