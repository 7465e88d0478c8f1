// The writer loop: take queued requests, run them in one transaction, commit,
// hand results over, and between turns keep the store tidy.
#include "store/store_writer.hpp"

#include "common/time_format.hpp"
#include "metrics/daemon_metrics.hpp"
#include "store/progress_clock.hpp"
#include "store/schema.hpp"

#include <SQLiteCpp/Exception.h>
#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <algorithm>

namespace auditfwd {
namespace {

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
    case SQLITE_LOCKED: return true;
    default: return false;
  }
}

// A transaction takes queued requests until they carry this many events:
// enough to amortize the commit's page writes over many small requests, few
// enough that a large request does not wait behind the others.
constexpr std::size_t events_per_transaction = 512;
// Emptied batches wait until this many can go in one commit (or a second passes).
constexpr std::size_t batches_deleted_together = 32;

}  // namespace

StoreWriter::StoreWriter(StoreConfig config, std::atomic<bool>& healthy, std::atomic<bool>& full)
    : config_(std::move(config)),
      healthy_(healthy),
      log_(spdlog::default_logger()->clone("store")),
      db_(open_store_database(config_.path, config_.durability_fsync)),
      begin_(db_, "BEGIN IMMEDIATE"),
      commit_(db_, "COMMIT"),
      savepoint_(db_, "SAVEPOINT operation"),
      release_savepoint_(db_, "RELEASE operation"),
      table_(db_),
      ids_(db_),
      limits_(config_, full, log_),
      router_(forwarders_),
      batches_(db_, table_, forwarders_, log_, !completed_leave_no_row()),
      requests_({config_, table_, batches_, router_, ids_, limits_, forwarders_}),
      checkpointer_(db_, config_.path, config_.durability_fsync, log_) {
  // The writer never syncs inside COMMIT: with durability "fsync" the syncer
  // makes each commit durable while the writer already runs the next
  // transaction. Checkpoints still sync the WAL and the database.
  db_.exec("PRAGMA synchronous=NORMAL");
  rescue_interrupted_jobs();
  recount_pending();
  limits_.measure_used_bytes(db_);
  last_admin_generation_ = table_.admin_generation();
  limits_.update_full_flag();
  if (config_.durability_fsync) syncer_.emplace(db_.getHandle(), log_);
  healthy_ = true;
}

StoreWriter::~StoreWriter() { stop(); }

// Oban's rescue: an attempt cut short by a crash is retried, unless it was the last.
void StoreWriter::rescue_interrupted_jobs() {
  const auto now = unix_millis_now();
  const auto rescue = table_.rescue_interrupted(now, format_rfc3339(now_micros()));
  if (rescue.requeued > 0)
    log_->warn("put {} job(s) handed to workers by an unclean stop back in line (no attempt recorded yet)",
               rescue.requeued);
  if (rescue.rescued + rescue.discarded > 0)
    log_->warn("rescued {} job(s) left executing by an unclean stop ({} discarded: attempts exhausted)",
               rescue.rescued + rescue.discarded, rescue.discarded);
}

bool StoreWriter::defer_if_memory_only(std::vector<JobFinish>& finishes) {
  if (!completed_leave_no_row() || !only_completed_batch_jobs(finishes)) return false;
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  deferred_outcomes_.insert(deferred_outcomes_.end(), std::make_move_iterator(finishes.begin()),
                            std::make_move_iterator(finishes.end()));
  return true;
}

void StoreWriter::add_handoff(const std::string& forwarder, std::shared_ptr<JobHandoff> handoff) {
  forwarders_[forwarder].handoff = std::move(handoff);
}

void StoreWriter::start(std::function<void(const std::vector<std::string>&)> on_jobs_committed) {
  on_jobs_committed_ = std::move(on_jobs_committed);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "auditfwd-store");  // visible in top -H, perf, gdb
    run();
  });
  checkpointer_.start();
  if (syncer_) syncer_->start();
}

void StoreWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (syncer_) syncer_->stop();  // the writer has handed over its last commits; the syncer finishes them
  checkpointer_.stop();
  batches_.record_progress_at_stop();
  try {
    const int released = table_.release_executing();
    if (released > 0) log_->info("released {} job(s) still in delivery at shutdown back to available", released);
  } catch (const SQLite::Exception& e) {
    log_->error("could not release in-flight jobs at shutdown (they are rescued at the next start): {}", e.what());
  }
}

std::chrono::milliseconds StoreWriter::stalled_for() const noexcept {
  const auto now = steady_millis_now();
  std::int64_t since = now;
  if (const auto turn = last_turn_ms_.load(); turn != 0) since = turn;  // 0: not started yet
  if (syncer_)
    if (const auto sync = syncer_->oldest_sync_started_ms(); sync != 0) since = std::min(since, sync);
  return std::chrono::milliseconds(std::max<std::int64_t>(0, now - since));
}

void StoreWriter::submit(std::unique_ptr<StoreOperation> operation) {
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

void StoreWriter::run() {
  next_maintenance_ = std::chrono::steady_clock::now();
  for (;;) {
    last_turn_ms_ = steady_millis_now();
    auto operations = next_turn();
    last_turn_ms_ = steady_millis_now();
    if (operations.empty()) {
      std::lock_guard lock(mutex_);
      if (stopping_ && queue_.empty()) return;
    } else {
      run_transaction(operations);
    }
    if (std::chrono::steady_clock::now() >= next_maintenance_) {
      maintain();
      next_maintenance_ = std::chrono::steady_clock::now() + std::chrono::seconds{1};
    }
  }
}

// Waits for requests (or the next maintenance) and takes a transaction's worth.
std::vector<std::unique_ptr<StoreOperation>> StoreWriter::next_turn() {
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, next_maintenance_, [&] { return !queue_.empty() || stopping_; });
  // A few delivery outcomes alone wait up to a millisecond for company: at
  // low rates they then share the next enqueue's commit instead of writing
  // (and the checkpointer copying) pages of their own.
  auto only_outcomes = [&] {
    return std::all_of(queue_.begin(), queue_.end(), [](const auto& operation) { return operation->can_wait(); });
  };
  if (!queue_.empty() && only_outcomes())
    wake_.wait_for(lock, std::chrono::milliseconds(1), [&] { return stopping_ || !only_outcomes(); });
  // store.commit_delay: a small commit waits for company, so that at low
  // rates several events share one commit's page writes.
  auto queued_events = [&] {
    std::size_t events = 0;
    for (const auto& operation : queue_) events += operation->events();
    return events;
  };
  if (config_.commit_delay.count() > 0 && !queue_.empty() && queued_events() < small_commit_events)
    wake_.wait_for(lock, config_.commit_delay, [&] { return stopping_ || queued_events() >= small_commit_events; });
  // Since the syncer, not the commit, makes replies durable, transactions can
  // stay small: a reply waits for its own enqueue, not for everyone else's,
  // and its session is back reading while this thread goes on.
  std::size_t take = 0, events = 0;
  while (take < queue_.size() && events < events_per_transaction) events += queue_[take++]->events();
  std::vector<std::unique_ptr<StoreOperation>> operations;
  if (!deferred_outcomes_.empty()) {  // they ride along; nobody waits for them
    operations.push_back(deferred_outcomes_operation(std::move(deferred_outcomes_)));
    deferred_outcomes_.clear();
  }
  operations.insert(operations.end(), std::make_move_iterator(queue_.begin()),
                    std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(take)));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
  return operations;
}

