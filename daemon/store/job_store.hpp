// The durable job table (SQLite, WAL, one writer thread) behind every async delivery.
#pragma once

#include "config/config.hpp"
#include "store/durable_commit.hpp"
#include "store/job_handoff.hpp"
#include "store/job_types.hpp"
#include "store/store_limits.hpp"
#include "store/store_operation.hpp"

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace auditfwd {

class StoreWriter;

// The durable job table behind every async delivery: SQLite in WAL mode, one
// writer thread (store/store_writer.hpp). Requests from any thread are queued
// and run in one transaction per turn (group commit): every request that
// arrives while a commit is in progress shares the next one. Completion
// handlers run on their own associated executors, after the commit.
class JobStore {
 public:
  // Opens (creating if needed) the database, applies the schema and rescues
  // jobs left `executing` by a crash. Throws std::runtime_error when the
  // database cannot be opened: a broken environment, not an expected outcome.
  explicit JobStore(StoreConfig config);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Before start(): new jobs of `forwarder` go straight to `handoff` while it
  // has room and no older due job of that forwarder waits in the table.
  void add_handoff(const std::string& forwarder, std::shared_ptr<JobHandoff> handoff);

  // After start() (a reload): new jobs of `forwarder` go to `handoff` from the
  // writer's next turn on, or, with null, only to the table. Completes
  // (signature void(error_code)) after the commit that handed the last jobs to
  // the hand-off it replaced: from then on that one gets no more.
  template <typename Token>
  auto async_set_handoff(std::string forwarder, std::shared_ptr<JobHandoff> handoff, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler, std::string handed_for, std::shared_ptr<JobHandoff> new_handoff) {
          submit_set_handoff(std::move(handed_for), std::move(new_handoff), std::move(handler));
        },
        token, std::move(forwarder), std::move(handoff));
  }

  // Starts the writer thread. `on_jobs_committed` runs on that thread after each
  // commit with the ids of forwarders that got new jobs; keep it quick.
  void start(std::function<void(const std::vector<std::string>&)> on_jobs_committed);

  // Runs every queued request, puts jobs still `executing` back to `available`,
  // and closes the database. Idempotent.
  void stop();

  // True while the store can take jobs: healthy (last commit succeeded) and
  // below store.max_pending_jobs and store.max_bytes. `auto` dispatch asks this.
  bool accepting() const noexcept { return healthy_.load() && !full_.load(); }
  bool healthy() const noexcept { return healthy_.load(); }
  bool full() const noexcept { return full_.load(); }
  StoreCounters counters() const;
  // How long the writer thread, or an fdatasync of a commit, has made no
  // progress (0 while it turns; it turns at least once a second when idle).
  // What the systemd watchdog asks. Thread-safe.
  std::chrono::milliseconds stalled_for() const noexcept;

  // Counts an async result refused as store_full before reaching the store
  // (the dispatcher saw full() already). Thread-safe.
  void count_store_full_refusal() noexcept;

  // Signature void(std::vector<EnqueueOutcome>, std::shared_ptr<DurableCommit>),
  // one outcome per item, as soon as the transaction commits. With durability
  // "fsync" the second argument is set when something was committed: an ok
  // outcome may be reported only once it completes. Null otherwise.
  template <typename Token>
  auto async_enqueue(std::vector<EnqueueItem> items, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::vector<EnqueueOutcome>, std::shared_ptr<DurableCommit>)>(
        [this](auto handler, std::vector<EnqueueItem> queued) {
          submit_enqueue(std::move(queued), std::move(handler));
        },
        token, std::move(items));
  }

  // Signature void(error_code, std::vector<SeenStatus>, std::shared_ptr<DurableCommit>):
  // per key, what store.idempotency_window remembers of its id; store_error when unknown. The commit that remembered an
  // id may not be on disk yet (another session's, still waiting for its fdatasync): with durability "fsync", when an id
  // was found, a duplicate may be reported only once the third argument completes. Null otherwise.
  template <typename Token>
  auto async_find_seen(std::vector<IdempotencyKey> keys, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::vector<SeenStatus>,
                                                   std::shared_ptr<DurableCommit>)>(
        [this](auto handler, std::vector<IdempotencyKey> looked_up) {
          submit_find_seen(std::move(looked_up), std::move(handler));
        },
        token, std::move(keys));
  }

  // Marks up to `max_jobs` due jobs of `forwarder` executing (stopping early at
  // `max_bytes` of payload, 0 = no limit) and returns them, oldest first.
  // Signature void(error_code, std::vector<ClaimedJob>).
  template <typename Token>
  auto async_claim(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::vector<ClaimedJob>)>(
        [this](auto handler, std::string claimed_for, std::size_t job_limit, std::size_t byte_limit) {
          submit_claim(std::move(claimed_for), job_limit, byte_limit, std::move(handler));
        },
        token, std::move(forwarder), max_jobs, max_bytes);
  }

  // Records, without a commit or a wake-up, outcomes that need no statement:
  // jobs of stored batches that completed, with no completed_retention. The
  // writer applies them at its next turn (within a second); a crash before
  // then delivers them again (at least once). Thread-safe. Returns false,
  // leaving `finishes` alone, when some outcome needs async_finish.
  bool finish_without_commit(std::vector<JobFinish>& finishes);

  // Records the end of attempts. Signature void(error_code).
  template <typename Token>
  auto async_finish(std::vector<JobFinish> finishes, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler, std::vector<JobFinish> outcomes) {
          submit_finish(std::move(outcomes), std::move(handler));
        },
        token, std::move(finishes));
  }

 private:
  void submit_enqueue(std::vector<EnqueueItem> items, EnqueueHandler handler);
  void submit_find_seen(std::vector<IdempotencyKey> keys, FindSeenHandler handler);
  void submit_claim(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes, ClaimHandler handler);
  void submit_finish(std::vector<JobFinish> finishes, FinishHandler handler);
  void submit_set_handoff(std::string forwarder, std::shared_ptr<JobHandoff> handoff, FinishHandler handler);

  // Declared before the writer, which sets them while it opens the store
  // (initialized after it, they would overwrite what it found).
  std::atomic<bool> healthy_{true};
  std::atomic<bool> full_{false};
  std::unique_ptr<StoreWriter> writer_;
};

}  // namespace auditfwd
