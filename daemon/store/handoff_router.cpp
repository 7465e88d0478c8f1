// Hand-off routing: fresh jobs to idle workers, without overtaking waiting ones.
#include "store/handoff_router.hpp"

namespace auditfwd {

JobHandoff* HandoffRouter::reserve(ForwarderJobs& forwarder, std::int64_t now_ms) {
  if (now_ms >= forwarder.next_retry_due_ms) {  // a retry fell due: it goes first
    forwarder.may_have_due_jobs = true;
    forwarder.next_retry_due_ms = INT64_MAX;
  }
  if (forwarder.handoff && !forwarder.may_have_due_jobs && forwarder.handoff->try_reserve())
    return forwarder.handoff.get();
  forwarder.may_have_due_jobs = true;
  return nullptr;
}

void HandoffRouter::assume_due_jobs() {
  for (auto& [id, forwarder] : forwarders_) forwarder.may_have_due_jobs = true;
}

// The jobs from `mark` on wait for a claim instead (their transaction or
// operation was rolled back), so every forwarder may have due jobs again.
void HandoffRouter::cancel_from(std::size_t mark) {
  for (std::size_t k = mark; k < handed_.size(); ++k) handed_[k].first->cancel_reservations(1);
  handed_.resize(std::min(mark, handed_.size()));
  assume_due_jobs();
}

void HandoffRouter::push_all() {
  std::vector<ClaimedJob> jobs;
  while (!handed_.empty()) {
    JobHandoff* target = handed_.front().first;
    jobs.clear();
    std::size_t kept = 0;
    for (auto& [handoff, job] : handed_) {
      if (handoff == target)
        jobs.push_back(std::move(job));
      else
        handed_[kept++] = {handoff, std::move(job)};
    }
    handed_.resize(kept);
    target->push(jobs);
  }
}

}  // namespace auditfwd