// One transaction for all `operations` (group commit).
void StoreWriter::run_transaction(std::vector<std::unique_ptr<StoreOperation>>& operations) {
  StoreDelta committed;
  for (auto& [id, forwarder] : forwarders_) forwarder.new_jobs = false;
  // Outcomes of batch jobs that completed change only memory: alone, they
  // need no transaction (at low rates, one write and one wake-up less per event).
  const bool transaction = std::any_of(operations.begin(), operations.end(),
                                       [](const auto& operation) { return operation->needs_transaction(); });
  const bool enqueues =
      std::any_of(operations.begin(), operations.end(), [](const auto& operation) { return operation->events() > 0; });
  bool ok = true;
  const auto changes_before = sqlite3_total_changes64(db_.getHandle());
  const auto started = std::chrono::steady_clock::now();
  try {
    if (transaction) run_cached(begin_);  // prepared once: at low rates there is a transaction per event
    // Emptied batches go together with new ones, a few dozen at a time.
    if (enqueues && batches_.emptied() >= batches_deleted_together) batches_.delete_emptied();
    for (auto& operation : operations) run_operation(*operation, committed, transaction);
    if (transaction) {
      batches_.write_open(unix_millis_now());
      run_cached(commit_);
    }
  } catch (const SQLite::Exception& e) {
    ok = false;
    on_failure(e.getErrorCode(), e.what());
  } catch (const std::exception& e) {
    ok = false;
    on_failure(SQLITE_ERROR, e.what());
  }
  if (transaction) daemon_metrics().commit_seconds.observe(std::chrono::steady_clock::now() - started);
  if (ok) {
    ids_.committed();
    batches_.committed();
    // Only a commit that wrote proves the disk takes writes again: one that
    // changed nothing (an idle claim) succeeds on a full disk too.
    if (sqlite3_total_changes64(db_.getHandle()) != changes_before && !healthy_.exchange(true))
      log_->info("job store recovered: commits succeed again");
  } else {
    router_.cancel_from(0);
    batches_.rolled_back();
    ids_.rolled_back();
  }
  // Only commits that changed rows count: an idle worker's empty claim must
  // not make the published counters (a row rewritten) change.
  limits_.apply(committed, ok, sqlite3_total_changes64(db_.getHandle()) != changes_before);
  limits_.update_full_flag();
  // Workers first: a job may be delivered before its reply is sent (that is
  // still at least once), and a worker never waits for an fdatasync.
  router_.push_all();
  if (ok) announce_new_jobs();
  complete(operations, ok);
}

// One operation in its own savepoint: when it fails for its own reasons, it
// alone is rolled back, in the database and in the writer's memory.
void StoreWriter::run_operation(StoreOperation& operation, StoreDelta& committed, bool transaction) {
  limits_.transaction = committed;
  const auto handed_mark = router_.mark();
  const auto outcomes_mark = batches_.outcomes_mark();
  const auto ids_reserved = ids_.reserved();
  if (transaction && operation.events() == 0) batches_.write_open(unix_millis_now());  // outside its savepoint
  if (transaction) {
    savepoint_.exec();
    savepoint_.reset();
  }
  try {
    operation.execute(requests_);
    if (transaction) {
      release_savepoint_.exec();
      release_savepoint_.reset();
    }
    committed = limits_.transaction;
  } catch (const SQLite::Exception& e) {
    if (is_environment_error(e.getErrorCode())) throw;
    savepoint_.tryReset();
    release_savepoint_.tryReset();
    db_.exec("ROLLBACK TO operation");
    db_.exec("RELEASE operation");
    router_.cancel_from(handed_mark);
    batches_.forget_outcomes_from(outcomes_mark);
    ids_.restore(ids_reserved);
    operation.rolled_back(requests_);
    operation.fail();
    log_->error("a store request failed and was rolled back alone: {}", e.what());
  }
}

// Every request completes at once. With durability "fsync", those whose
// replies depend on this commit carry its DurableCommit, which the syncer's
// fdatasync of the WAL completes: the sessions read their clients' next
// events meanwhile, and those join the next commit. Claims and outcomes need
// no sync: after a power cut at worst a delivered job is delivered again. The
// writer itself never waits for the disk, not even for one small commit.
void StoreWriter::complete(std::vector<std::unique_ptr<StoreOperation>>& operations, bool ok) {
  std::shared_ptr<DurableCommit> durable;
  for (auto& operation : operations) {
    if (!ok) {
      operation->rolled_back(requests_);
      operation->fail();
    } else if (syncer_ && operation->needs_durable_commit()) {
      if (!durable) durable = std::make_shared<DurableCommit>();
      operation->durable = durable;
    }
    operation->complete();
  }
  if (durable) syncer_->submit(std::move(durable));
}

