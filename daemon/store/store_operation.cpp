// The kinds of store request: their results, failures and completions.
#include "store/store_operation.hpp"

#include "store/job_requests.hpp"

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>

namespace auditfwd {
namespace asio = boost::asio;
namespace {

// Runs `handler(args...)` on the handler's own executor, keeping that executor's
// context alive until it has run.
template <typename Handler, typename... Args>
void complete_on_own_executor(Handler handler, Args... args) {
  // The store thread never runs an executor, so execute() queues the call
  // rather than running it inline.
  auto tracked = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
  tracked.execute([handler = std::move(handler), tracked, ... args = std::move(args)]() mutable {
    std::move(handler)(std::move(args)...);
  });
}

class EnqueueOperation final : public StoreOperation {
 public:
  EnqueueOperation(std::vector<EnqueueItem> items, EnqueueHandler handler)
      : items_(std::move(items)), handler_(std::move(handler)) {}
  void execute(JobRequests& requests) override { requests.enqueue(items_, outcomes_); }
  bool needs_durable_commit() const override { return true; }
  std::size_t events() const override { return items_.size(); }
  void fail() override { outcomes_.assign(items_.size(), EnqueueOutcome{errc::store_error}); }
  void complete() override { complete_on_own_executor(std::move(handler_), std::move(outcomes_), std::move(durable)); }

 private:
  std::vector<EnqueueItem> items_;
  std::vector<EnqueueOutcome> outcomes_;
  EnqueueHandler handler_;
};

class FindSeenOperation final : public StoreOperation {
 public:
  FindSeenOperation(std::vector<IdempotencyKey> keys, FindSeenHandler handler)
      : keys_(std::move(keys)), handler_(std::move(handler)) {}
  void execute(JobRequests& requests) override { requests.find_seen(keys_, seen_); }
  // A found id was remembered by an earlier commit, which may still wait for
  // its fdatasync: a "duplicate" reply must not get ahead of it.
  bool needs_durable_commit() const override {
    return std::any_of(seen_.begin(), seen_.end(), [](SeenStatus status) { return status != SeenStatus::unseen; });
  }
  void fail() override {
    seen_.assign(keys_.size(), SeenStatus::unseen);
    error_ = errc::store_error;
  }
  void complete() override {
    complete_on_own_executor(std::move(handler_), error_, std::move(seen_), std::move(durable));
  }

 private:
  std::vector<IdempotencyKey> keys_;
  std::vector<SeenStatus> seen_;
  boost::system::error_code error_;
  FindSeenHandler handler_;
};

class ClaimOperation final : public StoreOperation {
 public:
  ClaimOperation(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes, ClaimHandler handler)
      : forwarder_(std::move(forwarder)), max_jobs_(max_jobs), max_bytes_(max_bytes), handler_(std::move(handler)) {}
  void execute(JobRequests& requests) override { requests.claim(forwarder_, max_jobs_, max_bytes_, jobs_); }
  void rolled_back(JobRequests& requests) override { requests.unclaim(forwarder_, jobs_); }
  void fail() override {
    jobs_.clear();
    error_ = errc::store_error;
  }
  void complete() override { complete_on_own_executor(std::move(handler_), error_, std::move(jobs_)); }

 private:
  std::string forwarder_;
  std::size_t max_jobs_, max_bytes_;
  std::vector<ClaimedJob> jobs_;
  boost::system::error_code error_;
  ClaimHandler handler_;
};

class FinishOperation final : public StoreOperation {
 public:
  FinishOperation(std::vector<JobFinish> finishes, bool memory_only, FinishHandler handler)
      : finishes_(std::move(finishes)), memory_only_(memory_only), handler_(std::move(handler)) {}
  bool needs_transaction() const override { return !memory_only_; }
  void execute(JobRequests& requests) override { requests.finish(finishes_); }
  // Only small ones: under load the writer has the time now, not later.
  bool can_wait() const override { return finishes_.size() < small_commit_events; }
  void fail() override { error_ = errc::store_error; }
  void complete() override { complete_on_own_executor(std::move(handler_), error_); }

 private:
  std::vector<JobFinish> finishes_;
  bool memory_only_ = false;
  boost::system::error_code error_;
  FinishHandler handler_;
};

class DeferredOutcomes final : public StoreOperation {
 public:
  explicit DeferredOutcomes(std::vector<JobFinish> finishes) : finishes_(std::move(finishes)) {}
  void execute(JobRequests& requests) override { requests.finish(finishes_); }
  bool needs_transaction() const override { return false; }
  void fail() override {}
  void complete() override {}

 private:
  std::vector<JobFinish> finishes_;
};

}  // namespace

std::unique_ptr<StoreOperation> enqueue_operation(std::vector<EnqueueItem> items, EnqueueHandler handler) {
  return std::make_unique<EnqueueOperation>(std::move(items), std::move(handler));
}

std::unique_ptr<StoreOperation> find_seen_operation(std::vector<IdempotencyKey> keys, FindSeenHandler handler) {
  return std::make_unique<FindSeenOperation>(std::move(keys), std::move(handler));
}

class SetHandoffOperation final : public StoreOperation {
 public:
  SetHandoffOperation(std::string forwarder, std::shared_ptr<JobHandoff> handoff, FinishHandler handler)
      : forwarder_(std::move(forwarder)), handoff_(std::move(handoff)), handler_(std::move(handler)) {}
  bool needs_transaction() const override { return false; }
  void execute(JobRequests& requests) override { requests.set_handoff(forwarder_, std::move(handoff_)); }
  void fail() override {}  // a change of memory only: a rolled back transaction does not undo it
  void complete() override { complete_on_own_executor(std::move(handler_), boost::system::error_code{}); }

 private:
  std::string forwarder_;
  std::shared_ptr<JobHandoff> handoff_;
  FinishHandler handler_;
};

std::unique_ptr<StoreOperation> set_handoff_operation(std::string forwarder, std::shared_ptr<JobHandoff> handoff,
                                                      FinishHandler handler) {
  return std::make_unique<SetHandoffOperation>(std::move(forwarder), std::move(handoff), std::move(handler));
}

std::unique_ptr<StoreOperation> claim_operation(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes,
                                                ClaimHandler handler) {
  return std::make_unique<ClaimOperation>(std::move(forwarder), max_jobs, max_bytes, std::move(handler));
}

std::unique_ptr<StoreOperation> finish_operation(std::vector<JobFinish> finishes, bool memory_only,
                                                 FinishHandler handler) {
  return std::make_unique<FinishOperation>(std::move(finishes), memory_only, std::move(handler));
}

std::unique_ptr<StoreOperation> deferred_outcomes_operation(std::vector<JobFinish> finishes) {
  return std::make_unique<DeferredOutcomes>(std::move(finishes));
}

bool only_completed_batch_jobs(const std::vector<JobFinish>& finishes) {
  return std::all_of(finishes.begin(), finishes.end(),
                     [](const JobFinish& f) { return f.batch_id != 0 && f.state == JobState::completed; });
}

}  // namespace auditfwd
