// fdatasync of the WAL on threads of its own: the writer never waits for the disk.
#include "store/wal_syncer.hpp"

#include "metrics/daemon_metrics.hpp"
#include "store/progress_clock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace auditfwd {

// The WAL file, opened again for fdatasync: a sync flushes the file (the
// inode), whichever descriptor wrote it. The path comes from SQLite (it
// resolves symbolic links), and SQLite keeps that file for as long as the
// writer's connection is open. One descriptor per syncing thread: Linux
// reports a writeback error once per descriptor, so each thread's next sync
// sees an error that happened while another thread's sync was running.
WalSyncer::WalSyncer(sqlite3* db, std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {
  const char* wal_path = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
  for (auto& fd : wal_fds_) {
    fd = ::open(wal_path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      for (const int opened : wal_fds_)
        if (opened >= 0) ::close(opened);
      throw std::runtime_error(fmt::format("cannot open {}: {}", wal_path, std::strerror(error)));
    }
  }
  // The WAL's directory entry must survive a power cut too.
  const auto directory = std::filesystem::path(wal_path).parent_path();
  const int directory_fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_fd < 0 || ::fsync(directory_fd) != 0)
    log_->warn("could not sync the directory of {} ({}): a power cut right now could lose the WAL's name", wal_path,
               std::strerror(errno));
  if (directory_fd >= 0) ::close(directory_fd);
}

WalSyncer::~WalSyncer() {
  stop();
  for (const int fd : wal_fds_)
    if (fd >= 0) ::close(fd);
}

void WalSyncer::start() {
  for (std::size_t k = 0; k < syncers_.size(); ++k)
    syncers_[k] = std::thread([this, slot = k + 1] {
      pthread_setname_np(pthread_self(), "auditfwd-sync");  // visible in top -H, perf, gdb
      sync_loop(slot);
    });
}

void WalSyncer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& syncer : syncers_)
    if (syncer.joinable()) syncer.join();
}

void WalSyncer::submit(std::shared_ptr<DurableCommit> commit) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(commit));
  }
  wake_.notify_one();
}

// Through descriptor `slot` (0: the writer, 1 and up: the syncers). Does not
// return if that fails: a failed fdatasync leaves it unknown which commits
// reached the disk, and as Linux reports the error only once, a later sync
// that succeeds would prove nothing. Like PostgreSQL, stop at once without
// answering the events it held (never acknowledged, so their senders send
// them again); systemd restarts the daemon and SQLite recovers from what is on disk.
void WalSyncer::sync(std::size_t slot) {
  const auto started = std::chrono::steady_clock::now();
  sync_started_ms_[slot] = steady_millis_now();
  const int synced = ::fdatasync(wal_fds_[slot]);
  const int error = errno;  // before anything else can touch it
  sync_started_ms_[slot] = 0;
  daemon_metrics().fsync_seconds.observe(std::chrono::steady_clock::now() - started);
  if (synced == 0) return;
  log_->critical(
      "fdatasync of the job store's WAL failed ({}); stopping without answering the events it held "
      "(exit 74): restart to recover from what reached the disk",
      std::strerror(error));
  spdlog::default_logger()->flush();
  log_->flush();
  std::_Exit(74);  // EX_IOERR
}

std::int64_t WalSyncer::oldest_sync_started_ms() const noexcept {
  std::int64_t oldest = 0;
  for (const auto& started : sync_started_ms_) {
    const auto at = started.load();
    if (at != 0 && (oldest == 0 || at < oldest)) oldest = at;
  }
  return oldest;
}

// The commits that arrived while an fdatasync ran are made durable by the next one.
void WalSyncer::sync_loop(std::size_t slot) {
  std::vector<std::shared_ptr<DurableCommit>> waiting;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      waiting.clear();
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;
      waiting.swap(queue_);
    }
    sync(slot);  // one fdatasync for every commit in `waiting`
    for (auto& commit : waiting) commit->mark_durable();
  }
}

}  // namespace auditfwd
