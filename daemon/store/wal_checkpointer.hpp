// Keeps the job store's WAL short without stalling the writer's commits.
#pragma once

#include <SQLiteCpp/Database.h>
#include <spdlog/logger.h>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace auditfwd {

// The checkpointer copies the bulk of the WAL into the database on a thread
// and connection of its own (PASSIVE checkpoints never block the writer);
// then the writer itself copies the few frames committed meanwhile. That
// completes the checkpoint, and the next transaction starts the WAL over from
// its head. (A checkpoint beside a writer that never pauses never completes:
// the WAL would only grow, and every commit would wake the checkpointer for a
// few frames and two syncs.)
class WalCheckpointer {
 public:
  // In WAL frames (pages). The defaults, at 4 KiB pages: a bulk pass past 8 MiB,
  // the writer finishes a tail of ~1 MiB, and past 64 MiB it copies any tail,
  // however long, so the WAL stays bounded under a load that never pauses.
  // (A reader holding an old snapshot, such as a long `jobs list`, can still
  // hold it back.)
  struct Thresholds {
    int bulk_frames = 2048;
    int tail_frames = 256;
    int limit_frames = 8 * 2048;
  };

  // Hooks into `writer` (sqlite3_wal_hook): after_commit runs on the writer's
  // thread after each of its commits. The checkpointer's own connection opens
  // `path` with open_store_database.
  WalCheckpointer(SQLite::Database& writer, std::string path, bool durability_fsync,
                  std::shared_ptr<spdlog::logger> log, Thresholds thresholds);
  WalCheckpointer(SQLite::Database& writer, std::string path, bool durability_fsync,
                  std::shared_ptr<spdlog::logger> log)
      : WalCheckpointer(writer, std::move(path), durability_fsync, std::move(log), Thresholds{}) {}
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  void start();
  void stop();  // idempotent

 private:
  static int on_wal_commit(void* self, sqlite3*, const char*, int frames);
  void after_commit(int frames);
  void loop();

  SQLite::Database& writer_;
  const std::string path_;
  const bool durability_fsync_;
  std::shared_ptr<spdlog::logger> log_;
  const Thresholds thresholds_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  enum class State { idle, running, copied };  // copied: the bulk pass is done
  State state_ = State::idle;
  int backfilled_ = 0;  // frames the last bulk pass copied
  bool stopping_ = false;
};

}  // namespace auditfwd
