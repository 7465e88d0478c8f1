// What each request to the store does inside the writer's transaction.
#pragma once

#include "config/config.hpp"
#include "store/batch_ledger.hpp"
#include "store/forwarder_jobs.hpp"
#include "store/handoff_router.hpp"
#include "store/job_id_sequence.hpp"
#include "store/job_table.hpp"
#include "store/job_types.hpp"
#include "store/store_limits.hpp"

#include <string>
#include <vector>

namespace auditfwd {

// The bodies of the store's requests, on the writer thread, inside the
// running transaction (each in its own savepoint). Every statement that can
// fail comes before the changes in memory that cannot, so a request rolled
// back alone is undone by its savepoint and the writer's marks.
class JobRequests {
 public:
  struct Parts {
    const StoreConfig& config;
    JobTable& table;
    BatchLedger& batches;
    HandoffRouter& router;
    JobIdSequence& ids;
    StoreLimits& limits;
    ForwarderDirectory& forwarders;
  };
  explicit JobRequests(Parts parts) : parts_(parts) {}

  // A job per NewJob of each item (consecutive ids per item), into the
  // transaction's batches and hand-offs; or store_full past the limits.
  void enqueue(std::vector<EnqueueItem>& items, std::vector<EnqueueOutcome>& outcomes);
  void find_seen(const std::vector<IdempotencyKey>& keys, std::vector<SeenStatus>& seen);
  // Rows of the jobs table first (retries, and jobs the CLI made available),
  // then stored batches; sorted by id.
  void claim(const std::string& forwarder, std::size_t max_jobs, std::size_t max_bytes, std::vector<ClaimedJob>& jobs);
  void unclaim(const std::string& forwarder, std::vector<ClaimedJob>& jobs) { parts_.batches.unclaim(forwarder, jobs); }
  void finish(const std::vector<JobFinish>& finishes);
  // New jobs of `forwarder` go to `handoff` (null: the table). A new hand-off
  // waits until a claim finds the forwarder caught up (older jobs go first).
  void set_handoff(const std::string& forwarder, std::shared_ptr<JobHandoff> handoff) {
    auto& jobs = parts_.forwarders[forwarder];
    jobs.handoff = std::move(handoff);
    jobs.may_have_due_jobs = true;
  }

 private:
  Parts parts_;
};

}  // namespace auditfwd
