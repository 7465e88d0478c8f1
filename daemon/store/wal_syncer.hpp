// Makes commits durable (fdatasync of the WAL) beside the writer, for durability "fsync".
#pragma once

#include "store/durable_commit.hpp"

#include <spdlog/logger.h>
#include <sqlite3.h>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace auditfwd {

// Group commit, second half. The writer commits with synchronous=NORMAL (no
// sync inside COMMIT) and hands each commit's DurableCommit here; a syncer
// thread's fdatasync of the WAL then covers every commit written before it,
// and only then are those DurableCommits completed (and their replies
// written), while the writer already runs the next transaction. Two syncers:
// a commit that lands while one fdatasync is in flight starts its own at once
// instead of waiting for that one to end.
class WalSyncer {
 public:
  // Opens the WAL of `db` (the writer's connection, in WAL mode) once per
  // syncing thread and syncs its directory. Throws std::runtime_error.
  WalSyncer(sqlite3* db, std::shared_ptr<spdlog::logger> log);
  ~WalSyncer();
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;

  void start();
  // Syncs what was submitted, completes it, and joins the threads. Idempotent.
  void stop();

  // Writer thread, after a commit: `commit` completes once on disk.
  void submit(std::shared_ptr<DurableCommit> commit);
  // Writer thread: makes every commit written so far durable, now.
  void sync_now() { sync(0); }

  // Any thread: when (steady clock, ms) the oldest fdatasync still running
  // began; 0 when none runs. A disk that hangs keeps it in the past.
  std::int64_t oldest_sync_started_ms() const noexcept;

 private:
  void sync(std::size_t slot);
  void sync_loop(std::size_t slot);

  static constexpr std::size_t syncer_count = 2;
  std::shared_ptr<spdlog::logger> log_;
  std::array<int, syncer_count + 1> wal_fds_{-1, -1, -1};  // the writer's, then one per syncer
  std::array<std::thread, syncer_count> syncers_;
  std::array<std::atomic<std::int64_t>, syncer_count + 1> sync_started_ms_{};  // per slot, 0 when idle
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<DurableCommit>> queue_;
  bool stopping_ = false;
};

}  // namespace auditfwd
