// The store's limits (store.max_pending_jobs, store.max_bytes) and counters.
#pragma once

#include "config/config.hpp"

#include <SQLiteCpp/Database.h>
#include <spdlog/logger.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace auditfwd {

// How often a running daemon rewrites its published counters even when they
// are unchanged; `jobs stats` takes a row much older than this as stale.
inline constexpr std::chrono::seconds counters_heartbeat{5};
inline constexpr std::chrono::seconds counters_stale_after{15};

struct StoreCounters {
  std::uint64_t pending_jobs = 0;
  std::uint64_t used_bytes = 0;
  std::uint64_t jobs_enqueued = 0;
  std::uint64_t store_full_rejections = 0;
  std::uint64_t commit_failures = 0;
  std::uint64_t commits = 0;
};

// What the operations of one transaction changed, applied on commit only.
struct StoreDelta {
  std::int64_t pending = 0;
  std::int64_t executing = 0;
  std::int64_t table_executing = 0;  // the part of `executing` that is rows of the jobs table
  std::int64_t bytes = 0;
  std::uint64_t enqueued = 0;
  std::uint64_t store_full = 0;
};

// Pending jobs and used bytes as the writer counts them: exact at start-up
// and whenever the `jobs` CLI changed jobs, kept up to date by each commit's
// StoreDelta in between. Sets the `full` flag the dispatcher reads. Writer
// thread, except counters() and count_refusal_while_full().
class StoreLimits {
 public:
  StoreLimits(const StoreConfig& config, std::atomic<bool>& full, std::shared_ptr<spdlog::logger> log);

  // The running transaction's changes; the writer saves and restores it
  // around each operation, so one rolled back alone leaves no trace.
  StoreDelta transaction;

  // True when `new_jobs` more jobs, on top of the running transaction's,
  // would pass store.max_pending_jobs, or store.max_bytes is already reached.
  bool over_limits(std::size_t new_jobs) const;

  // After a transaction: `committed` holds the changes of its operations that
  // succeeded; `ok` says whether it committed; `changed_rows`, whether it
  // wrote anything (an idle worker's empty claim must not count as a commit).
  void apply(const StoreDelta& committed, bool ok, bool changed_rows);
  void count_commit_failure();
  // Counts an async result refused as store_full before reaching the store. Any thread.
  void count_refusal_while_full() noexcept { refused_while_full_.fetch_add(1, std::memory_order_relaxed); }

  // Exact figures: jobs waiting in the table or inside stored batches (those
  // in delivery are counted in memory), and the database's size.
  void recount_pending(std::int64_t waiting_rows, std::int64_t in_batches);
  void measure_used_bytes(SQLite::Database& db);

  // Sets or clears the `full` flag (logging the change) from the figures.
  void update_full_flag();

  // Any thread.
  StoreCounters counters() const;
  // Writes the counters where `auditfwd jobs stats` reads them (meta), when
  // they changed since the last time or counters_heartbeat has passed.
  void publish(SQLite::Database& db, bool healthy);

 private:
  const StoreConfig& config_;
  std::atomic<bool>& full_;
  std::shared_ptr<spdlog::logger> log_;
  std::int64_t pending_jobs_ = 0;     // available + retryable + executing
  std::int64_t executing_jobs_ = 0;   // claimed and not finished
  std::int64_t table_executing_ = 0;  // the part of it that is rows of the jobs table
  std::int64_t used_bytes_ = 0;
  std::atomic<std::uint64_t> refused_while_full_{0};
  std::string last_published_;
  std::chrono::steady_clock::time_point last_published_at_{};
  mutable std::mutex counters_mutex_;
  StoreCounters counters_;  // the figures above, for other threads
};

}  // namespace auditfwd
