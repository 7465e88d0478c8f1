// The store's single writer: queued requests, one transaction per turn.
#pragma once

#include "config/config.hpp"
#include "store/batch_ledger.hpp"
#include "store/forwarder_jobs.hpp"
#include "store/handoff_router.hpp"
#include "store/job_id_sequence.hpp"
#include "store/job_requests.hpp"
#include "store/job_table.hpp"
#include "store/store_limits.hpp"
#include "store/store_operation.hpp"
#include "store/wal_checkpointer.hpp"
#include "store/wal_syncer.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <spdlog/logger.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace auditfwd {

// Owns the database connection and the thread that writes it. Requests from
// any thread are queued and run in one transaction per turn (group commit):
// every request that arrives while a commit is in progress shares the next
// one. Each request runs in its own savepoint, so one that fails for its own
// reasons fails alone; a failing disk or a failed COMMIT fails them all.
class StoreWriter {
 public:
  // Opens the database, rescues jobs a crash left executing, and counts what
  // is pending. Throws when the database cannot be opened.
  StoreWriter(StoreConfig config, std::atomic<bool>& healthy, std::atomic<bool>& full);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void add_handoff(const std::string& forwarder, std::shared_ptr<JobHandoff> handoff);
  void start(std::function<void(const std::vector<std::string>&)> on_jobs_committed);
  // Runs every queued request, records what completed in batches in delivery,
  // puts jobs still executing back to available. Idempotent.
  void stop();

  // Any thread. After stop(), the operation fails at once.
  void submit(std::unique_ptr<StoreOperation> operation);
  // Outcomes that change only the writer's memory wait for its next turn
  // (within a second) instead of waking it. True when `finishes` were such.
  bool defer_if_memory_only(std::vector<JobFinish>& finishes);
  // True when a completed job leaves nothing behind (no completed_retention).
  bool completed_leave_no_row() const noexcept { return config_.completed_retention.count() == 0; }

  StoreCounters counters() const { return limits_.counters(); }

  // Any thread: how long the writer (or an fdatasync of its syncers) has
  // shown no progress. The writer turns at least once a second when idle.
  std::chrono::milliseconds stalled_for() const noexcept;
  void count_refusal_while_full() noexcept { limits_.count_refusal_while_full(); }

 private:
  void rescue_interrupted_jobs();
  void run();
  std::vector<std::unique_ptr<StoreOperation>> next_turn();
  void run_transaction(std::vector<std::unique_ptr<StoreOperation>>& operations);
  void run_operation(StoreOperation& operation, StoreDelta& committed, bool transaction);
  void complete(std::vector<std::unique_ptr<StoreOperation>>& operations, bool ok);
  void announce_new_jobs();
  void on_failure(int code, const char* what);
  void maintain();
  void recount_pending();
  void run_cached(SQLite::Statement& statement);

  StoreConfig config_;
  std::atomic<bool>& healthy_;
  std::shared_ptr<spdlog::logger> log_;
  SQLite::Database db_;
  SQLite::Statement begin_, commit_, savepoint_, release_savepoint_;

  ForwarderDirectory forwarders_;
  JobTable table_;
  JobIdSequence ids_;
  StoreLimits limits_;
  HandoffRouter router_;
  BatchLedger batches_;
  JobRequests requests_;
  WalCheckpointer checkpointer_;
  std::optional<WalSyncer> syncer_;  // durability "fsync" only

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<StoreOperation>> queue_;
  std::vector<JobFinish> deferred_outcomes_;  // see defer_if_memory_only
  bool stopping_ = false;
  std::function<void(const std::vector<std::string>&)> on_jobs_committed_;
  std::chrono::steady_clock::time_point next_maintenance_;
  std::atomic<std::int64_t> last_turn_ms_{0};  // steady clock: the writer's last turn began
  std::string last_admin_generation_;
  // Failure lines: at most one a second (see on_failure).
  std::chrono::steady_clock::time_point next_failure_log_{};
  std::size_t failures_not_logged_ = 0;
};

}  // namespace auditfwd
