// Which new jobs go straight to a forwarder's workers, and which wait for a claim.
#pragma once

#include "store/forwarder_jobs.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace auditfwd {

// A new job goes straight to its forwarder's JobHandoff while that has room
// and no older due job of the forwarder waits in the store (those go first,
// so a forwarder's jobs keep their order); otherwise it waits for a claim,
// and so, from then on, do the next ones until a claim finds the forwarder
// caught up. Jobs handed over in a transaction reach the workers only after
// its commit. Writer thread only.
class HandoffRouter {
 public:
  explicit HandoffRouter(ForwarderDirectory& forwarders) : forwarders_(forwarders) {}

  // A handoff with room for one new job of `forwarder`, reserved; null when
  // the job must wait for a claim.
  JobHandoff* reserve(ForwarderJobs& forwarder, std::int64_t now_ms);
  // `job`, reserved in `handoff`, reaches it after the commit.
  void hand(JobHandoff* handoff, ClaimedJob job) { handed_.emplace_back(handoff, std::move(job)); }

  // A retry of `forwarder` is due at `due_ms`: from then on its new jobs wait behind it.
  static void retry_scheduled(ForwarderJobs& forwarder, std::int64_t due_ms) {
    forwarder.next_retry_due_ms = std::min(forwarder.next_retry_due_ms, due_ms);
  }
  // A claim found no due job of `forwarder`: hand new jobs over again until
  // the earliest waiting one falls due at `next_due_ms`.
  static void caught_up(ForwarderJobs& forwarder, std::int64_t next_due_ms) {
    forwarder.may_have_due_jobs = false;
    forwarder.next_retry_due_ms = next_due_ms;
  }
  // The `jobs` CLI may have made jobs available: claim before handing over.
  void assume_due_jobs();

  // Jobs handed over so far in the running transaction: an operation rolled
  // back alone cancels those from its mark on.
  std::size_t mark() const noexcept { return handed_.size(); }
  void cancel_from(std::size_t mark);

  // After the commit: hands each forwarder its jobs, in commit order.
  void push_all();

 private:
  ForwarderDirectory& forwarders_;
  std::vector<std::pair<JobHandoff*, ClaimedJob>> handed_;  // the running transaction's
};

}  // namespace auditfwd
