// Stored batches: written per commit, served to claims, deleted once emptied.
#include "store/batch_ledger.hpp"

#include "store/batch_rewrite.hpp"

#include <SQLiteCpp/Transaction.h>
#include <algorithm>

namespace auditfwd {

BatchLedger::BatchLedger(SQLite::Database& db, JobTable& jobs, ForwarderDirectory& forwarders,
                         std::shared_ptr<spdlog::logger> log, bool keep_completed_rows)
    : db_(db),
      jobs_(jobs),
      forwarders_(forwarders),
      log_(std::move(log)),
      keep_completed_rows_(keep_completed_rows),
      insert_(db,
              "INSERT INTO batches (id, forwarder, first_job, last_job, events, max_attempts, inserted_at, "
              "payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
      // The rowid order from the cursor on, not an index: one page per
      // commit at low rates instead of two.
      next_(db,
            "SELECT id, max_attempts, payload, first_job, last_job FROM batches "
            "WHERE id > ?2 AND forwarder = ?1 ORDER BY id LIMIT 1"),
      delete_(db, "DELETE FROM batches WHERE id = ?1") {
  next_batch_id_ = db.execAndGet("SELECT coalesce(max(id), 0) + 1 FROM batches").getInt64();
}

std::int64_t BatchLedger::add(const std::string& forwarder_id, ForwarderJobs& forwarder, bool handed, int max_attempts,
                              std::int64_t job_id, const std::string& payload) {
  auto& batch = open_batch(forwarder_id, forwarder, handed, max_attempts);
  batch.writer.add(job_id, payload);
  return batch.id;
}

// One per forwarder, except that handed and claimable jobs, and jobs with
// different max_attempts, never share one.
BatchLedger::OpenBatch& BatchLedger::open_batch(const std::string& id, ForwarderJobs& forwarder, bool handed,
                                                int max_attempts) {
  if (forwarder.open_batch < open_.size()) {
    auto& current = open_[forwarder.open_batch];
    if (current.handed == handed && current.max_attempts == max_attempts) return current;
  }
  forwarder.open_batch = open_.size();
  EventBatchWriter writer;
  if (!spare_writers_.empty()) {  // a buffer of an earlier transaction: no fresh pages to fault in
    writer = std::move(spare_writers_.back());
    spare_writers_.pop_back();
  }
  return open_.emplace_back(OpenBatch{next_batch_id_++, id, handed, max_attempts, std::move(writer)});
}

void BatchLedger::write_open(std::int64_t now_ms) {
  for (std::size_t k = 0; k < open_.size(); ++k) {
    auto& batch = open_[k];
    if (batch.writer.jobs() == 0) continue;
    if (auto& forwarder = forwarders_[batch.forwarder]; forwarder.open_batch == k) forwarder.open_batch = SIZE_MAX;
    batch.jobs = batch.writer.jobs();
    const auto first = batch.writer.first_job_id(), last = batch.writer.last_job_id();
    const auto blob_size = batch.writer.finish_into(blob_buffer_);
    StatementReset reset{insert_};
    insert_.bind(1, static_cast<int64_t>(batch.id));
    insert_.bindNoCopy(2, batch.forwarder);
    insert_.bind(3, static_cast<int64_t>(first));
    insert_.bind(4, static_cast<int64_t>(last));
    insert_.bind(5, static_cast<int64_t>(batch.jobs));
    insert_.bind(6, batch.max_attempts);
    insert_.bind(7, static_cast<int64_t>(now_ms));
    insert_.bindNoCopy(8, blob_buffer_.data(), static_cast<int>(blob_size));
    insert_.exec();
  }
}

void BatchLedger::claim(const std::string& forwarder, std::size_t max_jobs, std::size_t max_bytes,
                        std::vector<ClaimedJob>& jobs) {
  auto& state = forwarders_[forwarder];
  std::size_t bytes = 0;
  for (const auto& job : jobs) bytes += job.payload.size();
  for (;;) {
    while (!state.loaded.empty() && jobs.size() < max_jobs &&
           (jobs.empty() || max_bytes == 0 || bytes + state.loaded.front().payload.size() <= max_bytes)) {
      bytes += state.loaded.front().payload.size();
      jobs.push_back(std::move(state.loaded.front()));
      state.loaded.pop_front();
    }
    if (!state.loaded.empty() || jobs.size() >= max_jobs || !load_next_batch(forwarder, state)) return;
  }
}

void BatchLedger::unclaim(const std::string& forwarder, std::vector<ClaimedJob>& jobs) {
  auto& loaded = forwarders_[forwarder].loaded;
  for (auto job = jobs.rbegin(); job != jobs.rend(); ++job)
    if (job->batch_id != 0) loaded.push_front(std::move(*job));
  jobs.clear();
}

// Reads the next batch past the cursor into `state.loaded`, less the jobs
// that left it. False when there is none.
bool BatchLedger::load_next_batch(const std::string& forwarder, ForwarderJobs& state) {
  for (;;) {
    StatementReset reset{next_};
    next_.bind(1, forwarder);
    next_.bind(2, static_cast<int64_t>(state.claim_cursor));
    if (!next_.executeStep()) return false;
    const auto batch_id = next_.getColumn(0).getInt64();
    const int max_attempts = next_.getColumn(1).getInt();
    const auto first = next_.getColumn(3).getInt64(), last = next_.getColumn(4).getInt64();
    state.claim_cursor = batch_id;
    // Written early for this claim (see write_open), but handed over: its
    // jobs reach the workers after the commit, not through a claim.
    if (std::any_of(open_.begin(), open_.end(),
                    [&](const OpenBatch& open) { return open.id == batch_id && open.handed; }))
      continue;
    std::vector<BatchJob> batch;
    try {
      const auto blob = next_.getColumn(2);
      batch = decode_event_batch(
          std::string_view(static_cast<const char*>(blob.getBlob()), static_cast<std::size_t>(blob.getBytes())));
    } catch (const CorruptBatch& e) {
      log_->critical("stored batch {} of forwarder {} cannot be read ({}); its jobs are not delivered", batch_id,
                     forwarder, e.what());
      continue;
    }
    const auto left = jobs_.ids_in_range(forwarder, first, last);
    std::size_t remaining = 0;
    for (auto& job : batch) {
      if (std::binary_search(left.begin(), left.end(), job.job_id)) continue;
      state.loaded.push_back(ClaimedJob{job.job_id, 1, max_attempts, std::move(job.payload), batch_id});
      ++remaining;
    }
    if (remaining == 0) {
      batches_to_delete_.push_back(batch_id);  // every job left it before a crash
      continue;
    }
    live_.emplace(batch_id, LiveBatch{forwarder, remaining, max_attempts});
    return true;
  }
}

const std::string* BatchLedger::finish(const JobFinish& f, std::int64_t now_ms, const std::string& now_text) {
  const auto live = live_.find(f.batch_id);
  if (live == live_.end()) {
    log_->error("an outcome for job {} names batch {}, which is not in delivery (ignored)", f.id, f.batch_id);
    return nullptr;
  }
  const bool keep_row = f.state != JobState::completed || keep_completed_rows_;
  if (keep_row) jobs_.insert_left_job(f, live->second.forwarder, live->second.max_attempts, now_ms, now_text);
  txn_done_.push_back({f.batch_id, keep_row ? 0 : f.id});
  // A batch whose last job leaves it goes in the same transaction, which
  // writes anyway: never a moment where a purged row's job shows again.
  if (++txn_done_count_[f.batch_id] == live->second.outstanding && keep_row) delete_row(f.batch_id);
  return &live->second.forwarder;
}

void BatchLedger::forget_outcomes_from(std::size_t mark) {
  if (mark >= txn_done_.size()) return;
  txn_done_.resize(mark);
  txn_done_count_.clear();
  for (const auto& done : txn_done_) ++txn_done_count_[done.first];
}

void BatchLedger::committed() {
  // Handed batches are in delivery; the claim cursor passes them.
  for (auto& batch : open_) {
    auto& forwarder = forwarders_[batch.forwarder];
    forwarder.open_batch = SIZE_MAX;
    if (!batch.handed || batch.jobs == 0) continue;
    live_.emplace(batch.id, LiveBatch{batch.forwarder, batch.jobs, batch.max_attempts});
    forwarder.claim_cursor = std::max(forwarder.claim_cursor, batch.id);
  }
  recycle_open_batches();
  // The batch jobs that ended in it.
  for (const auto& [batch_id, job_id] : txn_done_) {
    const auto live = live_.find(batch_id);
    if (live != live_.end() && job_id != 0) live->second.completed.push_back(job_id);
  }
  for (const auto& [batch_id, done] : txn_done_count_) {
    const auto live = live_.find(batch_id);
    if (live == live_.end()) continue;
    live->second.outstanding -= std::min(done, live->second.outstanding);
    if (live->second.outstanding != 0) continue;
    // Deleted with later new batches, or by maintenance within a second: a
    // crash before then delivers its jobs again (at least once).
    batches_to_delete_.push_back(batch_id);
    live_.erase(live);
  }
  txn_done_count_.clear();
  txn_done_.clear();
}

void BatchLedger::rolled_back() {
  for (auto& batch : open_) forwarders_[batch.forwarder].open_batch = SIZE_MAX;
  recycle_open_batches();
  txn_done_count_.clear();
  txn_done_.clear();
}

void BatchLedger::recycle_open_batches() {
  for (auto& batch : open_) {
    batch.writer.clear();
    if (spare_writers_.size() < 2) spare_writers_.push_back(std::move(batch.writer));  // one or two forwarders' worth
  }
  open_.clear();
}

void BatchLedger::delete_row(std::int64_t batch_id) {
  StatementReset reset{delete_};
  delete_.bind(1, static_cast<int64_t>(batch_id));
  delete_.exec();
}

void BatchLedger::delete_emptied() {
  for (const auto batch_id : batches_to_delete_) delete_row(batch_id);
  batches_to_delete_.clear();
}

void BatchLedger::record_progress_at_stop() {
  std::size_t rewritten = 0;
  try {
    SQLite::Transaction transaction(db_);
    delete_emptied();
    SQLite::Statement range(db_, "SELECT first_job, last_job FROM batches WHERE id = ?1");
    for (auto& [batch_id, live] : live_) {
      if (live.completed.empty()) continue;
      range.bind(1, static_cast<int64_t>(batch_id));
      if (!range.executeStep()) {
        range.reset();
        continue;
      }
      // The jobs that left it go too: they live on as rows of the jobs table.
      const auto left =
          jobs_.ids_in_range(live.forwarder, range.getColumn(0).getInt64(), range.getColumn(1).getInt64());
      range.reset();
      std::sort(live.completed.begin(), live.completed.end());
      drop_jobs_from_batch(db_, batch_id, [&](std::int64_t job_id) {
        return std::binary_search(live.completed.begin(), live.completed.end(), job_id) ||
               std::binary_search(left.begin(), left.end(), job_id);
      });
      ++rewritten;
    }
    transaction.commit();
    if (rewritten > 0) log_->info("recorded what completed in {} batch(es) still in delivery at shutdown", rewritten);
  } catch (const std::exception& e) {
    log_->error(
        "could not record the deliveries of batches in flight at shutdown (the next start delivers them "
        "again): {}",
        e.what());
  }
  live_.clear();
}

}  // namespace auditfwd
