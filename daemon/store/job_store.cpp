// The store's writer thread: queued requests, one transaction per turn, completions after commit.
#include "store/job_store.hpp"

#include "common/time_format.hpp"
#include "store/event_batch.hpp"
#include "store/schema.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <algorithm>
#include <array>
#include <boost/asio/associated_executor.hpp>
#include <boost/json.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

namespace auditfwd {
namespace asio = boost::asio;

std::string_view to_string(JobState state) noexcept {
  switch (state) {
    case JobState::available: return "available";
    case JobState::executing: return "executing";
    case JobState::retryable: return "retryable";
    case JobState::completed: return "completed";
    case JobState::discarded: return "discarded";
    case JobState::cancelled: return "cancelled";
  }
  return "available";
}

std::optional<JobState> parse_job_state(std::string_view text) noexcept {
  for (auto state : {JobState::available, JobState::executing, JobState::retryable, JobState::completed,
                     JobState::discarded, JobState::cancelled})
    if (to_string(state) == text) return state;
  return std::nullopt;
}

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

// True for SQLite errors that mean the environment (disk, file) is failing.
bool is_environment_error(int code) {
  switch (code & 0xFF) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return true;
    default:
      return false;
  }
}

constexpr std::size_t delete_batch = 128;
constexpr int checkpoint_frames = 2048;  // frames (pages) of WAL before the checkpointer copies it: 8 MiB at 4 KiB
constexpr int writer_checkpoint_frames = 256;       // a tail the writer copies itself (~1 MiB)
// Past this (64 MiB at 4 KiB pages) the writer copies any tail, however long,
// so the WAL stays bounded under a load that never pauses. (A reader holding
// an old snapshot, such as a long `jobs list`, can still hold it back.)
constexpr int wal_limit_frames = 8 * checkpoint_frames;
constexpr std::size_t insert_batch = 16;
// A transaction takes queued requests until they carry this many events:
// enough to amortize the commit's page writes over many small requests, few
// enough that a large request does not wait behind the others.
constexpr std::size_t events_per_transaction = 512;
// Emptied batches wait until this many can go in one commit (or a second passes).
constexpr std::size_t batches_deleted_together = 32;
// Delivery outcomes fewer than this may wait up to a millisecond to share a commit.
constexpr std::size_t small_commit_events = 32;

// Writes use OR FAIL: a failing statement keeps its earlier rows instead of
// undoing them, so SQLite skips the statement journal (a copy of every page the
// statement touches). Each operation runs in its own savepoint, and a failure
// rolls that back whole, so nothing half-done is ever committed.
//
// Parameters per row: forwarder, event_id, state, max_attempts, payload, now
// (inserted_at and scheduled_at), id. A job handed to a worker is inserted
// `executing` but with attempt 0 and no attempted_at: its attempt is recorded
// with its outcome, so a crash before then costs it no attempt.
constexpr std::size_t insert_params = 7;

std::string insert_jobs_sql(std::size_t rows) {
  std::string sql = "INSERT OR FAIL INTO jobs (forwarder, event_id, state, attempt, max_attempts, payload, inserted_at, "
                    "scheduled_at, id) VALUES ";
  for (std::size_t k = 0; k < rows; ++k) {
    const auto b = k * insert_params;
    auto p = [&](std::size_t n) { return "?" + std::to_string(b + n); };
    sql += (k ? ",(" : "(") + p(1) + "," + p(2) + "," + p(3) + ",0," + p(4) + "," + p(5) + "," + p(6) + "," + p(6) +
           "," + p(7) + ")";
  }
  return sql;
}

// Job ids are reserved this many at a time (one meta row written per block).
constexpr std::int64_t job_id_block = 65536;

// The id of a stored event, for the row of a job that leaves its batch.
std::string stamped_event_id(const std::string& payload) {
  try {
    return Event::from_json(payload).id;
  } catch (const std::exception&) {
    return {};
  }
}

// A job's error list with its first entry, as mark_failed_ appends them.
std::string error_list(int attempt, const std::string& at, const std::string& error) {
  boost::json::array errors;
  errors.push_back(boost::json::object{{"attempt", attempt}, {"at", at}, {"error", error}});
  return boost::json::serialize(errors);
}

std::string placeholders(std::size_t count) {
  std::string out;
  for (std::size_t i = 1; i <= count; ++i) out += (i > 1 ? ",?" : "?") + std::to_string(i);
  return out;
}

}  // namespace

