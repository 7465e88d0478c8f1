// The SQL the store's writer runs on the jobs and seen_ids tables: every
// statement prepared once, on the writer's connection, in one place.
#pragma once

#include "store/job_handoff.hpp"
#include "store/job_types.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace auditfwd {

// Resets a cached statement however its use ends, so a failed step never
// leaves it busy (SQLite would refuse every later bind).
struct StatementReset {
  SQLite::Statement& statement;
  ~StatementReset() { statement.tryReset(); }
};

// Rows older than these (unix ms) are pruned.
struct PruneCutoffs {
  std::int64_t completed_before;
  std::int64_t dead_before;      // discarded and cancelled
  std::int64_t seen_ids_before;  // the idempotency window's start
};

// What the start-up rescue did to jobs a crash left `executing`.
struct RescueCounts {
  int requeued = 0;   // handed to a worker, no attempt recorded: back in line as they were
  int rescued = 0;    // attempt cut short: retried
  int discarded = 0;  // the last allowed attempt cut short
};

// Writes use OR FAIL: a failing statement keeps its earlier rows instead of
// undoing them, so SQLite skips the statement journal (a copy of every page the
// statement touches). The writer runs each request in its own savepoint, and a
// failure rolls that back whole, so nothing half-done is ever committed.
class JobTable {
 public:
  explicit JobTable(SQLite::Database& db);

  // --- the idempotency window ---
  // Remembers `item`'s id for its sender and content; an expired row not
  // pruned yet is taken over, a live one is kept.
  void remember_id(const EnqueueItem& item, std::int64_t now_ms, std::int64_t window_start_ms);
  SeenStatus find_seen(const IdempotencyKey& key, std::int64_t window_start_ms);

  // --- claims ---
  // Marks up to `max_jobs` due rows of `forwarder` executing (past the first,
  // up to `max_bytes` of payload; 0 = no limit) and appends them to `out`.
  // Returns how many.
  std::size_t claim_due(const std::string& forwarder, std::int64_t now_ms, std::size_t max_jobs, std::size_t max_bytes,
                        std::vector<ClaimedJob>& out);
  // The earliest scheduled_at of a waiting row of `forwarder`; INT64_MAX when none waits.
  std::int64_t next_scheduled(const std::string& forwarder);

  // --- outcomes of rows in delivery (each returns the rows it changed) ---
  int mark_completed(std::int64_t id, std::int64_t now_ms, int attempt);
  // Retryable, discarded or cancelled, with the error appended. Returns the
  // job's forwarder when a row changed.
  std::optional<std::string> mark_failed(const JobFinish& finish, std::int64_t now_ms, const std::string& now_text);
  // Deletes delivered rows still `executing`.
  int delete_executing(const std::vector<std::int64_t>& ids);

  // --- jobs that leave a stored batch for a row of their own ---
  void insert_left_job(const JobFinish& finish, const std::string& forwarder, int max_attempts, std::int64_t now_ms,
                       const std::string& now_text);
  // Ids (sorted) of the rows of `forwarder` between `first` and `last`.
  std::vector<std::int64_t> ids_in_range(const std::string& forwarder, std::int64_t first, std::int64_t last);

  // --- maintenance ---
  std::int64_t count_waiting();
  std::int64_t highest_id();
  // The `jobs` CLI bumps this when it changes pending jobs behind the daemon's back.
  std::string admin_generation();
  // Deletes expired rows, 1,000 per statement, until done or `deadline`.
  void prune(const PruneCutoffs& cutoffs, std::chrono::steady_clock::time_point deadline);
  // Oban's rescue, at start-up: jobs a crash left `executing`.
  RescueCounts rescue_interrupted(std::int64_t now_ms, const std::string& now_text);
  // A graceful stop: jobs in delivery go back to `available`, their attempt not spent.
  int release_executing();

  // After a failed transaction: no statement may stay busy.
  void reset_statements();

 private:
  SQLite::Database& db_;
  SQLite::Statement remember_id_, find_seen_, claim_due_, next_scheduled_, mark_completed_, mark_failed_, delete_jobs_,
      delete_job_, insert_left_job_, ids_in_range_, admin_generation_;
};

}  // namespace auditfwd
