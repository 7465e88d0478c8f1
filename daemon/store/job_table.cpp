// The SQL of the jobs and seen_ids tables, as the store's writer runs it.
#include "store/job_table.hpp"

#include "store/schema.hpp"

#include <boost/json.hpp>
#include <cstring>

namespace auditfwd {
namespace {

// Delivered rows are deleted this many per statement, the rest one by one (an
// IN list builds a temporary index per statement, so it pays only when long).
constexpr std::size_t delete_chunk = 128;

std::string placeholders(std::size_t count) {
  std::string out;
  for (std::size_t i = 1; i <= count; ++i) out += (i > 1 ? ",?" : "?") + std::to_string(i);
  return out;
}

// The id of a stored event, for the row of a job that leaves its batch.
std::string stamped_event_id(const std::string& payload) {
  try {
    return Event::from_json(payload).id;
  } catch (const std::exception&) {
    return {};
  }
}

// A job's error list with its first entry, as mark_failed appends them.
std::string error_list(int attempt, const std::string& at, const std::string& error) {
  boost::json::array errors;
  errors.push_back(boost::json::object{{"attempt", attempt}, {"at", at}, {"error", error}});
  return boost::json::serialize(errors);
}

const std::string waiting(waiting_jobs_clause);
const std::string finished(finished_jobs_clause);

}  // namespace

JobTable::JobTable(SQLite::Database& db)
    : db_(db),
      remember_id_(db,
                   "INSERT INTO seen_ids (id, seen_at, uid, digest) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, uid = excluded.uid, "
                   "digest = excluded.digest WHERE seen_ids.seen_at < ?5"),
      find_seen_(db, "SELECT uid, digest FROM seen_ids WHERE id = ?1 AND seen_at >= ?2"),
      // One statement claims a batch: the due jobs, oldest first, up to a count
      // and (past the first job) a running payload size in bytes.
      claim_due_(db,
                 "UPDATE OR FAIL jobs SET state = 'executing', attempt = attempt + 1, attempted_at = ?2 "
                 "WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER w AS n, "
                 "sum(length(CAST(payload AS BLOB))) OVER w AS running FROM (SELECT id, scheduled_at, payload "
                 "FROM jobs WHERE forwarder = ?1 AND " +
                     waiting +
                     " AND scheduled_at <= ?2 "
                     "ORDER BY scheduled_at, id LIMIT ?3) WINDOW w AS (ORDER BY scheduled_at, id)) "
                     "WHERE n = 1 OR running <= ?4) "
                     "RETURNING id, attempt, max_attempts, payload"),
      next_scheduled_(db, "SELECT min(scheduled_at) FROM jobs WHERE forwarder = ?1 AND " + waiting),
      // Outcomes record the attempt too: a job claimed from a stored batch
      // has its first attempt written here, not when it was claimed.
      mark_completed_(db,
                      "UPDATE OR FAIL jobs SET state = 'completed', finished_at = ?2, attempt = max(attempt, ?3), "
                      "attempted_at = coalesce(attempted_at, ?2) WHERE id = ?1 AND state = 'executing'"),
      mark_failed_(db,
                   "UPDATE OR FAIL jobs SET state = ?2, scheduled_at = ?3, finished_at = ?4, "
                   "attempt = max(attempt, ?5), attempted_at = coalesce(attempted_at, ?8), "
                   "errors = json_insert(CASE WHEN json_valid(errors) THEN errors ELSE '[]' END, '$[#]', "
                   "json_object('attempt', ?5, 'at', ?6, 'error', ?7)) "
                   "WHERE id = ?1 AND state = 'executing' RETURNING forwarder"),
      delete_jobs_(db, "DELETE FROM jobs WHERE state = 'executing' AND id IN (" + placeholders(delete_chunk) + ")"),
      delete_job_(db, "DELETE FROM jobs WHERE state = 'executing' AND id = ?1"),
      insert_left_job_(db,
                       "INSERT OR FAIL INTO jobs (id, forwarder, event_id, state, attempt, max_attempts, payload, "
                       "errors, inserted_at, scheduled_at, attempted_at, finished_at, batch_id) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9, ?11, ?12)"),
      ids_in_range_(db, "SELECT id FROM jobs WHERE id BETWEEN ?2 AND ?3 AND forwarder = ?1 ORDER BY id"),
      admin_generation_(db, "SELECT coalesce((SELECT value FROM meta WHERE key = 'admin_generation'), '')") {}

void JobTable::remember_id(const EnqueueItem& item, std::int64_t now_ms, std::int64_t window_start_ms) {
  StatementReset reset{remember_id_};
  remember_id_.bind(1, item.event_id);
  remember_id_.bind(2, static_cast<int64_t>(now_ms));
  remember_id_.bind(3, static_cast<int64_t>(item.sender_uid));
  remember_id_.bindNoCopy(4, item.content_digest.data(), static_cast<int>(item.content_digest.size()));
  remember_id_.bind(5, static_cast<int64_t>(window_start_ms));
  remember_id_.exec();
}

SeenStatus JobTable::find_seen(const IdempotencyKey& key, std::int64_t window_start_ms) {
  StatementReset reset{find_seen_};
  find_seen_.bind(1, key.id);
  find_seen_.bind(2, static_cast<int64_t>(window_start_ms));
  if (!find_seen_.executeStep()) return SeenStatus::unseen;
  const auto uid = find_seen_.getColumn(0);
  const auto digest = find_seen_.getColumn(1);
  // A row remembered before ids were scoped has neither: it was a duplicate then.
  const bool same = (uid.isNull() || uid.getInt64() == static_cast<int64_t>(key.uid)) &&
                    (digest.isNull() || (static_cast<std::size_t>(digest.getBytes()) == key.digest.size() &&
                                         std::memcmp(digest.getBlob(), key.digest.data(), key.digest.size()) == 0));
  return same ? SeenStatus::duplicate : SeenStatus::conflict;
}

std::size_t JobTable::claim_due(const std::string& forwarder, std::int64_t now_ms, std::size_t max_jobs,
                                std::size_t max_bytes, std::vector<ClaimedJob>& out) {
  StatementReset reset{claim_due_};
  claim_due_.bind(1, forwarder);
  claim_due_.bind(2, static_cast<int64_t>(now_ms));
  claim_due_.bind(3, static_cast<int64_t>(max_jobs));
  claim_due_.bind(4, static_cast<int64_t>(max_bytes == 0 ? INT64_MAX : static_cast<std::int64_t>(max_bytes)));
  std::size_t claimed = 0;
  while (claim_due_.executeStep()) {
    ClaimedJob job;
    job.id = claim_due_.getColumn(0).getInt64();
    job.attempt = claim_due_.getColumn(1).getInt();
    job.max_attempts = claim_due_.getColumn(2).getInt();
    job.payload = claim_due_.getColumn(3).getString();
    out.push_back(std::move(job));
    ++claimed;
  }
  return claimed;
}

std::int64_t JobTable::next_scheduled(const std::string& forwarder) {
  StatementReset reset{next_scheduled_};
  next_scheduled_.bind(1, forwarder);
  return next_scheduled_.executeStep() && !next_scheduled_.getColumn(0).isNull()
             ? next_scheduled_.getColumn(0).getInt64()
             : INT64_MAX;
}

int JobTable::mark_completed(std::int64_t id, std::int64_t now_ms, int attempt) {
  StatementReset reset{mark_completed_};
  mark_completed_.bind(1, static_cast<int64_t>(id));
  mark_completed_.bind(2, static_cast<int64_t>(now_ms));
  mark_completed_.bind(3, attempt);
  return mark_completed_.exec();
}

std::optional<std::string> JobTable::mark_failed(const JobFinish& f, std::int64_t now_ms, const std::string& now_text) {
  const bool terminal = f.state != JobState::retryable;
  StatementReset reset{mark_failed_};
  mark_failed_.bind(1, static_cast<int64_t>(f.id));
  mark_failed_.bind(2, std::string(to_string(f.state)));
  mark_failed_.bind(3, static_cast<int64_t>(terminal ? now_ms : f.scheduled_at_ms));
  if (terminal)
    mark_failed_.bind(4, static_cast<int64_t>(now_ms));
  else
    mark_failed_.bind(4);
  mark_failed_.bind(5, f.attempt);
  mark_failed_.bind(6, now_text);
  mark_failed_.bind(7, f.error);
  mark_failed_.bind(8, static_cast<int64_t>(now_ms));
  if (!mark_failed_.executeStep()) return std::nullopt;
  return mark_failed_.getColumn(0).getString();
}

int JobTable::delete_executing(const std::vector<std::int64_t>& ids) {
  int removed = 0;
  std::size_t start = 0;
  for (; start + delete_chunk <= ids.size(); start += delete_chunk) {
    StatementReset reset{delete_jobs_};
    for (std::size_t k = 0; k < delete_chunk; ++k)
      delete_jobs_.bind(static_cast<int>(k + 1), static_cast<int64_t>(ids[start + k]));
    removed += delete_jobs_.exec();
  }
  for (; start < ids.size(); ++start) {
    StatementReset reset{delete_job_};
    delete_job_.bind(1, static_cast<int64_t>(ids[start]));
    removed += delete_job_.exec();
  }
  return removed;
}

void JobTable::insert_left_job(const JobFinish& f, const std::string& forwarder, int max_attempts, std::int64_t now_ms,
                               const std::string& now_text) {
  const bool terminal = f.state != JobState::retryable;
  StatementReset reset{insert_left_job_};
  insert_left_job_.bind(1, static_cast<int64_t>(f.id));
  insert_left_job_.bindNoCopy(2, forwarder);
  insert_left_job_.bind(3, stamped_event_id(f.payload));
  insert_left_job_.bind(4, std::string(to_string(f.state)));
  insert_left_job_.bind(5, f.attempt);
  insert_left_job_.bind(6, max_attempts);
  insert_left_job_.bindNoCopy(7, f.payload);
  if (f.state == JobState::completed)
    insert_left_job_.bind(8);
  else
    insert_left_job_.bind(8, error_list(f.attempt, now_text, f.error));
  insert_left_job_.bind(9, static_cast<int64_t>(now_ms));
  insert_left_job_.bind(10, static_cast<int64_t>(terminal ? now_ms : f.scheduled_at_ms));
  if (terminal)
    insert_left_job_.bind(11, static_cast<int64_t>(now_ms));
  else
    insert_left_job_.bind(11);
  insert_left_job_.bind(12, static_cast<int64_t>(f.batch_id));
  insert_left_job_.exec();
}

std::vector<std::int64_t> JobTable::ids_in_range(const std::string& forwarder, std::int64_t first, std::int64_t last) {
  StatementReset reset{ids_in_range_};
  ids_in_range_.bind(1, forwarder);
  ids_in_range_.bind(2, static_cast<int64_t>(first));
  ids_in_range_.bind(3, static_cast<int64_t>(last));
  std::vector<std::int64_t> ids;
  while (ids_in_range_.executeStep()) ids.push_back(ids_in_range_.getColumn(0).getInt64());
  return ids;
}

std::int64_t JobTable::count_waiting() {
  // The partial index, never the table.
  return db_.execAndGet("SELECT count(*) FROM jobs WHERE " + waiting).getInt64();
}

std::int64_t JobTable::highest_id() { return db_.execAndGet("SELECT coalesce(max(id), 0) FROM jobs").getInt64(); }

std::string JobTable::admin_generation() {
  StatementReset reset{admin_generation_};
  return admin_generation_.executeStep() ? admin_generation_.getColumn(0).getString() : std::string();
}

void JobTable::prune(const PruneCutoffs& cutoffs, std::chrono::steady_clock::time_point deadline) {
  struct Rule {
    std::string sql;
    std::int64_t before;
  };
  // Finished rows through jobs_finished: its clause first, then the state
  // wanted. A row whose batch is still stored stays until that batch goes:
  // without it, the job would be served from the batch again.
  const std::string batch_gone =
      " AND (batch_id IS NULL OR NOT EXISTS (SELECT 1 FROM batches WHERE batches.id = jobs.batch_id))";
  const Rule rules[] = {
      {"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE " + finished +
           " AND state = 'completed' AND finished_at < ?1" + batch_gone + " LIMIT 1000)",
       cutoffs.completed_before},
      {"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE " + finished +
           " AND state IN ('discarded','cancelled') AND finished_at < ?1" + batch_gone + " LIMIT 1000)",
       cutoffs.dead_before},
      {"DELETE FROM seen_ids WHERE id IN (SELECT id FROM seen_ids WHERE seen_at < ?1 LIMIT 1000)",
       cutoffs.seen_ids_before},
  };
  for (const auto& rule : rules) {
    SQLite::Statement statement(db_, rule.sql);
    while (std::chrono::steady_clock::now() < deadline) {
      statement.bind(1, static_cast<int64_t>(rule.before));
      const int removed = statement.exec();
      statement.reset();
      if (removed < 1000) break;
    }
  }
}

RescueCounts JobTable::rescue_interrupted(std::int64_t now_ms, const std::string& now_text) {
  RescueCounts counts;
  // Jobs handed to a worker whose attempt was never recorded: back in line,
  // no attempt spent (one cut short in delivery goes uncounted this once).
  SQLite::Statement unstarted(db_,
                              "UPDATE jobs SET state = 'available', scheduled_at = ?1 "
                              "WHERE state = 'executing' AND attempted_at IS NULL");
  unstarted.bind(1, static_cast<int64_t>(now_ms));
  counts.requeued = unstarted.exec();
  SQLite::Statement discard(db_,
                            "UPDATE jobs SET state = 'discarded', finished_at = ?1, "
                            "errors = json_insert(coalesce(errors, '[]'), '$[#]', json_object('attempt', attempt, "
                            "'at', ?2, 'error', 'interrupted: the daemon stopped during the last allowed attempt')) "
                            "WHERE state = 'executing' AND attempt >= max_attempts");
  discard.bind(1, static_cast<int64_t>(now_ms));
  discard.bind(2, now_text);
  counts.discarded = discard.exec();
  SQLite::Statement rescue(db_,
                           "UPDATE jobs SET state = 'available', scheduled_at = ?1, "
                           "errors = json_insert(coalesce(errors, '[]'), '$[#]', json_object('attempt', attempt, "
                           "'at', ?2, 'error', 'interrupted: the daemon stopped during this attempt')) "
                           "WHERE state = 'executing'");
  rescue.bind(1, static_cast<int64_t>(now_ms));
  rescue.bind(2, now_text);
  counts.rescued = rescue.exec();
  return counts;
}

int JobTable::release_executing() {
  return db_.exec("UPDATE jobs SET state = 'available', attempt = max(attempt - 1, 0) WHERE state = 'executing'");
}

void JobTable::reset_statements() {
  for (auto* statement : {&remember_id_, &find_seen_, &claim_due_, &next_scheduled_, &mark_completed_, &mark_failed_,
                          &delete_jobs_, &delete_job_, &insert_left_job_, &ids_in_range_, &admin_generation_})
    statement->tryReset();
}

}  // namespace auditfwd