// Wakes the workers of forwarders with new jobs (handed over or stored).
void StoreWriter::announce_new_jobs() {
  std::vector<std::string> with_new_jobs;
  for (const auto& [id, forwarder] : forwarders_)
    if (forwarder.new_jobs) with_new_jobs.push_back(id);
  if (!with_new_jobs.empty() && on_jobs_committed_) on_jobs_committed_(with_new_jobs);
}

void StoreWriter::on_failure(int code, const char* what) {
  try {
    if (!db_.getHandle() || sqlite3_get_autocommit(db_.getHandle()) == 0) db_.exec("ROLLBACK");
  } catch (...) {
    // The transaction is already gone; the error below says why.
  }
  table_.reset_statements();
  for (auto* statement : {&begin_, &commit_, &savepoint_, &release_savepoint_}) statement->tryReset();
  limits_.count_commit_failure();
  // A failed commit pauses async intake (auto falls back to sync) until a
  // commit or the periodic probe succeeds; disk-level errors are the usual cause.
  // The first failure of an episode is an error line; so is a failure after a
  // recovery, but at most one a second, with how many were held back.
  const bool was_healthy = healthy_.exchange(false);
  ++failures_not_logged_;
  const auto now = std::chrono::steady_clock::now();
  if (was_healthy && now >= next_failure_log_) {
    log_->error("job store commit failed ({}), async delivery paused until a commit succeeds: {}{}",
                is_environment_error(code) ? "disk or file problem" : "database error", what,
                failures_not_logged_ > 1
                    ? fmt::format(" ({} failed commits since the last such line)", failures_not_logged_)
                    : std::string());
    failures_not_logged_ = 0;
    next_failure_log_ = now + std::chrono::seconds(1);
  } else {
    log_->debug("job store commit failed again: {}", what);
  }
}

// Between turns, each step cheap whatever the backlog: probe after a failure,
// delete emptied batches, prune within a time budget, re-read the size, and
// recount pending jobs only when the `jobs` CLI changed some.
void StoreWriter::maintain() {
  auto in_transaction = [&](auto&& work) {
    db_.exec("BEGIN IMMEDIATE");
    try {
      work();
      db_.exec("COMMIT");
    } catch (...) {
      db_.exec("ROLLBACK");
      throw;
    }
  };
  try {
    if (!healthy_) {
      db_.exec("BEGIN IMMEDIATE");
      SQLite::Statement probe(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('health_probe', ?1)");
      probe.bind(1, format_rfc3339(now_micros()));
      probe.exec();
      db_.exec("COMMIT");
      if (syncer_) syncer_->sync_now();
      healthy_ = true;
      log_->info("job store recovered: a probe commit succeeded");
    }
    if (batches_.emptied() > 0) in_transaction([&] { batches_.delete_emptied(); });  // no new batch took them along
    // Expired rows in one transaction of at most ~50 ms, so ingest waits no
    // longer than that; what is left waits for the next tick.
    const auto now = unix_millis_now();
    in_transaction([&] {
      const auto dead_before = config_.dead_retention ? now - config_.dead_retention->count() : INT64_MIN;
      table_.prune({now - config_.completed_retention.count(), dead_before, now - config_.idempotency_window.count()},
                   std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    });
    limits_.measure_used_bytes(db_);
    if (const auto generation = table_.admin_generation(); generation != last_admin_generation_) {
      last_admin_generation_ = generation;
      router_.assume_due_jobs();  // the CLI may have made some available
      recount_pending();
    }
    limits_.update_full_flag();
    limits_.publish(db_, healthy_.load());
  } catch (const SQLite::Exception& e) {
    on_failure(e.getErrorCode(), e.what());
  }
}

// Full count of waiting jobs; those in delivery are counted in memory.
void StoreWriter::recount_pending() { limits_.recount_pending(table_.count_waiting(), jobs_in_batches(db_)); }

void StoreWriter::run_cached(SQLite::Statement& statement) {
  StatementReset reset{statement};
  statement.exec();
}

}  // namespace auditfwd
