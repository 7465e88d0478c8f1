// What the store's writer knows of each forwarder's jobs.
#pragma once

#include "store/job_handoff.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

namespace auditfwd {

struct ForwarderJobs {
  // Hand-off routing (HandoffRouter).
  std::shared_ptr<JobHandoff> handoff;  // set before the store starts, or none
  // False once a claim found no due job, until a job is stored for a claim or
  // the earliest waiting job falls due.
  bool may_have_due_jobs = true;
  std::int64_t next_retry_due_ms = INT64_MAX;  // earliest scheduled_at waiting in the table
  bool new_jobs = false;                       // in the running transaction

  // Stored batches (BatchLedger).
  std::size_t open_batch = SIZE_MAX;  // the running transaction's batch it adds to, if any
  std::int64_t claim_cursor = 0;      // the last batch handed over or claimed
  std::deque<ClaimedJob> loaded;      // jobs of claimed batches not served yet
};

// Forwarder id → ForwarderJobs. Writer thread only.
class ForwarderDirectory {
 public:
  // The entry of `id`, made on first use. Consecutive jobs nearly always name
  // the same forwarder: that one is found without hashing.
  ForwarderJobs& operator[](const std::string& id) {
    if (last_ && *last_id_ == id) return *last_;
    auto& entry = *forwarders_.try_emplace(id).first;  // references stay valid: node-based map
    last_id_ = &entry.first;
    last_ = &entry.second;
    return entry.second;
  }
  auto begin() { return forwarders_.begin(); }
  auto end() { return forwarders_.end(); }

 private:
  std::unordered_map<std::string, ForwarderJobs> forwarders_;
  const std::string* last_id_ = nullptr;
  ForwarderJobs* last_ = nullptr;
};

}  // namespace auditfwd
