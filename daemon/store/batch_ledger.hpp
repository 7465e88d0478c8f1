// The happy path's bookkeeping: stored batches, from the commit that writes
// one to the transaction that deletes it once every job of it has ended.
#pragma once

#include "store/event_batch.hpp"
#include "store/forwarder_jobs.hpp"
#include "store/job_table.hpp"
#include "store/job_types.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <spdlog/logger.h>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace auditfwd {

// A transaction's new jobs of one forwarder become one row of `batches`: the
// events as one compressed blob (store/event_batch.hpp). Jobs handed over to
// workers and jobs left for a claim never share a batch (a claim reads whole
// batches). A job whose attempt fails leaves its batch for a row of the jobs
// table (same id), where the lifecycle goes on as for any job; a batch is
// deleted once every job of it has completed or left. Batches in delivery are
// tracked in memory ("live"); a crash forgets that, and the next start
// delivers their remaining jobs again (at least once). Writer thread only.
class BatchLedger {
 public:
  BatchLedger(SQLite::Database& db, JobTable& jobs, ForwarderDirectory& forwarders, std::shared_ptr<spdlog::logger> log,
              bool keep_completed_rows);

  // --- the running transaction's new jobs ---
  // Adds job `job_id` with its event to the transaction's open batch of
  // `forwarder_id` (handed over or not); returns that batch's id.
  std::int64_t add(const std::string& forwarder_id, ForwarderJobs& forwarder, bool handed, int max_attempts,
                   std::int64_t job_id, const std::string& payload);
  // Writes the open batches, one row each. Before COMMIT, and before a claim
  // in the same transaction: a claim must see every batch enqueued before it,
  // or it would report "caught up" and its cursor would pass a batch nobody
  // reads. A written batch takes no more jobs.
  void write_open(std::int64_t now_ms);

  // --- claims ---
  // Serves jobs of stored batches past `forwarder`'s cursor, oldest first,
  // appending to `jobs` up to `max_jobs` (and `max_bytes`, 0 = no limit, past
  // the first). At most one batch's jobs wait in memory per forwarder.
  void claim(const std::string& forwarder, std::size_t max_jobs, std::size_t max_bytes, std::vector<ClaimedJob>& jobs);
  // A claim rolled back gives its batch jobs back, first in line.
  void unclaim(const std::string& forwarder, std::vector<ClaimedJob>& jobs);

  // --- outcomes ---
  // The end of an attempt at a job of a live batch. Unless it completed (and
  // completed jobs keep no row), the job leaves the batch for a row of the
  // jobs table. Returns its forwarder, or null (logged) when its batch is not
  // in delivery.
  const std::string* finish(const JobFinish& finish, std::int64_t now_ms, const std::string& now_text);
  // Outcomes recorded so far in the running transaction: an operation rolled
  // back alone forgets those from its mark on.
  std::size_t outcomes_mark() const noexcept { return txn_done_.size(); }
  void forget_outcomes_from(std::size_t mark);

  // --- the end of the running transaction ---
  void committed();    // handed batches become live; outcomes count
  void rolled_back();  // nothing of it happened

  // --- emptied batches ---
  // Emptied batches wait to be deleted together with a later transaction's
  // new ones (at low rates a commit then writes one leaf page, not also the
  // page of the batch before it), or by maintenance within a second.
  std::size_t emptied() const noexcept { return batches_to_delete_.size(); }
  void delete_emptied();

  // A graceful stop: what completed in live batches is taken out of them,
  // so the next start delivers only what did not. Commits on its own.
  void record_progress_at_stop();

 private:
  // A batch of the running transaction.
  struct OpenBatch {
    std::int64_t id;
    std::string forwarder;
    bool handed;
    int max_attempts;
    EventBatchWriter writer;
    std::size_t jobs = 0;  // set when written
  };
  // A stored batch with jobs in delivery.
  struct LiveBatch {
    std::string forwarder;
    std::size_t outstanding;  // jobs neither ended nor left
    int max_attempts;
    // Jobs that completed with nothing recorded: a graceful stop takes them
    // out of the stored batch (a crash delivers them again: at least once).
    std::vector<std::int64_t> completed = {};
  };

  OpenBatch& open_batch(const std::string& id, ForwarderJobs& forwarder, bool handed, int max_attempts);
  void recycle_open_batches();
  bool load_next_batch(const std::string& forwarder, ForwarderJobs& state);
  void delete_row(std::int64_t batch_id);

  SQLite::Database& db_;
  JobTable& jobs_;
  ForwarderDirectory& forwarders_;
  std::shared_ptr<spdlog::logger> log_;
  const bool keep_completed_rows_;  // store.completed_retention > 0
  SQLite::Statement insert_, next_, delete_;

  std::int64_t next_batch_id_ = 1;
  std::vector<OpenBatch> open_;                  // the running transaction's batches
  std::vector<EventBatchWriter> spare_writers_;  // their buffers, kept for the next transactions
  std::vector<char> blob_buffer_;                // the compressed blob being inserted
  std::unordered_map<std::int64_t, LiveBatch> live_;
  // Per batch job ended in the running transaction: its batch, and its id if
  // it completed with nothing recorded, else 0.
  std::vector<std::pair<std::int64_t, std::int64_t>> txn_done_;
  std::unordered_map<std::int64_t, std::size_t> txn_done_count_;  // the same, counted per batch
  std::vector<std::int64_t> batches_to_delete_;  // every job ended or left; deleted in a later transaction
};

}  // namespace auditfwd
