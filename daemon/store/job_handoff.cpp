// The bounded queue between the store's writer and a forwarder's workers.
#include "store/job_handoff.hpp"

namespace auditfwd {

bool JobHandoff::try_reserve() noexcept {
  // Only the writer reserves, so a load and a store cannot race each other;
  // workers only ever lower the count.
  if (reserved_.load(std::memory_order_acquire) >= capacity_) return false;
  reserved_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

void JobHandoff::cancel_reservations(std::size_t count) noexcept {
  reserved_.fetch_sub(count, std::memory_order_acq_rel);
}

void JobHandoff::push(std::vector<ClaimedJob>& jobs) {
  std::lock_guard lock(mutex_);
  for (auto& job : jobs) jobs_.push_back(std::move(job));
  jobs.clear();
}

void JobHandoff::take(std::vector<ClaimedJob>& out, std::size_t max_jobs, std::size_t max_bytes) {
  std::size_t taken = 0, bytes = 0;
  {
    std::lock_guard lock(mutex_);
    while (!jobs_.empty() && taken < max_jobs) {
      const auto size = jobs_.front().payload.size();
      if (taken > 0 && max_bytes != 0 && bytes + size > max_bytes) break;
      bytes += size;
      out.push_back(std::move(jobs_.front()));
      jobs_.pop_front();
      ++taken;
    }
  }
  if (taken > 0) reserved_.fetch_sub(taken, std::memory_order_acq_rel);
}

}  // namespace auditfwd
