// Pending jobs and bytes against store.max_pending_jobs and store.max_bytes.
#include "store/store_limits.hpp"

#include "common/time_format.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>
#include <algorithm>

namespace auditfwd {

StoreLimits::StoreLimits(const StoreConfig& config, std::atomic<bool>& full, std::shared_ptr<spdlog::logger> log)
    : config_(config), full_(full), log_(std::move(log)) {}

bool StoreLimits::over_limits(std::size_t new_jobs) const {
  const auto pending = pending_jobs_ + transaction.pending;
  if (pending + static_cast<std::int64_t>(new_jobs) > static_cast<std::int64_t>(config_.max_pending_jobs)) return true;
  return config_.max_bytes != 0 && used_bytes_ + transaction.bytes >= static_cast<std::int64_t>(config_.max_bytes);
}

void StoreLimits::apply(const StoreDelta& committed, bool ok, bool changed_rows) {
  if (ok) {
    pending_jobs_ = std::max<std::int64_t>(0, pending_jobs_ + committed.pending);
    executing_jobs_ = std::max<std::int64_t>(0, executing_jobs_ + committed.executing);
    table_executing_ = std::max<std::int64_t>(0, table_executing_ + committed.table_executing);
    used_bytes_ = std::max<std::int64_t>(0, used_bytes_ + committed.bytes);
  }
  {
    std::lock_guard lock(counters_mutex_);
    if (ok && changed_rows) counters_.commits++;
    if (ok) counters_.jobs_enqueued += committed.enqueued;
    counters_.store_full_rejections += committed.store_full;
    counters_.pending_jobs = static_cast<std::uint64_t>(pending_jobs_);
    counters_.used_bytes = static_cast<std::uint64_t>(used_bytes_);
  }
  if (committed.store_full > 0)
    log_->warn(
        "store_full: {} event(s) refused for async delivery (pending jobs {}, limit {}; used bytes {}, limit {})",
        committed.store_full, pending_jobs_, config_.max_pending_jobs, used_bytes_, config_.max_bytes);
}

void StoreLimits::count_commit_failure() {
  std::lock_guard lock(counters_mutex_);
  counters_.commit_failures++;
}

void StoreLimits::recount_pending(std::int64_t waiting_rows, std::int64_t in_batches) {
  pending_jobs_ = waiting_rows + table_executing_ + in_batches;
  std::lock_guard lock(counters_mutex_);
  counters_.pending_jobs = static_cast<std::uint64_t>(pending_jobs_);
}

void StoreLimits::measure_used_bytes(SQLite::Database& db) {
  const auto pages = db.execAndGet("PRAGMA page_count").getInt64();
  const auto free_pages = db.execAndGet("PRAGMA freelist_count").getInt64();
  const auto page_size = db.execAndGet("PRAGMA page_size").getInt64();
  used_bytes_ = (pages - free_pages) * page_size;
  std::lock_guard lock(counters_mutex_);
  counters_.used_bytes = static_cast<std::uint64_t>(used_bytes_);
}

void StoreLimits::update_full_flag() {
  const bool now_full = pending_jobs_ >= static_cast<std::int64_t>(config_.max_pending_jobs) ||
                        (config_.max_bytes != 0 && used_bytes_ >= static_cast<std::int64_t>(config_.max_bytes));
  if (now_full == full_.exchange(now_full)) return;
  if (now_full)
    log_->warn(
        "job store full (pending jobs {} / {}, bytes {} / {}): async results are store_full, auto falls back to sync",
        pending_jobs_, config_.max_pending_jobs, used_bytes_, config_.max_bytes);
  else
    log_->info("job store below its limits again (pending jobs {}, bytes {})", pending_jobs_, used_bytes_);
}

StoreCounters StoreLimits::counters() const {
  StoreCounters snapshot;
  {
    std::lock_guard lock(counters_mutex_);
    snapshot = counters_;
  }
  snapshot.store_full_rejections += refused_while_full_.load(std::memory_order_relaxed);
  return snapshot;
}

void StoreLimits::publish(SQLite::Database& db, bool healthy) {
  const auto snapshot = counters();
  const auto body = fmt::format(
      R"("pending_jobs":{},"executing_jobs":{},"used_bytes":{},"jobs_enqueued":{},"store_full_rejections":{},)"
      R"("commit_failures":{},"commits":{},"healthy":{},"full":{})",
      pending_jobs_, executing_jobs_, used_bytes_, snapshot.jobs_enqueued, snapshot.store_full_rejections,
      snapshot.commit_failures, snapshot.commits, healthy, full_.load());
  // Unchanged figures are written again every few seconds all the same: a row
  // older than that tells `jobs stats` that the daemon is gone or cannot write.
  const auto now = std::chrono::steady_clock::now();
  if (body == last_published_ && now - last_published_at_ < counters_heartbeat) return;
  SQLite::Statement upsert(db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('counters', ?1)");
  upsert.bind(1, fmt::format(R"({{"updated_at":"{}",{}}})", format_rfc3339(now_micros()), body));
  upsert.exec();
  last_published_ = body;
  last_published_at_ = now;
}

}  // namespace auditfwd
