// The job store's public face: requests become operations for the writer.
#include "store/job_store.hpp"

#include "store/store_operation.hpp"
#include "store/store_writer.hpp"

namespace auditfwd {

std::string_view to_string(JobState state) noexcept {
  switch (state) {
    case JobState::available: return "available";
    case JobState::executing: return "executing";
    case JobState::retryable: return "retryable";
    case JobState::completed: return "completed";
    case JobState::discarded: return "discarded";
    case JobState::cancelled: return "cancelled";
  }
  return "available";
}

std::optional<JobState> parse_job_state(std::string_view text) noexcept {
  for (auto state : {JobState::available, JobState::executing, JobState::retryable, JobState::completed,
                     JobState::discarded, JobState::cancelled})
    if (to_string(state) == text) return state;
  return std::nullopt;
}

JobStore::JobStore(StoreConfig config) : writer_(std::make_unique<StoreWriter>(std::move(config), healthy_, full_)) {}

JobStore::~JobStore() { stop(); }

void JobStore::start(std::function<void(const std::vector<std::string>&)> on_jobs_committed) {
  writer_->start(std::move(on_jobs_committed));
}

void JobStore::add_handoff(const std::string& forwarder, std::shared_ptr<JobHandoff> handoff) {
  writer_->add_handoff(forwarder, std::move(handoff));
}

void JobStore::stop() { writer_->stop(); }

void JobStore::count_store_full_refusal() noexcept { writer_->count_refusal_while_full(); }

StoreCounters JobStore::counters() const { return writer_->counters(); }

void JobStore::submit_enqueue(std::vector<EnqueueItem> items, EnqueueHandler handler) {
  writer_->submit(enqueue_operation(std::move(items), std::move(handler)));
}

void JobStore::submit_find_seen(std::vector<IdempotencyKey> keys, FindSeenHandler handler) {
  writer_->submit(find_seen_operation(std::move(keys), std::move(handler)));
}

void JobStore::submit_claim(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes, ClaimHandler handler) {
  writer_->submit(claim_operation(std::move(forwarder), max_jobs, max_bytes, std::move(handler)));
}

void JobStore::submit_set_handoff(std::string forwarder, std::shared_ptr<JobHandoff> handoff, FinishHandler handler) {
  writer_->submit(set_handoff_operation(std::move(forwarder), std::move(handoff), std::move(handler)));
}

std::chrono::milliseconds JobStore::stalled_for() const noexcept { return writer_->stalled_for(); }

bool JobStore::finish_without_commit(std::vector<JobFinish>& finishes) {
  return writer_->defer_if_memory_only(finishes);
}

void JobStore::submit_finish(std::vector<JobFinish> finishes, FinishHandler handler) {
  const bool memory_only = writer_->completed_leave_no_row() && only_completed_batch_jobs(finishes);
  writer_->submit(finish_operation(std::move(finishes), memory_only, std::move(handler)));
}

}  // namespace auditfwd
