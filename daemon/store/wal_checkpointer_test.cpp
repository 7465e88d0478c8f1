// Unit tests for WalCheckpointer: the WAL stays bounded under commits that never pause.
#include "store/wal_checkpointer.hpp"

#include "store/schema.hpp"
#include "support/temp_store.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <filesystem>
#include <thread>

using namespace auditfwd;

namespace {

// The WAL's size after `commits` back-to-back commits of a page each.
std::uintmax_t wal_bytes_after(const std::string& path, int commits, bool checkpointer_on) {
  auto db = open_store_database(path, false);
  db.exec("PRAGMA wal_autocheckpoint=0");  // SQLite's own checkpoints would hide the difference
  db.exec("CREATE TABLE t (x BLOB)");
  std::optional<WalCheckpointer> checkpointer;
  if (checkpointer_on) {
    checkpointer.emplace(db, path, false, spdlog::default_logger(), WalCheckpointer::Thresholds{16, 4, 64});
    checkpointer->start();
  }
  SQLite::Statement insert(db, "INSERT INTO t VALUES (zeroblob(3000))");
  for (int commit = 0; commit < commits; ++commit) {
    insert.exec();
    insert.reset();
    // Now and then a pause, so the checkpointer's thread gets to run on a busy machine.
    if (commit % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (checkpointer) checkpointer->stop();
  return std::filesystem::file_size(path + "-wal");
}

}  // namespace

TEST_CASE("WalCheckpointer: the WAL is copied back and restarted while commits go on") {
  testing::TempStore with, without;
  const auto bounded = wal_bytes_after(with.config.path, 4000, true);
  const auto unbounded = wal_bytes_after(without.config.path, 4000, false);
  CHECK(unbounded > 4000u * 4096u);  // every commit's page stays in the WAL
  // The WAL starts over from its head once a checkpoint completes. How far it
  // grows meanwhile depends on how fast the checkpointer's thread copies, so
  // only the order of magnitude is checked.
  CHECK(bounded < unbounded / 4);
}
