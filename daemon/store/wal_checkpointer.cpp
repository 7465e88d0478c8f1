// PASSIVE checkpoints beside the writer, and the writer finishing them.
#include "store/wal_checkpointer.hpp"

#include "store/schema.hpp"

#include <pthread.h>
#include <sqlite3.h>
#include <chrono>
#include <optional>

namespace auditfwd {

WalCheckpointer::WalCheckpointer(SQLite::Database& writer, std::string path, bool durability_fsync,
                                 std::shared_ptr<spdlog::logger> log, Thresholds thresholds)
    : writer_(writer),
      path_(std::move(path)),
      durability_fsync_(durability_fsync),
      log_(std::move(log)),
      thresholds_(thresholds) {
  sqlite3_wal_hook(writer_.getHandle(), &WalCheckpointer::on_wal_commit, this);
}

WalCheckpointer::~WalCheckpointer() {
  stop();
  sqlite3_wal_hook(writer_.getHandle(), nullptr, nullptr);
}

void WalCheckpointer::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "auditfwd-ckpt");  // visible in top -H, perf, gdb
    loop();
  });
}

void WalCheckpointer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

// Called by SQLite on the writer's thread after each commit with the WAL's
// size in frames.
int WalCheckpointer::on_wal_commit(void* self, sqlite3*, const char*, int frames) {
  static_cast<WalCheckpointer*>(self)->after_commit(frames);
  return SQLITE_OK;
}

void WalCheckpointer::after_commit(int frames) {
  bool finish_here = false, wake_checkpointer = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::running) return;
    finish_here = state_ == State::copied &&
                  (frames - backfilled_ <= thresholds_.tail_frames || frames >= thresholds_.limit_frames);
    if (!finish_here) {
      wake_checkpointer = frames >= thresholds_.bulk_frames;  // a (further) bulk pass
      state_ = wake_checkpointer ? State::running : State::idle;
    }
  }
  if (wake_checkpointer) wake_.notify_one();
  if (!finish_here) return;
  int wal_frames = 0, copied = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(writer_.getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    log_->warn("WAL checkpoint failed ({}); the WAL keeps growing until one succeeds", sqlite3_errstr(rc));
  std::lock_guard lock(mutex_);
  state_ = State::idle;
}

// Woken by the writer (see after_commit), and once a second to catch up after writes stop.
void WalCheckpointer::loop() {
  std::optional<SQLite::Database> connection;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      const bool woken =
          wake_.wait_for(lock, std::chrono::seconds(1), [&] { return state_ == State::running || stopping_; });
      if (stopping_) return;
      if (!woken) {
        if (state_ != State::idle) continue;
        state_ = State::running;
      }
    }
    int copied = -1;
    try {
      if (!connection) connection.emplace(open_store_database(path_, durability_fsync_));
      int wal_frames = 0;
      const int rc =
          sqlite3_wal_checkpoint_v2(connection->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log_->warn("WAL checkpoint failed ({}); the WAL keeps growing until one succeeds", sqlite3_errstr(rc));
        copied = -1;
      }
    } catch (const std::exception& e) {
      log_->warn("WAL checkpointer cannot open the database: {}", e.what());
      connection.reset();
    }
    std::lock_guard lock(mutex_);
    backfilled_ = copied;
    state_ = copied >= 0 ? State::copied : State::idle;
  }
}

}  // namespace auditfwd