// One queued request. execute() runs inside the shared transaction; on commit
// the effects count, on rollback fail() turns the result into an error; either
// way complete() hands the result to the waiting coroutine.
struct Operation {
  virtual ~Operation() = default;
  virtual void execute(JobStore::Impl& store) = 0;
  virtual void fail() = 0;
  virtual void complete() = 0;
  // Called before fail() when the operation's changes were rolled back: gives
  // back what it took from the writer's memory.
  virtual void rolled_back(JobStore::Impl&) {}
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

// Completed batch jobs that JobStore::finish_without_commit recorded (defined below).
std::unique_ptr<Operation> deferred_outcomes_operation(std::vector<JobFinish> finishes);

class JobStore::Impl {
 public:
  Impl(StoreConfig config, std::atomic<bool>& healthy, std::atomic<bool>& full)
      : config_(std::move(config)),
        healthy_(healthy),
        full_(full),
        log_(spdlog::default_logger()->clone("store")),
        db_(open_store_database(config_.path, config_.durability_fsync)),
        insert_job_(db_, insert_jobs_sql(1)),
        insert_jobs_batch_(db_, insert_jobs_sql(insert_batch)),
        // An expired row not pruned yet is taken over; a live one is kept.
        remember_id_(db_,
                     "INSERT INTO seen_ids (id, seen_at, uid, digest) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, uid = excluded.uid, "
                     "digest = excluded.digest WHERE seen_ids.seen_at < ?5"),
        find_seen_(db_, "SELECT uid, digest FROM seen_ids WHERE id = ?1 AND seen_at >= ?2"),
        // One statement claims a batch: the due jobs, oldest first, up to a count
        // and (past the first job) a running payload size in bytes.
        claim_due_(db_, "UPDATE OR FAIL jobs SET state = 'executing', attempt = attempt + 1, attempted_at = ?2 "
                        "WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER w AS n, "
                        "sum(length(CAST(payload AS BLOB))) OVER w AS running FROM (SELECT id, scheduled_at, payload "
                        "FROM jobs WHERE forwarder = ?1 AND state IN ('available','retryable') AND scheduled_at <= ?2 "
                        "ORDER BY scheduled_at, id LIMIT ?3) WINDOW w AS (ORDER BY scheduled_at, id)) "
                        "WHERE n = 1 OR running <= ?4) "
                        "RETURNING id, attempt, max_attempts, payload"),
        delete_jobs_(db_, "DELETE FROM jobs WHERE state = 'executing' AND id IN (" + placeholders(delete_batch) + ")"),
        delete_job_(db_, "DELETE FROM jobs WHERE state = 'executing' AND id = ?1"),
        // Outcomes record the attempt too: a handed-over job's first attempt
        // is written here, not when it was inserted.
        mark_completed_(db_, "UPDATE OR FAIL jobs SET state = 'completed', finished_at = ?2, attempt = max(attempt, ?3), "
                             "attempted_at = coalesce(attempted_at, ?2) WHERE id = ?1 AND state = 'executing'"),
        mark_failed_(db_, "UPDATE OR FAIL jobs SET state = ?2, scheduled_at = ?3, finished_at = ?4, "
                          "attempt = max(attempt, ?5), attempted_at = coalesce(attempted_at, ?8), "
                          "errors = json_insert(CASE WHEN json_valid(errors) THEN errors ELSE '[]' END, '$[#]', "
                          "json_object('attempt', ?5, 'at', ?6, 'error', ?7)) "
                          "WHERE id = ?1 AND state = 'executing' RETURNING forwarder"),
        admin_generation_(db_, "SELECT coalesce((SELECT value FROM meta WHERE key = 'admin_generation'), '')"),
        next_scheduled_(db_, "SELECT min(scheduled_at) FROM jobs WHERE forwarder = ?1 AND state IN ('available','retryable')"),
        reserve_job_ids_(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('job_ids_reserved', ?1)"),
        insert_batch_(db_, "INSERT INTO batches (id, forwarder, first_job, last_job, events, max_attempts, inserted_at, "
                           "payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        // The rowid order from the cursor on, not an index: one page per
        // commit at low rates instead of two.
        next_batch_(db_, "SELECT id, max_attempts, payload, first_job, last_job FROM batches "
                         "WHERE id > ?2 AND forwarder = ?1 ORDER BY id LIMIT 1"),
        delete_batch_(db_, "DELETE FROM batches WHERE id = ?1"),
        jobs_in_range_(db_, "SELECT id FROM jobs WHERE id BETWEEN ?2 AND ?3 AND forwarder = ?1 ORDER BY id"),
        insert_left_job_(db_, "INSERT OR FAIL INTO jobs (id, forwarder, event_id, state, attempt, max_attempts, payload, "
                              "errors, inserted_at, scheduled_at, attempted_at, finished_at) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9, ?11)"),
        begin_(db_, "BEGIN IMMEDIATE"),
        commit_(db_, "COMMIT"),
        savepoint_(db_, "SAVEPOINT operation"),
        release_savepoint_(db_, "RELEASE operation") {
    // Checkpoints run on their own thread and connection (see checkpoint_loop),
    // so copying the WAL into the database never stalls a commit.
    sqlite3_wal_hook(db_.getHandle(), &Impl::on_wal_commit, this);
    // The writer never syncs inside COMMIT: with durability "fsync" the syncer
    // threads make each commit durable (see sync_loop) while the writer already
    // runs the next transaction. Checkpoints still sync the WAL and the database.
    db_.exec("PRAGMA synchronous=NORMAL");
    rescue_interrupted_jobs();
    load_job_id_sequence();
    next_batch_id_ = db_.execAndGet("SELECT coalesce(max(id), 0) + 1 FROM batches").getInt64();
    recount_pending();
    refresh_used_bytes();
    last_admin_generation_ = read_admin_generation();
    update_full_flag();
    if (config_.durability_fsync) open_wal_files();
    healthy_ = true;
  }

  ~Impl() {
    for (const int fd : wal_fds_)
      if (fd >= 0) ::close(fd);
  }

  // True when a completed job leaves nothing behind (no completed_retention).
  bool completed_leave_no_row() const noexcept { return config_.completed_retention.count() == 0; }

  // Outcomes that change only the writer's memory wait for its next turn
  // (within a second) instead of waking it. True when `finishes` were such.
  bool defer_if_memory_only(std::vector<JobFinish>& finishes) {
    if (!completed_leave_no_row() || !std::all_of(finishes.begin(), finishes.end(), [](const JobFinish& f) {
          return f.batch_id != 0 && f.state == JobState::completed;
        }))
      return false;
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    deferred_outcomes_.insert(deferred_outcomes_.end(), std::make_move_iterator(finishes.begin()),
                              std::make_move_iterator(finishes.end()));
    return true;
  }

  void add_handoff(const std::string& forwarder, std::shared_ptr<JobHandoff> handoff) {
    forwarders_[forwarder].handoff = std::move(handoff);
  }

  void start(std::function<void(const std::vector<std::string>&)> listener) {
    on_jobs_committed_ = std::move(listener);
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "auditfwd-store");  // visible in top -H, perf, gdb
      run();
    });
    checkpointer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "auditfwd-ckpt");
      checkpoint_loop();
    });
    if (config_.durability_fsync)
      for (std::size_t k = 0; k < syncers_.size(); ++k)
        syncers_[k] = std::thread([this, slot = k + 1] {
          pthread_setname_np(pthread_self(), "auditfwd-sync");
          sync_loop(slot);
        });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    {  // the writer has handed over its last commits; the syncer finishes them
      std::lock_guard lock(sync_mutex_);
      sync_stop_ = true;
    }
    sync_wake_.notify_all();
    for (auto& syncer : syncers_)
      if (syncer.joinable()) syncer.join();
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_stop_ = true;
    }
    checkpoint_wake_.notify_one();
    if (checkpointer_.joinable()) checkpointer_.join();
    record_batch_progress();
    release_all_executing();
  }

  void submit(std::unique_ptr<Operation> operation) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back(std::move(operation));
        operation = nullptr;
      }
    }
    if (operation) {  // the store has stopped: fail fast instead of hanging the caller
      operation->fail();
      operation->complete();
      return;
    }
    wake_.notify_one();
  }

  StoreCounters counters() const {
    std::lock_guard lock(counters_mutex_);
    return counters_;
  }

  // --- used by operations, on the writer thread, inside the transaction ---

  // Every statement that can fail comes first (the operation's savepoint
  // undoes them); then the jobs join the transaction's batches and hand-offs
  // in memory, which cannot fail.
  void enqueue(std::vector<EnqueueItem>& items, std::vector<EnqueueOutcome>& outcomes) {
    const auto now = unix_millis_now();
    outcomes.assign(items.size(), EnqueueOutcome{});
    std::size_t job_count = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto& item = items[i];
      auto& outcome = outcomes[i];
      if (!item.jobs.empty() && over_limits(item.jobs.size())) {
        outcome.code = errc::store_full;
        ++delta_.store_full;
        continue;
      }
      outcome.jobs = item.jobs.size();
      job_count += item.jobs.size();
      delta_.pending += static_cast<std::int64_t>(item.jobs.size());
      delta_.enqueued += item.jobs.size();
      // A batch compresses its events ~4x; maintain() measures the truth.
      delta_.bytes += static_cast<std::int64_t>((item.payload.size() / 4 + 16) * item.jobs.size());
      if (item.remember_id) {
        StatementReset reset{remember_id_};
        remember_id_.bind(1, item.event_id);
        remember_id_.bind(2, static_cast<int64_t>(now));
        remember_id_.bind(3, static_cast<int64_t>(item.sender_uid));
        remember_id_.bindNoCopy(4, item.content_digest.data(), static_cast<int>(item.content_digest.size()));
        remember_id_.bind(5, static_cast<int64_t>(now - config_.idempotency_window.count()));
        remember_id_.exec();
      }
    }
    if (job_count == 0) return;
    std::int64_t id = take_job_ids(job_count);
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto& item = items[i];
      if (outcomes[i].code != errc::ok || item.jobs.empty()) continue;
      outcomes[i].first_job_id = id;
      for (std::size_t j = 0; j < item.jobs.size(); ++j, ++id) {
        const auto& job = item.jobs[j];
        auto& forwarder = forwarder_jobs(job.forwarder);
        forwarder.new_jobs = true;
        JobHandoff* handoff = reserve_handoff(forwarder, now);
        auto& batch = open_batch(job.forwarder, forwarder, handoff != nullptr, job.max_attempts);
        batch.writer.add(id, item.payload);
        if (!handoff) continue;
        ++delta_.executing;
        // The last job of an item takes its payload; earlier ones copy it.
        handed_.push_back({handoff, ClaimedJob{id, 1, job.max_attempts,
                                               j + 1 == item.jobs.size() ? std::move(item.payload) : item.payload,
                                               batch.id}});
      }
    }
  }

  void find_seen(const std::vector<IdempotencyKey>& keys, std::vector<SeenStatus>& seen) {
    const auto oldest = unix_millis_now() - config_.idempotency_window.count();
    seen.assign(keys.size(), SeenStatus::unseen);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      StatementReset reset{find_seen_};
      find_seen_.bind(1, keys[i].id);
      find_seen_.bind(2, static_cast<int64_t>(oldest));
      if (!find_seen_.executeStep()) continue;
      const auto uid = find_seen_.getColumn(0);
      const auto digest = find_seen_.getColumn(1);
      // A row remembered before ids were scoped has neither: it was a duplicate then.
      const bool same =
          (uid.isNull() || uid.getInt64() == static_cast<int64_t>(keys[i].uid)) &&
          (digest.isNull() ||
           (static_cast<std::size_t>(digest.getBytes()) == keys[i].digest.size() &&
            std::memcmp(digest.getBlob(), keys[i].digest.data(), keys[i].digest.size()) == 0));
      seen[i] = same ? SeenStatus::duplicate : SeenStatus::conflict;
    }
  }

  void claim(const std::string& forwarder, std::size_t max_jobs, std::size_t max_bytes,
             std::vector<ClaimedJob>& jobs) {
    StatementReset reset{claim_due_};
    claim_due_.bind(1, forwarder);
    claim_due_.bind(2, static_cast<int64_t>(unix_millis_now()));
    claim_due_.bind(3, static_cast<int64_t>(max_jobs));
    claim_due_.bind(4, static_cast<int64_t>(max_bytes == 0 ? INT64_MAX : static_cast<std::int64_t>(max_bytes)));
    while (claim_due_.executeStep()) {
      ClaimedJob job;
      job.id = claim_due_.getColumn(0).getInt64();
      job.attempt = claim_due_.getColumn(1).getInt();
      job.max_attempts = claim_due_.getColumn(2).getInt();
      job.payload = claim_due_.getColumn(3).getString();
      jobs.push_back(std::move(job));
    }
    // Rows of the jobs table first (retries, and jobs the CLI made
    // available), then stored batches, oldest first.
    delta_.table_executing += static_cast<std::int64_t>(jobs.size());
    if (jobs.size() < max_jobs) claim_from_batches(forwarder, max_jobs, max_bytes, jobs);
    if (jobs.empty()) {  // caught up: hand new jobs over again, until the next waiting job falls due
      auto& state = forwarder_jobs(forwarder);
      state.may_have_due_jobs = false;
      StatementReset reset{next_scheduled_};
      next_scheduled_.bind(1, forwarder);
      state.next_retry_due_ms = next_scheduled_.executeStep() && !next_scheduled_.getColumn(0).isNull()
                                    ? next_scheduled_.getColumn(0).getInt64()
                                    : INT64_MAX;
    }
    delta_.executing += static_cast<std::int64_t>(jobs.size());
    std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }

  void finish(const std::vector<JobFinish>& finishes) {
    const auto now = unix_millis_now();
    const std::string now_text = format_rfc3339(now_micros());
    std::vector<std::int64_t> to_delete;
    for (const auto& f : finishes) {
      if (f.batch_id != 0) {
        finish_batch_job(f, now, now_text);
        continue;
      }
      if (f.state == JobState::completed && config_.completed_retention.count() == 0) {
        to_delete.push_back(f.id);
        continue;
      }
      int changed = 0;
      if (f.state == JobState::completed) {
        StatementReset reset{mark_completed_};
        mark_completed_.bind(1, static_cast<int64_t>(f.id));
        mark_completed_.bind(2, static_cast<int64_t>(now));
        mark_completed_.bind(3, f.attempt);
        changed = mark_completed_.exec();
      } else {
        const bool terminal = f.state != JobState::retryable;
        StatementReset reset{mark_failed_};
        mark_failed_.bind(1, static_cast<int64_t>(f.id));
        mark_failed_.bind(2, std::string(to_string(f.state)));
        mark_failed_.bind(3, static_cast<int64_t>(terminal ? now : f.scheduled_at_ms));
        if (terminal) mark_failed_.bind(4, static_cast<int64_t>(now));
        else mark_failed_.bind(4);
        mark_failed_.bind(5, f.attempt);
        mark_failed_.bind(6, now_text);
        mark_failed_.bind(7, f.error);
        mark_failed_.bind(8, static_cast<int64_t>(now));
        changed = mark_failed_.executeStep() ? 1 : 0;
        if (!terminal) {  // back to waiting: still pending, no longer executing
          delta_.executing -= changed;
          delta_.table_executing -= changed;
          // Due then, before newer jobs: from that time new jobs wait in the
          // table behind it instead of being handed over.
          if (changed) {
            auto& forwarder = forwarder_jobs(mark_failed_.getColumn(0).getString());
            forwarder.next_retry_due_ms = std::min(forwarder.next_retry_due_ms, f.scheduled_at_ms);
          }
          continue;
        }
      }
      delta_.executing -= changed;
      delta_.table_executing -= changed;
      delta_.pending -= changed;
    }
    // Delivered jobs go in batches: one statement per `delete_batch` ids, and
    // the rest one by one (an IN list builds a temporary index per statement).
    std::size_t start = 0;
    for (; start + delete_batch <= to_delete.size(); start += delete_batch) {
      StatementReset reset{delete_jobs_};
      for (std::size_t k = 0; k < delete_batch; ++k)
        delete_jobs_.bind(static_cast<int>(k + 1), static_cast<int64_t>(to_delete[start + k]));
      const int removed = delete_jobs_.exec();
      delta_.pending -= removed;
      delta_.executing -= removed;
      delta_.table_executing -= removed;
    }
    for (; start < to_delete.size(); ++start) {
      StatementReset reset{delete_job_};
      delete_job_.bind(1, static_cast<int64_t>(to_delete[start]));
      const int removed = delete_job_.exec();
      delta_.pending -= removed;
      delta_.executing -= removed;
      delta_.table_executing -= removed;
    }
  }

  // A claim whose transaction was rolled back gives its batch jobs back, first in line.
  void unclaim(const std::string& forwarder, std::vector<ClaimedJob>& jobs) {
    auto& loaded = forwarder_jobs(forwarder).loaded;
    for (auto job = jobs.rbegin(); job != jobs.rend(); ++job)
      if (job->batch_id != 0) loaded.push_front(std::move(*job));
    jobs.clear();
  }

 public:
  // Async results the dispatcher refused because full() was already set.
  std::atomic<std::uint64_t> refused_while_full{0};

 private:
  void run_cached(SQLite::Statement& statement) {
    StatementReset reset{statement};
    statement.exec();
  }

  // Resets a cached statement however its use ends, so a failed step never
  // leaves it busy (SQLite would refuse every later bind).
  struct StatementReset {
    SQLite::Statement& statement;
    ~StatementReset() { statement.tryReset(); }
  };

  // Called by SQLite on the writer thread after each commit with the WAL's size
  // in frames (pages).
  static int on_wal_commit(void* self, sqlite3*, const char*, int frames) {
    static_cast<Impl*>(self)->after_wal_commit(frames);
    return SQLITE_OK;
  }

  // Keeps the WAL short without stalling commits. The checkpointer copies the
  // bulk of it into the database beside the writer; then the writer itself
  // copies the few frames committed meanwhile. That completes the checkpoint,
  // and the next transaction starts the WAL over from its head. (A checkpoint
  // beside a writer that never pauses never completes: the WAL would only grow,
  // and every commit would wake the checkpointer for a few frames and two syncs.)
  void after_wal_commit(int frames) {
    bool finish_here = false, wake_checkpointer = false;
    {
      std::lock_guard lock(checkpoint_mutex_);
      if (checkpoint_state_ == CheckpointState::running) return;
      finish_here = checkpoint_state_ == CheckpointState::copied &&
                    (frames - checkpoint_backfilled_ <= writer_checkpoint_frames || frames >= wal_limit_frames);
      if (!finish_here) {
        wake_checkpointer = frames >= checkpoint_frames;  // a (further) bulk pass
        checkpoint_state_ = wake_checkpointer ? CheckpointState::running : CheckpointState::idle;
      }
    }
    if (wake_checkpointer) checkpoint_wake_.notify_one();
    if (!finish_here) return;
    int wal_frames = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db_.getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log_->warn("WAL checkpoint failed ({}); the WAL keeps growing until one succeeds", sqlite3_errstr(rc));
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_state_ = CheckpointState::idle;
  }

  // PASSIVE checkpoints from a second connection: they copy committed pages into
  // the database file beside the writer and never block it. Woken by the writer
  // (see after_wal_commit), and once a second to catch up after writes stop.
  void checkpoint_loop() {
    std::optional<SQLite::Database> connection;
    for (;;) {
      {
        std::unique_lock lock(checkpoint_mutex_);
        const bool woken = checkpoint_wake_.wait_for(lock, std::chrono::seconds(1), [&] {
          return checkpoint_state_ == CheckpointState::running || checkpoint_stop_;
        });
        if (checkpoint_stop_) return;
        if (!woken) {
          if (checkpoint_state_ != CheckpointState::idle) continue;
          checkpoint_state_ = CheckpointState::running;
        }
      }
      int copied = -1;
      try {
        if (!connection) connection.emplace(open_store_database(config_.path, config_.durability_fsync));
        int wal_frames = 0;
        const int rc = sqlite3_wal_checkpoint_v2(connection->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                                 &wal_frames, &copied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
          log_->warn("WAL checkpoint failed ({}); the WAL keeps growing until one succeeds", sqlite3_errstr(rc));
          copied = -1;
        }
      } catch (const std::exception& e) {
        log_->warn("WAL checkpointer cannot open the database: {}", e.what());
        connection.reset();
      }
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_backfilled_ = copied;
      checkpoint_state_ = copied >= 0 ? CheckpointState::copied : CheckpointState::idle;
    }
  }

  // The WAL file, opened again for fdatasync: a sync flushes the file (the
  // inode), whichever descriptor wrote it. The path comes from SQLite (it
  // resolves symbolic links), and SQLite keeps that file for as long as the
  // writer's connection is open. One descriptor per syncing thread: Linux
  // reports a writeback error once per descriptor, so each thread's next sync
  // sees an error that happened while another thread's sync was running.
  void open_wal_files() {
    const char* wal_path = sqlite3_filename_wal(sqlite3_db_filename(db_.getHandle(), "main"));
    for (auto& fd : wal_fds_) {
      fd = ::open(wal_path, O_RDWR | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", wal_path, std::strerror(errno)));
    }
    // The WAL's directory entry must survive a power cut too.
    const auto directory = std::filesystem::path(wal_path).parent_path();
    const int directory_fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd < 0 || ::fsync(directory_fd) != 0)
      log_->warn("could not sync the directory of {} ({}): a power cut right now could lose the WAL's name",
                 wal_path, std::strerror(errno));
    if (directory_fd >= 0) ::close(directory_fd);
  }

  // Makes every commit written so far durable, through descriptor `slot`
  // (0: the writer, 1 and up: the syncers). Does not return if that fails: a
  // failed fdatasync leaves it unknown which commits reached the disk, and as
  // Linux reports the error only once, a later sync that succeeds would prove
  // nothing. Like PostgreSQL, stop at once without answering the events it
  // held (never acknowledged, so their senders send them again); systemd
  // restarts the daemon and SQLite recovers from what is on disk.
  void sync_wal(std::size_t slot) {
    if (::fdatasync(wal_fds_[slot]) == 0) return;
    const int error = errno;
    log_->critical("fdatasync of the job store's WAL failed ({}); stopping without answering the events it held "
                   "(exit 74): restart to recover from what reached the disk",
                   std::strerror(error));
    spdlog::default_logger()->flush();
    log_->flush();
    std::_Exit(74);  // EX_IOERR
  }

  // Group commit, second half: the commits the writer finished while an
  // fdatasync ran are made durable by the next one, and only then are their
  // DurableCommits completed (and their replies written); the writer meanwhile
  // runs the following transaction. Two syncers: a commit that lands while one
  // fdatasync is in flight starts its own at once instead of waiting for that
  // one to end (each covers everything written before it).
  void sync_loop(std::size_t slot) {
    std::vector<std::shared_ptr<DurableCommit>> waiting;
    for (;;) {
      {
        std::unique_lock lock(sync_mutex_);
        waiting.clear();
        sync_wake_.wait(lock, [&] { return !sync_queue_.empty() || sync_stop_; });
        if (sync_queue_.empty()) return;
        waiting.swap(sync_queue_);
      }
      sync_wal(slot);  // one fdatasync for every commit in `waiting`
      for (auto& commit : waiting) commit->mark_durable();
    }
  }

  struct Row {
    const NewJob* job;
    EnqueueItem* item;
    EnqueueOutcome* outcome;  // set on an item's first row: takes the first id
    JobHandoff* handoff;      // null: inserted available, for a claim
    std::int64_t id = 0;
  };

  // What the writer knows of one forwarder's jobs.
  struct ForwarderJobs {
    std::shared_ptr<JobHandoff> handoff;  // set before start(), or none
    // False once a claim found no due job, until a job is inserted available
    // or the earliest waiting job falls due.
    bool may_have_due_jobs = true;
    std::int64_t next_retry_due_ms = INT64_MAX;  // earliest scheduled_at waiting in the table
    bool new_jobs = false;                       // in the running transaction
    std::size_t open_batch = SIZE_MAX;           // its batch in txn_batches_, if any
    std::int64_t claim_cursor = 0;               // the last batch handed over or claimed
    std::deque<ClaimedJob> loaded;               // jobs of claimed batches not served yet
  };

  // A stored batch with jobs in delivery: it is deleted when none is left.
  struct LiveBatch {
    std::string forwarder;
    std::size_t outstanding;  // jobs neither ended nor left
    int max_attempts;
    // Jobs that completed with nothing recorded: a graceful stop takes them
    // out of the stored batch (a crash delivers them again: at least once).
    std::vector<std::int64_t> completed = {};
  };

  // The entry of `id`; consecutive rows nearly always name the same forwarder.
  ForwarderJobs& forwarder_jobs(const std::string& id) {
    if (last_forwarder_ && *last_forwarder_id_ == id) return *last_forwarder_;
    auto& entry = *forwarders_.try_emplace(id).first;  // references stay valid: node-based map
    last_forwarder_id_ = &entry.first;
    last_forwarder_ = &entry.second;
    return entry.second;
  }

  // A handoff with room, for a new job of `forwarder`, unless older due jobs
  // of that forwarder may wait in the table (they go first). Null otherwise;
  // then the job waits in the table and so, from now on, do the next ones.
  JobHandoff* reserve_handoff(ForwarderJobs& forwarder, std::int64_t now_ms) {
    if (now_ms >= forwarder.next_retry_due_ms) {  // a retry fell due: it goes first
      forwarder.may_have_due_jobs = true;
      forwarder.next_retry_due_ms = INT64_MAX;
    }
    if (forwarder.handoff && !forwarder.may_have_due_jobs && forwarder.handoff->try_reserve())
      return forwarder.handoff.get();
    forwarder.may_have_due_jobs = true;
    return nullptr;
  }

  // Undoes the handoffs of an operation or transaction that was rolled back,
  // from `first` on; the table may then hold due jobs again.
  void cancel_handoffs(std::size_t first) {
    for (std::size_t k = first; k < handed_.size(); ++k) handed_[k].first->cancel_reservations(1);
    handed_.resize(first);
    for (auto& [id, forwarder] : forwarders_) forwarder.may_have_due_jobs = true;
  }

  // After the commit: hands each forwarder its jobs, in commit order.
  void push_handoffs() {
    std::vector<ClaimedJob> jobs;
    while (!handed_.empty()) {
      JobHandoff* target = handed_.front().first;
      jobs.clear();
      std::size_t kept = 0;
      for (auto& [handoff, job] : handed_) {
        if (handoff == target) jobs.push_back(std::move(job));
        else handed_[kept++] = {handoff, std::move(job)};
      }
      handed_.resize(kept);
      target->push(jobs);
    }
  }

  // The batch of `forwarder` that this transaction's next job joins: one per
  // forwarder, except that jobs handed over and jobs left for a claim never
  // share one (a claim reads whole batches).
  struct OpenBatch {
    std::int64_t id;
    std::string forwarder;
    bool handed;
    int max_attempts;
    EventBatchWriter writer;
    std::size_t jobs = 0;  // set when written
  };
  OpenBatch& open_batch(const std::string& id, ForwarderJobs& forwarder, bool handed, int max_attempts) {
    if (forwarder.open_batch < txn_batches_.size()) {
      auto& current = txn_batches_[forwarder.open_batch];
      if (current.handed == handed && current.max_attempts == max_attempts) return current;
    }
    forwarder.open_batch = txn_batches_.size();
    EventBatchWriter writer;
    if (!spare_writers_.empty()) {  // a buffer of an earlier transaction: no fresh pages to fault in
      writer = std::move(spare_writers_.back());
      spare_writers_.pop_back();
    }
    return txn_batches_.emplace_back(OpenBatch{next_batch_id_++, id, handed, max_attempts, std::move(writer)});
  }

  // Before COMMIT: one row per open batch.
  // Also before a claim in the same transaction (run_batch): a claim must see
  // every batch enqueued before it, or it would report "caught up" and the
  // cursor would pass a batch nobody reads. A written batch takes no more jobs.
  void write_batches(std::int64_t now) {
    for (std::size_t k = 0; k < txn_batches_.size(); ++k) {
      auto& batch = txn_batches_[k];
      if (batch.writer.jobs() == 0) continue;
      if (auto& forwarder = forwarder_jobs(batch.forwarder); forwarder.open_batch == k) forwarder.open_batch = SIZE_MAX;
      batch.jobs = batch.writer.jobs();
      const auto first = batch.writer.first_job_id(), last = batch.writer.last_job_id();
      const auto blob_size = batch.writer.finish_into(blob_buffer_);
      StatementReset reset{insert_batch_};
      insert_batch_.bind(1, static_cast<int64_t>(batch.id));
      insert_batch_.bindNoCopy(2, batch.forwarder);
      insert_batch_.bind(3, static_cast<int64_t>(first));
      insert_batch_.bind(4, static_cast<int64_t>(last));
      insert_batch_.bind(5, static_cast<int64_t>(batch.jobs));
      insert_batch_.bind(6, batch.max_attempts);
      insert_batch_.bind(7, static_cast<int64_t>(now));
      insert_batch_.bindNoCopy(8, blob_buffer_.data(), static_cast<int>(blob_size));
      insert_batch_.exec();
    }
  }

  // After COMMIT: handed batches are in delivery; the claim cursor passes them.
  void register_handed_batches() {
    for (auto& batch : txn_batches_) {
      auto& forwarder = forwarder_jobs(batch.forwarder);
      forwarder.open_batch = SIZE_MAX;
      if (!batch.handed || batch.jobs == 0) continue;
      live_batches_.emplace(batch.id, LiveBatch{batch.forwarder, batch.jobs, batch.max_attempts});
      forwarder.claim_cursor = std::max(forwarder.claim_cursor, batch.id);
    }
    recycle_open_batches();
  }

  void discard_open_batches() {
    for (auto& batch : txn_batches_) forwarder_jobs(batch.forwarder).open_batch = SIZE_MAX;
    recycle_open_batches();
  }

  void recycle_open_batches() {
    for (auto& batch : txn_batches_) {
      batch.writer.clear();
      if (spare_writers_.size() < 2) spare_writers_.push_back(std::move(batch.writer));  // one or two forwarders' worth
    }
    txn_batches_.clear();
  }

  // Serves jobs of stored batches past the cursor of `forwarder`, oldest
  // first, loading the next batch whenever the last one is used up: at most
  // one batch's jobs wait in memory per forwarder.
  void claim_from_batches(const std::string& forwarder, std::size_t max_jobs, std::size_t max_bytes,
                          std::vector<ClaimedJob>& jobs) {
    auto& state = forwarder_jobs(forwarder);
    std::size_t bytes = 0;
    for (const auto& job : jobs) bytes += job.payload.size();
    for (;;) {
      while (!state.loaded.empty() && jobs.size() < max_jobs &&
             (jobs.empty() || max_bytes == 0 || bytes + state.loaded.front().payload.size() <= max_bytes)) {
        bytes += state.loaded.front().payload.size();
        jobs.push_back(std::move(state.loaded.front()));
        state.loaded.pop_front();
      }
      if (!state.loaded.empty() || jobs.size() >= max_jobs || !load_next_batch(forwarder, state)) return;
    }
  }

  // Reads the next batch past the cursor into `state.loaded`, less the jobs
  // that left it. False when there is none.
  bool load_next_batch(const std::string& forwarder, ForwarderJobs& state) {
    for (;;) {
      StatementReset reset{next_batch_};
      next_batch_.bind(1, forwarder);
      next_batch_.bind(2, static_cast<int64_t>(state.claim_cursor));
      if (!next_batch_.executeStep()) return false;
      const auto batch_id = next_batch_.getColumn(0).getInt64();
      const int max_attempts = next_batch_.getColumn(1).getInt();
      const auto first = next_batch_.getColumn(3).getInt64(), last = next_batch_.getColumn(4).getInt64();
      state.claim_cursor = batch_id;
      // Written early for this claim (see write_batches), but handed over:
      // its jobs reach the workers after the commit, not through a claim.
      if (std::any_of(txn_batches_.begin(), txn_batches_.end(),
                      [&](const OpenBatch& open) { return open.id == batch_id && open.handed; }))
        continue;
      std::vector<BatchJob> batch;
      try {
        const auto blob = next_batch_.getColumn(2);
        batch = decode_event_batch(std::string_view(static_cast<const char*>(blob.getBlob()),
                                                    static_cast<std::size_t>(blob.getBytes())));
      } catch (const CorruptBatch& e) {
        log_->critical("stored batch {} of forwarder {} cannot be read ({}); its jobs are not delivered", batch_id,
                       forwarder, e.what());
        continue;
      }
      const auto left = jobs_that_left(forwarder, first, last);
      std::size_t remaining = 0;
      for (auto& job : batch) {
        if (std::binary_search(left.begin(), left.end(), job.job_id)) continue;
        state.loaded.push_back(ClaimedJob{job.job_id, 1, max_attempts, std::move(job.payload), batch_id});
        ++remaining;
      }
      if (remaining == 0) {
        batches_to_delete_.push_back(batch_id);  // every job left it before a crash
        continue;
      }
      live_batches_.emplace(batch_id, LiveBatch{forwarder, remaining, max_attempts});
      return true;
    }
  }

  // Ids (sorted) of the jobs of `forwarder` between `first` and `last` that
  // have a row of their own: they left their batch.
  std::vector<std::int64_t> jobs_that_left(const std::string& forwarder, std::int64_t first, std::int64_t last) {
    StatementReset reset{jobs_in_range_};
    jobs_in_range_.bind(1, forwarder);
    jobs_in_range_.bind(2, static_cast<int64_t>(first));
    jobs_in_range_.bind(3, static_cast<int64_t>(last));
    std::vector<std::int64_t> ids;
    while (jobs_in_range_.executeStep()) ids.push_back(jobs_in_range_.getColumn(0).getInt64());
    return ids;
  }

  // The end of an attempt at a job of a stored batch. Unless it completed
  // (with no completed_retention), the job leaves the batch for a row of the
  // jobs table, where the lifecycle goes on as for any job. The batch row goes
  // once every job of it has ended or left, in the same transaction.
  void finish_batch_job(const JobFinish& f, std::int64_t now, const std::string& now_text) {
    const auto live = live_batches_.find(f.batch_id);
    if (live == live_batches_.end()) {
      log_->error("an outcome for job {} names batch {}, which is not in delivery (ignored)", f.id, f.batch_id);
      return;
    }
    const bool keep_row = f.state != JobState::completed || config_.completed_retention.count() > 0;
    if (keep_row) {
      const bool terminal = f.state != JobState::retryable;
      StatementReset reset{insert_left_job_};
      insert_left_job_.bind(1, static_cast<int64_t>(f.id));
      insert_left_job_.bindNoCopy(2, live->second.forwarder);
      insert_left_job_.bind(3, stamped_event_id(f.payload));
      insert_left_job_.bind(4, std::string(to_string(f.state)));
      insert_left_job_.bind(5, f.attempt);
      insert_left_job_.bind(6, live->second.max_attempts);
      insert_left_job_.bindNoCopy(7, f.payload);
      if (f.state == JobState::completed) insert_left_job_.bind(8);
      else insert_left_job_.bind(8, error_list(f.attempt, now_text, f.error));
      insert_left_job_.bind(9, static_cast<int64_t>(now));
      insert_left_job_.bind(10, static_cast<int64_t>(terminal ? now : f.scheduled_at_ms));
      if (terminal) insert_left_job_.bind(11, static_cast<int64_t>(now));
      else insert_left_job_.bind(11);
      insert_left_job_.exec();
    }
    delta_.executing -= 1;
    if (f.state == JobState::retryable) {
      auto& forwarder = forwarder_jobs(live->second.forwarder);
      forwarder.next_retry_due_ms = std::min(forwarder.next_retry_due_ms, f.scheduled_at_ms);
    } else {
      delta_.pending -= 1;
    }
    txn_batch_done_.push_back({f.batch_id, keep_row ? 0 : f.id});
    // A batch whose last job leaves it goes in the same transaction, which
    // writes anyway: never a moment where a purged row's job shows again.
    if (++txn_done_count_[f.batch_id] == live->second.outstanding && keep_row) {
      StatementReset reset{delete_batch_};
      delete_batch_.bind(1, static_cast<int64_t>(f.batch_id));
      delete_batch_.exec();
    }
  }

  // After COMMIT: the batch jobs that ended in it.
  void apply_batch_outcomes() {
    for (const auto& [batch_id, job_id] : txn_batch_done_) {
      const auto live = live_batches_.find(batch_id);
      if (live != live_batches_.end() && job_id != 0) live->second.completed.push_back(job_id);
    }
    for (const auto& [batch_id, done] : txn_done_count_) {
      const auto live = live_batches_.find(batch_id);
      if (live == live_batches_.end()) continue;
      live->second.outstanding -= std::min(done, live->second.outstanding);
      if (live->second.outstanding != 0) continue;
      // Deleted with later new batches, or by maintain() within a second: a
      // crash before then delivers its jobs again (at least once).
      batches_to_delete_.push_back(batch_id);
      live_batches_.erase(live);
    }
    txn_done_count_.clear();
    txn_batch_done_.clear();
  }

  // An operation rolled back alone: forget the batch outcomes it recorded.
  void forget_batch_outcomes_from(std::size_t first) {
    if (first >= txn_batch_done_.size()) return;
    txn_batch_done_.resize(first);
    txn_done_count_.clear();
    for (const auto& done : txn_batch_done_) ++txn_done_count_[done.first];
  }

  // Deletes the batches whose every job ended or left them (see apply_batch_outcomes and load_next_batch).
  void delete_emptied_batches() {
    for (const auto batch_id : batches_to_delete_) {
      StatementReset reset{delete_batch_};
      delete_batch_.bind(1, static_cast<int64_t>(batch_id));
      delete_batch_.exec();
    }
    batches_to_delete_.clear();
  }

  // What the operations of one transaction changed, applied on commit only.
  struct Delta {
    std::int64_t pending = 0;
    std::int64_t executing = 0;
    std::int64_t table_executing = 0;  // the part of `executing` that is rows of the jobs table
    std::int64_t bytes = 0;
    std::uint64_t enqueued = 0;
    std::uint64_t store_full = 0;
  };

  // Job ids are never reused, so an id in a reply keeps naming one job. The
  // writer assigns them from a block reserved in `meta` by the same
  // transaction that first uses it; a restart continues past the reservation.
  // (AUTOINCREMENT would give the same guarantee by rewriting its
  // sqlite_sequence page in every commit: a whole extra page per small commit.)
  void load_job_id_sequence() {
    std::int64_t highest = db_.execAndGet("SELECT coalesce(max(id), 0) FROM jobs").getInt64();
    SQLite::Statement reserved(db_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'job_ids_reserved'");
    if (reserved.executeStep()) highest = std::max(highest, reserved.getColumn(0).getInt64());
    // Databases made before ids were assigned here used AUTOINCREMENT.
    if (db_.tableExists("sqlite_sequence")) {
      SQLite::Statement sequence(db_, "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'");
      if (sequence.executeStep()) highest = std::max(highest, sequence.getColumn(0).getInt64());
    }
    next_job_id_ = highest + 1;
    job_ids_reserved_ = committed_job_ids_reserved_ = highest;
  }

  // The next `count` job ids, reserving a new block inside the running
  // transaction when needed.
  std::int64_t take_job_ids(std::size_t count) {
    const std::int64_t first = next_job_id_;
    const std::int64_t last = first + static_cast<std::int64_t>(count) - 1;
    if (last > job_ids_reserved_) {
      const std::int64_t reserve_to = last + job_id_block;
      reserve_job_ids_.bind(1, std::to_string(reserve_to));
      StatementReset reset{reserve_job_ids_};
      reserve_job_ids_.exec();
      job_ids_reserved_ = reserve_to;
    }
    next_job_id_ = last + 1;
    return first;
  }

  // Inserts `rows`, `insert_batch` per statement, with consecutive new ids.
  void insert_rows(std::vector<Row>& rows, std::int64_t now) {
    if (rows.empty()) return;
    std::int64_t id = take_job_ids(rows.size());
    std::size_t start = 0;
    while (start < rows.size()) {
      const std::size_t count = rows.size() - start >= insert_batch ? insert_batch : 1;
      auto& statement = count == insert_batch ? insert_jobs_batch_ : insert_job_;
      StatementReset reset{statement};
      for (std::size_t k = 0; k < count; ++k) {
        auto& row = rows[start + k];
        const int base = static_cast<int>(k * insert_params);
        statement.bindNoCopy(base + 1, row.job->forwarder);
        statement.bindNoCopy(base + 2, row.item->event_id);
        statement.bindNoCopy(base + 3, row.handoff ? "executing" : "available");
        statement.bind(base + 4, row.job->max_attempts);
        statement.bindNoCopy(base + 5, row.item->payload);
        statement.bind(base + 6, static_cast<int64_t>(now));
        statement.bind(base + 7, static_cast<int64_t>(id));
        if (row.outcome) row.outcome->first_job_id = id;
        row.id = id++;
      }
      statement.exec();
      start += count;
    }
  }

  bool over_limits(std::size_t new_jobs) const {
    const auto pending = pending_jobs_ + delta_.pending;
    if (pending + static_cast<std::int64_t>(new_jobs) > static_cast<std::int64_t>(config_.max_pending_jobs)) return true;
    return config_.max_bytes != 0 && used_bytes_ + delta_.bytes >= static_cast<std::int64_t>(config_.max_bytes);
  }

  void run() {
    std::vector<std::unique_ptr<Operation>> batch;
    auto next_maintenance = std::chrono::steady_clock::now();
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait_until(lock, next_maintenance, [&] { return !queue_.empty() || stopping_; });
        // A few delivery outcomes alone wait up to a millisecond for company:
        // at low rates they then share the next enqueue's commit instead of
        // writing (and the checkpointer copying) pages of their own.
        auto only_outcomes = [&] {
          return std::all_of(queue_.begin(), queue_.end(), [](const auto& operation) { return operation->can_wait(); });
        };
        if (!queue_.empty() && only_outcomes())
          wake_.wait_for(lock, std::chrono::milliseconds(1), [&] { return stopping_ || !only_outcomes(); });
        // store.commit_delay: a small commit waits for company, so that at
        // low rates several events share one commit's page writes.
        auto queued_events = [&] {
          std::size_t events = 0;
          for (const auto& operation : queue_) events += operation->events();
          return events;
        };
        if (config_.commit_delay.count() > 0 && !queue_.empty() && queued_events() < small_commit_events)
          wake_.wait_for(lock, config_.commit_delay,
                         [&] { return stopping_ || queued_events() >= small_commit_events; });
        // Since the syncer, not the commit, makes replies durable, transactions
        // can stay small: a reply waits for its own enqueue, not for everyone
        // else's, and its session is back reading while this thread goes on.
        std::size_t take = 0, events = 0;
        while (take < queue_.size() && events < events_per_transaction) events += queue_[take++]->events();
        batch.clear();
        if (!deferred_outcomes_.empty()) {  // they ride along; nobody waits for them
          batch.push_back(deferred_outcomes_operation(std::move(deferred_outcomes_)));
          deferred_outcomes_.clear();
        }
        batch.insert(batch.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + take));
        queue_.erase(queue_.begin(), queue_.begin() + take);
        if (batch.empty() && stopping_) return;
      }
      if (!batch.empty()) run_batch(batch);
      batch.clear();
      if (std::chrono::steady_clock::now() >= next_maintenance) {
        maintain();
        next_maintenance = std::chrono::steady_clock::now() + std::chrono::seconds{1};
      }
    }
  }

  // One transaction for the whole batch (group commit). Each operation runs in
  // its own savepoint, so a request that fails for its own reasons fails alone;
  // a failing disk or a failed COMMIT fails them all.
  void run_batch(std::vector<std::unique_ptr<Operation>>& batch) {
    Delta committed;
    for (auto& [id, forwarder] : forwarders_) forwarder.new_jobs = false;
    // Outcomes of batch jobs that completed change only memory: alone, they
    // need no transaction (at low rates, one write and one wake-up less per event).
    const bool transaction =
        std::any_of(batch.begin(), batch.end(), [](const auto& operation) { return operation->needs_transaction(); });
    const bool enqueues =
        std::any_of(batch.begin(), batch.end(), [](const auto& operation) { return operation->events() > 0; });
    bool ok = true;
    const auto changes_before = sqlite3_total_changes64(db_.getHandle());
    try {
      if (transaction) run_cached(begin_);  // prepared once: at low rates there is a transaction per event
      // Emptied batches go together with new ones, a few dozen at a time: at
      // low rates a commit then writes the newest leaf page only, not also the
      // page of the batch before it. maintain() takes the rest within a second.
      if (enqueues && batches_to_delete_.size() >= batches_deleted_together) delete_emptied_batches();
      for (auto& operation : batch) {
        const Delta before = delta_ = committed;
        const std::size_t handed_before = handed_.size();
        const std::size_t batch_outcomes_before = txn_batch_done_.size();
        const std::int64_t ids_reserved_before = job_ids_reserved_;
        if (transaction && operation->events() == 0) write_batches(unix_millis_now());  // outside its savepoint
        if (transaction) {
          savepoint_.exec();
          savepoint_.reset();
        }
        try {
          operation->execute(*this);
          if (transaction) {
            release_savepoint_.exec();
            release_savepoint_.reset();
          }
          committed = delta_;
        } catch (const SQLite::Exception& e) {
          if (is_environment_error(e.getErrorCode())) throw;
          savepoint_.tryReset();
          release_savepoint_.tryReset();
          db_.exec("ROLLBACK TO operation");
          db_.exec("RELEASE operation");
          committed = before;
          cancel_handoffs(handed_before);
          forget_batch_outcomes_from(batch_outcomes_before);
          job_ids_reserved_ = ids_reserved_before;
          operation->rolled_back(*this);
          operation->fail();
          log_->error("a store request failed and was rolled back alone: {}", e.what());
        }
      }
      if (transaction) {
        write_batches(unix_millis_now());
        run_cached(commit_);
      }
    } catch (const SQLite::Exception& e) {
      ok = false;
      on_failure(e.getErrorCode(), e.what());
    } catch (const std::exception& e) {
      ok = false;
      on_failure(SQLITE_ERROR, e.what());
    }
    if (!ok) {
      cancel_handoffs(0);
      discard_open_batches();
      txn_done_count_.clear();
      txn_batch_done_.clear();
      job_ids_reserved_ = committed_job_ids_reserved_;
    } else {
      committed_job_ids_reserved_ = job_ids_reserved_;
      register_handed_batches();
      apply_batch_outcomes();
    }
    if (ok) {
      pending_jobs_ = std::max<std::int64_t>(0, pending_jobs_ + committed.pending);
      executing_jobs_ = std::max<std::int64_t>(0, executing_jobs_ + committed.executing);
      table_executing_ = std::max<std::int64_t>(0, table_executing_ + committed.table_executing);
      used_bytes_ = std::max<std::int64_t>(0, used_bytes_ + committed.bytes);
      if (!healthy_.exchange(true)) log_->info("job store recovered: commits succeed again");
    }
    {
      std::lock_guard lock(counters_mutex_);
      // Only commits that changed rows count: an idle worker's empty claim
      // must not make the published counters (a row rewritten) change.
      if (ok && sqlite3_total_changes64(db_.getHandle()) != changes_before) counters_.commits++;
      if (ok) counters_.jobs_enqueued += committed.enqueued;
      counters_.store_full_rejections += committed.store_full;
      counters_.pending_jobs = static_cast<std::uint64_t>(pending_jobs_);
      counters_.used_bytes = static_cast<std::uint64_t>(used_bytes_);
    }
    if (committed.store_full > 0)
      log_->warn("store_full: {} event(s) refused for async delivery (pending jobs {}, limit {}; used bytes {}, limit {})",
                 committed.store_full, pending_jobs_, config_.max_pending_jobs, used_bytes_, config_.max_bytes);
    update_full_flag();
    // Workers first: a job may be delivered before its reply is sent (that is
    // still at least once), and a worker never waits for an fdatasync.
    push_handoffs();
    if (ok) announce_new_jobs();
    // Every request completes at once. With durability "fsync", those whose
    // replies depend on this commit carry its DurableCommit, which the syncer's
    // fdatasync of the WAL completes: the sessions read their clients' next
    // events meanwhile, and those join the next commit. Claims and outcomes
    // need no sync: after a power cut at worst a delivered job is delivered again.
    // The writer itself never waits for the disk, not even for one small
    // commit: meanwhile the next events are already waiting to be committed.
    std::shared_ptr<DurableCommit> durable;
    for (auto& operation : batch) {
      if (!ok) {
        operation->rolled_back(*this);
        operation->fail();
      } else if (config_.durability_fsync && operation->needs_durable_commit()) {
        if (!durable) durable = std::make_shared<DurableCommit>();
        operation->durable = durable;
      }
      operation->complete();
    }
    if (durable) {
      {
        std::lock_guard lock(sync_mutex_);
        sync_queue_.push_back(std::move(durable));
      }
      sync_wake_.notify_one();
    }
  }

  // Wakes the workers of forwarders with new jobs (handed over or in the table).
  void announce_new_jobs() {
    std::vector<std::string> with_new_jobs;
    for (const auto& [id, forwarder] : forwarders_)
      if (forwarder.new_jobs) with_new_jobs.push_back(id);
    if (!with_new_jobs.empty() && on_jobs_committed_) on_jobs_committed_(with_new_jobs);
  }

  void on_failure(int code, const char* what) {
    try {
      if (!db_.getHandle() || sqlite3_get_autocommit(db_.getHandle()) == 0) db_.exec("ROLLBACK");
    } catch (...) {
      // The transaction is already gone; the error below says why.
    }
    for (auto* statement : {&insert_job_, &insert_jobs_batch_, &remember_id_, &find_seen_, &claim_due_, &delete_jobs_, &delete_job_,
                            &mark_completed_, &mark_failed_, &admin_generation_, &next_scheduled_, &reserve_job_ids_,
                            &insert_batch_, &next_batch_, &delete_batch_, &jobs_in_range_, &insert_left_job_, &begin_,
                            &commit_, &savepoint_, &release_savepoint_})
      statement->tryReset();
    {
      std::lock_guard lock(counters_mutex_);
      counters_.commit_failures++;
    }
    // A failed commit pauses async intake (auto falls back to sync) until a
    // commit or the periodic probe succeeds; disk-level errors are the usual cause.
    if (healthy_.exchange(false))
      log_->error("job store commit failed ({}), async delivery paused until a commit succeeds: {}",
                  is_environment_error(code) ? "disk or file problem" : "database error", what);
    else
      log_->debug("job store commit failed again: {}", what);
  }

  void update_full_flag() {
    const bool now_full = pending_jobs_ >= static_cast<std::int64_t>(config_.max_pending_jobs) ||
                          (config_.max_bytes != 0 && used_bytes_ >= static_cast<std::int64_t>(config_.max_bytes));
    if (now_full != full_.exchange(now_full)) {
      if (now_full)
        log_->warn("job store full (pending jobs {} / {}, bytes {} / {}): async results are store_full, auto falls back to sync",
                   pending_jobs_, config_.max_pending_jobs, used_bytes_, config_.max_bytes);
      else
        log_->info("job store below its limits again (pending jobs {}, bytes {})", pending_jobs_, used_bytes_);
    }
  }

  // Periodic work between batches, each step cheap whatever the backlog:
  // probe after a failure, prune within a time budget, re-read the size, and
  // recount pending jobs only when the `jobs` CLI changed some.
  void maintain() {
    try {
      if (!healthy_) {
        db_.exec("BEGIN IMMEDIATE");
        SQLite::Statement probe(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('health_probe', ?1)");
        probe.bind(1, format_rfc3339(now_micros()));
        probe.exec();
        db_.exec("COMMIT");
        if (config_.durability_fsync) sync_wal(0);
        healthy_ = true;
        log_->info("job store recovered: a probe commit succeeded");
      }
      if (!batches_to_delete_.empty()) {  // no new batch came to take them along
        db_.exec("BEGIN IMMEDIATE");
        try {
          delete_emptied_batches();
          db_.exec("COMMIT");
        } catch (...) {
          db_.exec("ROLLBACK");
          throw;
        }
      }
      prune();
      refresh_used_bytes();
      if (const auto generation = read_admin_generation(); generation != last_admin_generation_) {
        last_admin_generation_ = generation;
        for (auto& [id, forwarder] : forwarders_) forwarder.may_have_due_jobs = true;  // the CLI may have made some available
        recount_pending();
      }
      update_full_flag();
      publish_counters();
    } catch (const SQLite::Exception& e) {
      on_failure(e.getErrorCode(), e.what());
    }
  }

  // The daemon's counters, readable by `auditfwd jobs stats` from the database.
  void publish_counters() {
    auto snapshot = counters();
    snapshot.store_full_rejections += refused_while_full.load(std::memory_order_relaxed);
    const auto body = fmt::format(
        R"("pending_jobs":{},"executing_jobs":{},"used_bytes":{},"jobs_enqueued":{},"store_full_rejections":{},)"
        R"("commit_failures":{},"commits":{},"healthy":{},"full":{})",
        pending_jobs_, executing_jobs_, used_bytes_, snapshot.jobs_enqueued, snapshot.store_full_rejections,
        snapshot.commit_failures, snapshot.commits, healthy_.load(), full_.load());
    if (body == last_published_) return;  // nothing changed but the time
    SQLite::Statement upsert(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('counters', ?1)");
    upsert.bind(1, fmt::format(R"({{"updated_at":"{}",{}}})", format_rfc3339(now_micros()), body));
    upsert.exec();
    last_published_ = body;
  }

  // Deletes expired rows in one transaction of at most ~50 ms, so ingest waits
  // no longer than that; what is left waits for the next tick.
  void prune() {
    const auto now = unix_millis_now();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    struct Rule {
      const char* sql;
      std::int64_t before;
    };
    // The first state term repeats jobs_finished's own WHERE clause word for
    // word: SQLite uses a partial index only then, and would otherwise scan
    // the whole table (every pending job) once a second.
    const Rule rules[] = {
        {"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('completed','discarded','cancelled') "
         "AND state = 'completed' AND finished_at < ?1 LIMIT 1000)",
         now - config_.completed_retention.count()},
        {"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('completed','discarded','cancelled') "
         "AND state IN ('discarded','cancelled') AND finished_at < ?1 LIMIT 1000)",
         now - config_.dead_retention.count()},
        {"DELETE FROM seen_ids WHERE id IN (SELECT id FROM seen_ids WHERE seen_at < ?1 LIMIT 1000)",
         now - config_.idempotency_window.count()},
    };
    db_.exec("BEGIN IMMEDIATE");
    try {
      for (const auto& rule : rules) {
        SQLite::Statement statement(db_, rule.sql);
        while (std::chrono::steady_clock::now() < deadline) {
          statement.bind(1, static_cast<int64_t>(rule.before));
          const int removed = statement.exec();
          statement.reset();
          if (removed < 1000) break;
        }
      }
      db_.exec("COMMIT");
    } catch (...) {
      db_.exec("ROLLBACK");
      throw;
    }
  }

  std::string read_admin_generation() {
    StatementReset reset{admin_generation_};
    return admin_generation_.executeStep() ? admin_generation_.getColumn(0).getString() : std::string();
  }

  // Full count of waiting jobs (the partial index, never the table); executing
  // jobs are counted in memory from claims and finishes.
  void recount_pending() {
    const auto waiting = db_.execAndGet("SELECT count(*) FROM jobs WHERE state IN ('available','retryable')").getInt64();
    pending_jobs_ = waiting + table_executing_ + jobs_in_batches(db_);
    std::lock_guard lock(counters_mutex_);
    counters_.pending_jobs = static_cast<std::uint64_t>(pending_jobs_);
  }

  void refresh_used_bytes() {
    const auto pages = db_.execAndGet("PRAGMA page_count").getInt64();
    const auto free_pages = db_.execAndGet("PRAGMA freelist_count").getInt64();
    const auto page_size = db_.execAndGet("PRAGMA page_size").getInt64();
    used_bytes_ = (pages - free_pages) * page_size;
    std::lock_guard lock(counters_mutex_);
    counters_.used_bytes = static_cast<std::uint64_t>(used_bytes_);
  }

  // Oban's rescue: an attempt cut short by a crash is retried, unless it was the last.
  void rescue_interrupted_jobs() {
    const auto now = unix_millis_now();
    const std::string at = format_rfc3339(now_micros());
    // Jobs handed to a worker whose attempt was never recorded: back in line,
    // no attempt spent (one cut short in delivery goes uncounted this once).
    SQLite::Statement unstarted(db_, "UPDATE jobs SET state = 'available', scheduled_at = ?1 "
                                     "WHERE state = 'executing' AND attempted_at IS NULL");
    unstarted.bind(1, static_cast<int64_t>(now));
    const int requeued = unstarted.exec();
    if (requeued > 0)
      log_->warn("put {} job(s) handed to workers by an unclean stop back in line (no attempt recorded yet)", requeued);
    SQLite::Statement discard(db_, "UPDATE jobs SET state = 'discarded', finished_at = ?1, "
                                   "errors = json_insert(coalesce(errors, '[]'), '$[#]', json_object('attempt', attempt, "
                                   "'at', ?2, 'error', 'interrupted: the daemon stopped during the last allowed attempt')) "
                                   "WHERE state = 'executing' AND attempt >= max_attempts");
    discard.bind(1, static_cast<int64_t>(now));
    discard.bind(2, at);
    const int discarded = discard.exec();
    SQLite::Statement rescue(db_, "UPDATE jobs SET state = 'available', scheduled_at = ?1, "
                                  "errors = json_insert(coalesce(errors, '[]'), '$[#]', json_object('attempt', attempt, "
                                  "'at', ?2, 'error', 'interrupted: the daemon stopped during this attempt')) "
                                  "WHERE state = 'executing'");
    rescue.bind(1, static_cast<int64_t>(now));
    rescue.bind(2, at);
    const int rescued = rescue.exec();
    if (rescued + discarded > 0)
      log_->warn("rescued {} job(s) left executing by an unclean stop ({} discarded: attempts exhausted)",
                 rescued + discarded, discarded);
  }

  // A graceful stop: what completed in the batches still in delivery is
  // taken out of them, so the next start delivers only what did not.
  void record_batch_progress() {
    std::size_t rewritten = 0;
    try {
      SQLite::Transaction transaction(db_);
      delete_emptied_batches();
      SQLite::Statement read(db_, "SELECT payload FROM batches WHERE id = ?1");
      SQLite::Statement update(db_, "UPDATE batches SET payload = ?2, events = ?3, first_job = ?4, last_job = ?5 WHERE id = ?1");
      for (auto& [batch_id, live] : live_batches_) {
        if (live.completed.empty()) continue;
        read.bind(1, static_cast<int64_t>(batch_id));
        if (!read.executeStep()) {
          read.reset();
          continue;
        }
        const auto blob = read.getColumn(0);
        auto jobs = decode_event_batch(std::string_view(static_cast<const char*>(blob.getBlob()),
                                                        static_cast<std::size_t>(blob.getBytes())));
        read.reset();
        std::sort(live.completed.begin(), live.completed.end());
        const auto left = jobs.empty() ? std::vector<std::int64_t>{}
                                       : jobs_that_left(live.forwarder, jobs.front().job_id, jobs.back().job_id);
        EventBatchWriter writer;
        for (const auto& job : jobs)
          if (!std::binary_search(live.completed.begin(), live.completed.end(), job.job_id) &&
              !std::binary_search(left.begin(), left.end(), job.job_id))
            writer.add(job.job_id, job.payload);
        if (writer.jobs() == 0) {
          StatementReset reset{delete_batch_};
          delete_batch_.bind(1, static_cast<int64_t>(batch_id));
          delete_batch_.exec();
        } else {
          const auto events = writer.jobs();
          const auto first = writer.first_job_id(), last = writer.last_job_id();
          const auto rewritten_blob = writer.finish();
          update.bind(1, static_cast<int64_t>(batch_id));
          update.bind(2, rewritten_blob.data(), static_cast<int>(rewritten_blob.size()));
          update.bind(3, static_cast<int64_t>(events));
          update.bind(4, static_cast<int64_t>(first));
          update.bind(5, static_cast<int64_t>(last));
          update.exec();
          update.reset();
        }
        ++rewritten;
      }
      transaction.commit();
      if (rewritten > 0) log_->info("recorded what completed in {} batch(es) still in delivery at shutdown", rewritten);
    } catch (const std::exception& e) {
      log_->error("could not record the deliveries of batches in flight at shutdown (the next start delivers them "
                  "again): {}", e.what());
    }
    live_batches_.clear();
  }

  void release_all_executing() {
    try {
      const int released = db_.exec(
          "UPDATE jobs SET state = 'available', attempt = max(attempt - 1, 0) WHERE state = 'executing'");
      if (released > 0) log_->info("released {} job(s) still in delivery at shutdown back to available", released);
    } catch (const SQLite::Exception& e) {
      log_->error("could not release in-flight jobs at shutdown (they are rescued at the next start): {}", e.what());
    }
  }

  StoreConfig config_;
  std::atomic<bool>& healthy_;
  std::atomic<bool>& full_;
  std::shared_ptr<spdlog::logger> log_;
  SQLite::Database db_;
  SQLite::Statement insert_job_, insert_jobs_batch_, remember_id_, find_seen_, claim_due_, delete_jobs_, delete_job_,
      mark_completed_, mark_failed_, admin_generation_, next_scheduled_, reserve_job_ids_, insert_batch_, next_batch_,
      delete_batch_, jobs_in_range_, insert_left_job_, begin_, commit_, savepoint_, release_savepoint_;

  std::thread thread_;
  std::thread checkpointer_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  enum class CheckpointState { idle, running, copied };  // copied: the bulk pass is done
  CheckpointState checkpoint_state_ = CheckpointState::idle;
  int checkpoint_backfilled_ = 0;  // frames the last bulk pass copied
  bool checkpoint_stop_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Operation>> queue_;
  std::vector<JobFinish> deferred_outcomes_;  // see defer_if_memory_only
  bool stopping_ = false;
  std::function<void(const std::vector<std::string>&)> on_jobs_committed_;

  // Commits waiting for the syncer (durability "fsync" only).
  static constexpr std::size_t syncer_count = 2;
  std::array<std::thread, syncer_count> syncers_;
  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;
  std::vector<std::shared_ptr<DurableCommit>> sync_queue_;
  bool sync_stop_ = false;
  std::array<int, syncer_count + 1> wal_fds_{-1, -1, -1};  // the writer's, then one per syncer

  // Writer-thread state.
  std::int64_t pending_jobs_ = 0;    // available + retryable + executing
  std::int64_t executing_jobs_ = 0;  // claimed and not finished
  std::int64_t used_bytes_ = 0;
  Delta delta_;  // the running transaction's changes
  std::int64_t next_job_id_ = 1;
  std::int64_t job_ids_reserved_ = 0;            // in the running transaction
  std::int64_t committed_job_ids_reserved_ = 0;  // in the database (committed)
  std::unordered_map<std::string, ForwarderJobs> forwarders_;
  const std::string* last_forwarder_id_ = nullptr;
  ForwarderJobs* last_forwarder_ = nullptr;
  std::vector<std::pair<JobHandoff*, ClaimedJob>> handed_;  // this transaction's handoffs
  std::int64_t next_batch_id_ = 1;
  std::vector<OpenBatch> txn_batches_;            // this transaction's batches
  std::vector<EventBatchWriter> spare_writers_;   // their buffers, kept for the next transactions
  std::vector<char> blob_buffer_;                 // the compressed blob being inserted
  std::unordered_map<std::int64_t, LiveBatch> live_batches_;
  // Per batch job ended in this transaction: its batch, and its id if it
  // completed with nothing recorded (no completed_retention), else 0.
  std::vector<std::pair<std::int64_t, std::int64_t>> txn_batch_done_;
  std::unordered_map<std::int64_t, std::size_t> txn_done_count_;  // the same, counted per batch
  std::vector<std::int64_t> batches_to_delete_;   // every job ended or left; deleted in a later transaction
  std::int64_t table_executing_ = 0;              // claimed rows of the jobs table
  std::string last_published_;
  std::string last_admin_generation_;

  mutable std::mutex counters_mutex_;
  StoreCounters counters_;
};

namespace {

class EnqueueOperation final : public Operation {
 public:
  EnqueueOperation(std::vector<EnqueueItem> items,
                   asio::any_completion_handler<void(std::vector<EnqueueOutcome>, std::shared_ptr<DurableCommit>)> handler)
      : items_(std::move(items)), handler_(std::move(handler)) {}
  void execute(JobStore::Impl& store) override { store.enqueue(items_, outcomes_); }
  bool needs_durable_commit() const override { return true; }
  std::size_t events() const override { return items_.size(); }
  void fail() override {
    outcomes_.assign(items_.size(), EnqueueOutcome{errc::store_error});
  }
  void complete() override { complete_on_own_executor(std::move(handler_), std::move(outcomes_), std::move(durable)); }

 private:
  std::vector<EnqueueItem> items_;
  std::vector<EnqueueOutcome> outcomes_;
  asio::any_completion_handler<void(std::vector<EnqueueOutcome>, std::shared_ptr<DurableCommit>)> handler_;
};

class FindSeenOperation final : public Operation {
 public:
  FindSeenOperation(std::vector<IdempotencyKey> keys,
                    asio::any_completion_handler<void(boost::system::error_code, std::vector<SeenStatus>,
                                                      std::shared_ptr<DurableCommit>)>
                        handler)
      : keys_(std::move(keys)), handler_(std::move(handler)) {}
  void execute(JobStore::Impl& store) override { store.find_seen(keys_, seen_); }
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
  asio::any_completion_handler<void(boost::system::error_code, std::vector<SeenStatus>, std::shared_ptr<DurableCommit>)>
      handler_;
};

class ClaimOperation final : public Operation {
 public:
  ClaimOperation(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes,
                 asio::any_completion_handler<void(boost::system::error_code, std::vector<ClaimedJob>)> handler)
      : forwarder_(std::move(forwarder)), max_jobs_(max_jobs), max_bytes_(max_bytes), handler_(std::move(handler)) {}
  void execute(JobStore::Impl& store) override { store.claim(forwarder_, max_jobs_, max_bytes_, jobs_); }
  void rolled_back(JobStore::Impl& store) override { store.unclaim(forwarder_, jobs_); }
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
  asio::any_completion_handler<void(boost::system::error_code, std::vector<ClaimedJob>)> handler_;
};

// Completed batch jobs recorded by finish_without_commit: memory only, no caller.
class DeferredOutcomes final : public Operation {
 public:
  explicit DeferredOutcomes(std::vector<JobFinish> finishes) : finishes_(std::move(finishes)) {}
  void execute(JobStore::Impl& store) override { store.finish(finishes_); }
  bool needs_transaction() const override { return false; }
  void fail() override {}
  void complete() override {}

 private:
  std::vector<JobFinish> finishes_;
};

}  // namespace

std::unique_ptr<Operation> deferred_outcomes_operation(std::vector<JobFinish> finishes) {
  return std::make_unique<DeferredOutcomes>(std::move(finishes));
}

namespace {

class FinishOperation final : public Operation {
 public:
  FinishOperation(std::vector<JobFinish> finishes, bool completed_leave_no_row,
                  asio::any_completion_handler<void(boost::system::error_code)> handler)
      : finishes_(std::move(finishes)), handler_(std::move(handler)) {
    memory_only_ = completed_leave_no_row && std::all_of(finishes_.begin(), finishes_.end(), [](const JobFinish& f) {
                     return f.batch_id != 0 && f.state == JobState::completed;
                   });
  }
  bool needs_transaction() const override { return !memory_only_; }
  void execute(JobStore::Impl& store) override { store.finish(finishes_); }
  // Only small ones: under load the writer has the time now, not later.
  bool can_wait() const override { return finishes_.size() < small_commit_events; }
  void fail() override { error_ = errc::store_error; }
  void complete() override { complete_on_own_executor(std::move(handler_), error_); }

 private:
  std::vector<JobFinish> finishes_;
  bool memory_only_ = false;
  boost::system::error_code error_;
  asio::any_completion_handler<void(boost::system::error_code)> handler_;
};

}  // namespace

JobStore::JobStore(StoreConfig config) : impl_(std::make_unique<Impl>(std::move(config), healthy_, full_)) {
}

JobStore::~JobStore() { stop(); }

void JobStore::start(std::function<void(const std::vector<std::string>&)> on_jobs_committed) {
  impl_->start(std::move(on_jobs_committed));
}

void JobStore::add_handoff(const std::string& forwarder, std::shared_ptr<JobHandoff> handoff) {
  impl_->add_handoff(forwarder, std::move(handoff));
}

void JobStore::stop() { impl_->stop(); }

void JobStore::count_store_full_refusal() noexcept {
  impl_->refused_while_full.fetch_add(1, std::memory_order_relaxed);
}

StoreCounters JobStore::counters() const {
  auto counters = impl_->counters();
  counters.store_full_rejections += impl_->refused_while_full.load(std::memory_order_relaxed);
  return counters;
}

void JobStore::submit_enqueue(
    std::vector<EnqueueItem> items,
    asio::any_completion_handler<void(std::vector<EnqueueOutcome>, std::shared_ptr<DurableCommit>)> handler) {
  impl_->submit(std::make_unique<EnqueueOperation>(std::move(items), std::move(handler)));
}

void JobStore::submit_find_seen(
    std::vector<IdempotencyKey> keys,
    asio::any_completion_handler<void(boost::system::error_code, std::vector<SeenStatus>, std::shared_ptr<DurableCommit>)>
        handler) {
  impl_->submit(std::make_unique<FindSeenOperation>(std::move(keys), std::move(handler)));
}

void JobStore::submit_claim(std::string forwarder, std::size_t max_jobs, std::size_t max_bytes,
                            asio::any_completion_handler<void(boost::system::error_code, std::vector<ClaimedJob>)> handler) {
  impl_->submit(std::make_unique<ClaimOperation>(std::move(forwarder), max_jobs, max_bytes, std::move(handler)));
}

bool JobStore::finish_without_commit(std::vector<JobFinish>& finishes) { return impl_->defer_if_memory_only(finishes); }

void JobStore::submit_finish(std::vector<JobFinish> finishes,
                             asio::any_completion_handler<void(boost::system::error_code)> handler) {
  impl_->submit(std::make_unique<FinishOperation>(std::move(finishes), impl_->completed_leave_no_row(),
                                                  std::move(handler)));
}

}  // namespace auditfwd
