// The durable job table (SQLite, WAL, one writer thread) behind every async delivery.
#pragma once

#include "common/error.hpp"
#include "config/config.hpp"
#include "event/event.hpp"
#include "store/durable_commit.hpp"
#include "store/job_handoff.hpp"

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/container/small_vector.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace auditfwd {

// Oban's job states. available/retryable/executing are "pending".
enum class JobState { available, executing, retryable, completed, discarded, cancelled };
std::string_view to_string(JobState state) noexcept;
std::optional<JobState> parse_job_state(std::string_view text) noexcept;

struct NewJob {
  std::string forwarder;
  int max_attempts = 20;
};

// One event to persist: a job per async forwarder, and (for client-supplied
// ids) the id remembered for idempotency. An item may carry no jobs and only
// remember its id (an event delivered by sync forwarders alone).
struct EnqueueItem {
  std::string event_id;
  std::string payload;
  boost::container::small_vector<NewJob, 2> jobs;  // rarely more than two: no allocation
  bool remember_id = false;
  uid_t sender_uid = 0;            // with remember_id: the key's scope
  ContentDigest content_digest{};  // with remember_id: what the id stands for
};

// A client-supplied id as DESIGN.md scopes it: to its sender's uid and content.
struct IdempotencyKey {
  std::string id;
  uid_t uid = 0;
  ContentDigest digest{};
};

// What the idempotency window knows of a key: nothing; the same id from the
// same uid with the same content; or the id taken by another uid or content.
enum class SeenStatus : unsigned char { unseen, duplicate, conflict };

// Per item: ok with one job id per NewJob, or store_full / store_error. The
// ids of one item's jobs are consecutive.
struct EnqueueOutcome {
  errc code = errc::ok;
  std::int64_t first_job_id = 0;
  std::size_t jobs = 0;
  std::int64_t job_id(std::size_t job) const noexcept { return first_job_id + static_cast<std::int64_t>(job); }
};

// The end of one attempt. `state` is completed, retryable, discarded or cancelled;
// `error` (with `attempt`) is appended to the job's error list unless completed.
struct JobFinish {
  std::int64_t id = 0;
  JobState state = JobState::completed;
  int attempt = 0;
  std::int64_t scheduled_at_ms = 0;  // for retryable
  std::string error;
  // For a job of a stored batch (ClaimedJob::batch_id): its batch, and unless
  // it completed, its event, which becomes a row of the jobs table.
  std::int64_t batch_id = 0;
  std::string payload;
};

struct StoreCounters {
  std::uint64_t pending_jobs = 0;
  std::uint64_t used_bytes = 0;
  std::uint64_t jobs_enqueued = 0;
  std::uint64_t store_full_rejections = 0;
  std::uint64_t commit_failures = 0;
  std::uint64_t commits = 0;
};

// Owns the database and the single thread that writes it. Requests from any
// thread are queued and run in one transaction per turn (group commit): every
// request that arrives while a commit is in progress shares the next one.
// Completion handlers run on their own associated executors, after the commit.
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
        [this](auto handler, std::vector<EnqueueItem> items) {
          submit_enqueue(std::move(items), std::move(handler));
        },
        token, std::move(items));
  }

  // Signature void(error_code, std::vector<SeenStatus>, std::shared_ptr<DurableCommit>):
  // per key, what store.idempotency_window remembers of its id; store_error when unknown. The commit that remembered an id may not be on
  // disk yet (another session's, still waiting for its fdatasync): with
  // durability "fsync", when an id was found, a duplicate may be reported only
  // once the third argument completes. Null otherwise.
  template <typename Token>
  auto async_find_seen(std::vector<IdempotencyKey> keys, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::vector<SeenStatus>,
                                                   std::shared_ptr<DurableCommit>)>(
        [this](auto handler, std::vector<IdempotencyKey> keys) { submit_find_seen(std::move(keys), std::move(handler)); },
        token, std::move(keys));
  }

  // Marks up to `max_jobs` due jobs of `forwarder` executing (stopping early at
  // `max_bytes` of payload, 0 = no limit) and returns them, oldest first.
  // Signature void(error_code, std::vector<ClaimedJob>).
  template <typename Token>
  auto async_claim(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::vector<ClaimedJob>)>(
        [this](auto handler, std::string forwarder, std::size_t max_jobs, std::size_t max_bytes) {
          submit_claim(std::move(forwarder), max_jobs, max_bytes, std::move(handler));
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
        [this](auto handler, std::vector<JobFinish> finishes) {
          submit_finish(std::move(finishes), std::move(handler));
        },
        token, std::move(finishes));
  }

  class Impl;

 private:
  void submit_enqueue(
      std::vector<EnqueueItem> items,
      boost::asio::any_completion_handler<void(std::vector<EnqueueOutcome>, std::shared_ptr<DurableCommit>)> handler);
  void submit_find_seen(std::vector<IdempotencyKey> keys,
                        boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<SeenStatus>,
                                                                 std::shared_ptr<DurableCommit>)>
                            handler);
  void submit_claim(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes,
                    boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<ClaimedJob>)> handler);
  void submit_finish(std::vector<JobFinish> finishes,
                     boost::asio::any_completion_handler<void(boost::system::error_code)> handler);

  std::unique_ptr<Impl> impl_;
  std::atomic<bool> healthy_{true};
  std::atomic<bool> full_{false};
};

}  // namespace auditfwd
