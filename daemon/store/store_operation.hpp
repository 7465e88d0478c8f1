// One request queued for the store's writer, and how each kind is made.
#pragma once

#include "store/durable_commit.hpp"
#include "store/job_handoff.hpp"
#include "store/job_types.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace auditfwd {

class JobRequests;

// execute() runs inside the writer's shared transaction; on commit the
// effects count, on rollback fail() turns the result into an error; either
// way complete() hands the result to the waiting caller, on its own executor.
struct StoreOperation {
  virtual ~StoreOperation() = default;
  virtual void execute(JobRequests& requests) = 0;
  virtual void fail() = 0;
  virtual void complete() = 0;
  // Called before fail() when the operation's changes were rolled back: gives
  // back what it took from the writer's memory.
  virtual void rolled_back(JobRequests&) {}
  // True (asked after execute()) when the client's reply depends on this
  // operation being on disk. With durability "fsync" such an operation gets
  // `durable` before complete(), and passes it on with its result.
  virtual bool needs_durable_commit() const { return false; }
  std::shared_ptr<DurableCommit> durable;
  // Events this operation enqueues (how much of a transaction it fills).
  virtual std::size_t events() const { return 0; }
  // True when nobody is in a hurry for this operation: it may wait briefly to
  // share a commit.
  virtual bool can_wait() const { return false; }
  // False when execute() changes only the writer's memory (no statement).
  virtual bool needs_transaction() const { return true; }
};

// Delivery outcomes fewer than this may wait up to a millisecond to share a commit.
inline constexpr std::size_t small_commit_events = 32;

using EnqueueHandler =
    boost::asio::any_completion_handler<void(std::vector<EnqueueOutcome>, std::shared_ptr<DurableCommit>)>;
using FindSeenHandler = boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<SeenStatus>,
                                                                 std::shared_ptr<DurableCommit>)>;
using ClaimHandler = boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<ClaimedJob>)>;
using FinishHandler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

std::unique_ptr<StoreOperation> enqueue_operation(std::vector<EnqueueItem> items, EnqueueHandler handler);
std::unique_ptr<StoreOperation> find_seen_operation(std::vector<IdempotencyKey> keys, FindSeenHandler handler);
std::unique_ptr<StoreOperation> claim_operation(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes,
                                                ClaimHandler handler);
// `memory_only`: every outcome is a completed job of a stored batch that
// leaves no row, so no statement (and no transaction) is needed.
std::unique_ptr<StoreOperation> finish_operation(std::vector<JobFinish> finishes, bool memory_only,
                                                 FinishHandler handler);
// Memory only: new jobs of `forwarder` go to `handoff` (null: to the table).
std::unique_ptr<StoreOperation> set_handoff_operation(std::string forwarder, std::shared_ptr<JobHandoff> handoff,
                                                      FinishHandler handler);
// Outcomes JobStore::finish_without_commit recorded: memory only, nobody waits.
std::unique_ptr<StoreOperation> deferred_outcomes_operation(std::vector<JobFinish> finishes);

// True when every outcome in `finishes` is a completed job of a stored batch.
bool only_completed_batch_jobs(const std::vector<JobFinish>& finishes);

}  // namespace auditfwd
