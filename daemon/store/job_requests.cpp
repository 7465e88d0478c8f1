// Enqueue, find_seen, claim and finish, as the writer runs them.
#include "store/job_requests.hpp"

#include "common/time_format.hpp"

#include <algorithm>

namespace auditfwd {

void JobRequests::enqueue(std::vector<EnqueueItem>& items, std::vector<EnqueueOutcome>& outcomes) {
  auto& delta = parts_.limits.transaction;
  const auto now = unix_millis_now();
  outcomes.assign(items.size(), EnqueueOutcome{});
  std::size_t job_count = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& item = items[i];
    auto& outcome = outcomes[i];
    if (!item.jobs.empty() && parts_.limits.over_limits(item.jobs.size())) {
      outcome.code = errc::store_full;
      ++delta.store_full;
      continue;
    }
    outcome.jobs = item.jobs.size();
    job_count += item.jobs.size();
    delta.pending += static_cast<std::int64_t>(item.jobs.size());
    delta.enqueued += item.jobs.size();
    // A batch compresses its events ~4x; maintenance measures the truth.
    delta.bytes += static_cast<std::int64_t>((item.payload.size() / 4 + 16) * item.jobs.size());
    if (item.remember_id) parts_.table.remember_id(item, now, now - parts_.config.idempotency_window.count());
  }
  if (job_count == 0) return;
  std::int64_t id = parts_.ids.take(job_count);
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& item = items[i];
    if (outcomes[i].code != errc::ok || item.jobs.empty()) continue;
    outcomes[i].first_job_id = id;
    for (std::size_t j = 0; j < item.jobs.size(); ++j, ++id) {
      const auto& job = item.jobs[j];
      auto& forwarder = parts_.forwarders[job.forwarder];
      forwarder.new_jobs = true;
      JobHandoff* handoff = parts_.router.reserve(forwarder, now);
      const auto batch_id =
          parts_.batches.add(job.forwarder, forwarder, handoff != nullptr, job.max_attempts, id, item.payload);
      if (!handoff) continue;
      ++delta.executing;
      // The last job of an item takes its payload; earlier ones copy it.
      parts_.router.hand(handoff,
                         ClaimedJob{id, 1, job.max_attempts,
                                    j + 1 == item.jobs.size() ? std::move(item.payload) : item.payload, batch_id});
    }
  }
}

void JobRequests::find_seen(const std::vector<IdempotencyKey>& keys, std::vector<SeenStatus>& seen) {
  const auto window_start = unix_millis_now() - parts_.config.idempotency_window.count();
  seen.assign(keys.size(), SeenStatus::unseen);
  for (std::size_t i = 0; i < keys.size(); ++i) seen[i] = parts_.table.find_seen(keys[i], window_start);
}

void JobRequests::claim(const std::string& forwarder, std::size_t max_jobs, std::size_t max_bytes,
                        std::vector<ClaimedJob>& jobs) {
  auto& delta = parts_.limits.transaction;
  const auto rows = parts_.table.claim_due(forwarder, unix_millis_now(), max_jobs, max_bytes, jobs);
  delta.table_executing += static_cast<std::int64_t>(rows);
  if (jobs.size() < max_jobs) parts_.batches.claim(forwarder, max_jobs, max_bytes, jobs);
  if (jobs.empty()) HandoffRouter::caught_up(parts_.forwarders[forwarder], parts_.table.next_scheduled(forwarder));
  delta.executing += static_cast<std::int64_t>(jobs.size());
  std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
}

void JobRequests::finish(const std::vector<JobFinish>& finishes) {
  auto& delta = parts_.limits.transaction;
  const auto now = unix_millis_now();
  const std::string now_text = format_rfc3339(now_micros());
  const bool keep_completed_rows = parts_.config.completed_retention.count() > 0;
  std::vector<std::int64_t> delivered;
  for (const auto& f : finishes) {
    if (f.batch_id != 0) {  // a job of a stored batch
      const auto* forwarder = parts_.batches.finish(f, now, now_text);
      if (!forwarder) continue;
      delta.executing -= 1;
      if (f.state == JobState::retryable)
        HandoffRouter::retry_scheduled(parts_.forwarders[*forwarder], f.scheduled_at_ms);
      else
        delta.pending -= 1;
      continue;
    }
    if (f.state == JobState::completed && !keep_completed_rows) {
      delivered.push_back(f.id);
      continue;
    }
    int changed = 0;
    if (f.state == JobState::completed) {
      changed = parts_.table.mark_completed(f.id, now, f.attempt);
    } else {
      const auto forwarder = parts_.table.mark_failed(f, now, now_text);
      changed = forwarder ? 1 : 0;
      if (f.state == JobState::retryable) {  // back to waiting: still pending, no longer executing
        delta.executing -= changed;
        delta.table_executing -= changed;
        // Due then, before newer jobs: from that time new jobs wait in the
        // table behind it instead of being handed over.
        if (forwarder) HandoffRouter::retry_scheduled(parts_.forwarders[*forwarder], f.scheduled_at_ms);
        continue;
      }
    }
    delta.executing -= changed;
    delta.table_executing -= changed;
    delta.pending -= changed;
  }
  const int removed = parts_.table.delete_executing(delivered);
  delta.pending -= removed;
  delta.executing -= removed;
  delta.table_executing -= removed;
}

}  // namespace auditfwd
