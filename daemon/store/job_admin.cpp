// The `jobs` CLI's SQL, kept beside the schema it depends on.
#include "store/job_admin.hpp"

#include "common/time_format.hpp"
#include "event/event.hpp"
#include "store/batch_rewrite.hpp"
#include "store/event_batch.hpp"
#include "store/schema.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

namespace auditfwd {
namespace {

constexpr std::size_t admin_chunk = 1000;  // rows per transaction beside a running daemon

// One row of the columns `id, forwarder, event_id, state, attempt, max_attempts,
// inserted_at, scheduled_at, finished_at, errors`, in that order.
JobRow read_job_row(SQLite::Statement& row_query) {
  JobRow row;
  row.id = row_query.getColumn(0).getInt64();
  row.forwarder = row_query.getColumn(1).getString();
  row.event_id = row_query.getColumn(2).getString();
  row.state = row_query.getColumn(3).getString();
  row.attempt = row_query.getColumn(4).getInt();
  row.max_attempts = row_query.getColumn(5).getInt();
  row.inserted_at_ms = row_query.getColumn(6).getInt64();
  row.scheduled_at_ms = row_query.getColumn(7).getInt64();
  if (!row_query.getColumn(8).isNull()) row.finished_at_ms = row_query.getColumn(8).getInt64();
  row.errors = row_query.getColumn(9).getString();
  return row;
}

SQLite::Database open_existing(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error("no job store at " + path);
  return open_store_database(path, true);
}

// Tells a running daemon that pending jobs changed behind its back (it recounts).
void bump_admin_generation(SQLite::Database& db) {
  db.exec(
      "INSERT OR REPLACE INTO meta (key, value) VALUES ('admin_generation', "
      "CAST(coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'admin_generation'), 0) + 1 AS TEXT))");
}

// A WHERE term that repeats the WHERE clause of the partial index holding
// `state`'s rows word for word: only then does SQLite use that index instead of
// scanning every job.
std::string partial_index_term(JobState state) {
  switch (state) {
    case JobState::available:
    case JobState::retryable: return std::string(waiting_jobs_clause) + " AND ";
    case JobState::completed:
    case JobState::discarded:
    case JobState::cancelled: return std::string(finished_jobs_clause) + " AND ";
    case JobState::executing: return "";
  }
  return "";
}

}  // namespace

namespace {

// The pending jobs inside stored batches (shown `available`, attempt 0: no
// attempt of theirs is recorded yet), lowest ids first, until `limit` of
// them come before any later batch's.
std::vector<JobRow> jobs_of_batches(SQLite::Database& db, const std::optional<std::string>& forwarder,
                                    std::size_t limit) {
  SQLite::Statement batches(db,
                            "SELECT id, forwarder, first_job, last_job, max_attempts, inserted_at, payload "
                            "FROM batches WHERE ?1 IS NULL OR forwarder = ?1 ORDER BY first_job");
  if (forwarder) batches.bind(1, *forwarder);
  SQLite::Statement left(db, "SELECT id FROM jobs WHERE id BETWEEN ?2 AND ?3 AND forwarder = ?1 ORDER BY id");
  std::vector<JobRow> rows;
  while (batches.executeStep()) {
    const auto first = batches.getColumn(2).getInt64(), last = batches.getColumn(3).getInt64();
    if (rows.size() >= limit) {
      std::nth_element(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(limit - 1), rows.end(),
                       [](const JobRow& a, const JobRow& b) { return a.id < b.id; });
      if (first > rows[limit - 1].id) break;
    }
    const auto batch_forwarder = batches.getColumn(1).getString();
    std::vector<std::int64_t> left_ids;
    left.bind(1, batch_forwarder);
    left.bind(2, static_cast<int64_t>(first));
    left.bind(3, static_cast<int64_t>(last));
    while (left.executeStep()) left_ids.push_back(left.getColumn(0).getInt64());
    left.reset();
    const auto blob = batches.getColumn(6);
    for (auto& job : decode_event_batch(
             std::string_view(static_cast<const char*>(blob.getBlob()), static_cast<std::size_t>(blob.getBytes())))) {
      if (std::binary_search(left_ids.begin(), left_ids.end(), job.job_id)) continue;
      JobRow row;
      row.id = job.job_id;
      row.forwarder = batch_forwarder;
      try {
        row.event_id = Event::from_json(std::move(job.payload)).id;
      } catch (const std::exception&) {
        row.event_id = "?";
      }
      row.state = "available";
      row.max_attempts = batches.getColumn(4).getInt();
      row.inserted_at_ms = row.scheduled_at_ms = batches.getColumn(5).getInt64();
      row.errors = "[]";
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace

std::vector<JobRow> list_jobs(const std::string& db_path, std::optional<JobState> state,
                              std::optional<std::string> forwarder, std::size_t limit) {
  auto db = open_existing(db_path);
  SQLite::Statement query(db,
                          "SELECT id, forwarder, event_id, state, attempt, max_attempts, inserted_at, scheduled_at, "
                          "finished_at, coalesce(errors, '[]') FROM jobs "
                          "WHERE " +
                              (state ? partial_index_term(*state) + "state = ?1" : std::string("?1 IS NULL")) +
                              " AND (?2 IS NULL OR forwarder = ?2) ORDER BY id LIMIT ?3");
  if (state) query.bind(1, std::string(to_string(*state)));
  if (forwarder) query.bind(2, *forwarder);
  query.bind(3, static_cast<int64_t>(limit));
  std::vector<JobRow> rows;
  while (query.executeStep()) {
    rows.push_back(read_job_row(query));
  }
  if (limit > 0 && (!state || *state == JobState::available)) {
    // One snapshot for both tables would need a transaction; a job leaving
    // its batch meanwhile is at worst listed twice, never missed.
    auto pending = jobs_of_batches(db, forwarder, limit);
    rows.insert(rows.end(), std::make_move_iterator(pending.begin()), std::make_move_iterator(pending.end()));
    std::sort(rows.begin(), rows.end(), [](const JobRow& a, const JobRow& b) { return a.id < b.id; });
    if (rows.size() > limit) rows.resize(limit);
  }
  return rows;
}

std::size_t retry_jobs(const std::string& db_path, const std::vector<std::int64_t>& ids) {
  auto db = open_existing(db_path);
  SQLite::Statement update(db,
                           "UPDATE jobs SET state = 'available', scheduled_at = ?2, finished_at = NULL, "
                           "max_attempts = max(max_attempts, attempt + 1) "
                           "WHERE id = ?1 AND state IN ('discarded','cancelled','retryable')");
  std::size_t changed = 0;
  for (std::size_t start = 0; start < ids.size(); start += admin_chunk) {
    SQLite::Transaction transaction(db);
    for (std::size_t k = start; k < std::min(ids.size(), start + admin_chunk); ++k) {
      update.bind(1, static_cast<int64_t>(ids[k]));
      update.bind(2, static_cast<int64_t>(unix_millis_now()));
      changed += static_cast<std::size_t>(update.exec());
      update.reset();
    }
    bump_admin_generation(db);
    transaction.commit();
  }
  return changed;
}

// Runs `statement` (which changes at most admin_chunk rows) in its own short
// transaction until it changes fewer: the daemon's writer waits milliseconds
// between chunks, never for the whole operation.
static std::size_t run_in_chunks(SQLite::Database& db, SQLite::Statement& statement) {
  std::size_t total = 0;
  for (;;) {
    SQLite::Transaction transaction(db);
    const auto changed = static_cast<std::size_t>(statement.exec());
    statement.reset();
    transaction.commit();
    total += changed;
    if (changed < admin_chunk) return total;
  }
}

std::size_t retry_all_in_state(const std::string& db_path, JobState state, std::optional<std::string> forwarder) {
  auto db = open_existing(db_path);
  SQLite::Statement update(db,
                           "UPDATE jobs SET state = 'available', scheduled_at = ?2, finished_at = NULL, "
                           "max_attempts = max(max_attempts, attempt + 1) WHERE id IN (SELECT id FROM jobs "
                           "WHERE " +
                               partial_index_term(state) + "state = ?1 AND (?3 IS NULL OR forwarder = ?3) LIMIT " +
                               std::to_string(admin_chunk) + ")");
  update.bind(1, std::string(to_string(state)));
  update.bind(2, static_cast<int64_t>(unix_millis_now()));
  if (forwarder) update.bind(3, *forwarder);
  const auto changed = run_in_chunks(db, update);
  SQLite::Transaction transaction(db);
  bump_admin_generation(db);
  transaction.commit();
  return changed;
}

namespace {

// (forwarder, state, count), sorted: rows of the jobs table and the jobs still inside stored batches (available).
std::vector<std::tuple<std::string, std::string, std::int64_t>> count_jobs_by_state(SQLite::Database& db) {
  std::vector<std::tuple<std::string, std::string, std::int64_t>> jobs_by_state;
  SQLite::Statement counts(db, "SELECT forwarder, state, count(*) FROM jobs GROUP BY forwarder, state ORDER BY 1, 2");
  while (counts.executeStep())
    jobs_by_state.emplace_back(counts.getColumn(0).getString(), counts.getColumn(1).getString(),
                               counts.getColumn(2).getInt64());
  SQLite::Statement forwarders(db, "SELECT DISTINCT forwarder FROM batches");
  while (forwarders.executeStep()) {
    const auto forwarder = forwarders.getColumn(0).getString();
    const auto in_batches = jobs_in_batches(db, &forwarder);
    if (in_batches == 0) continue;
    auto available = std::find_if(jobs_by_state.begin(), jobs_by_state.end(), [&](const auto& entry) {
      return std::get<0>(entry) == forwarder && std::get<1>(entry) == "available";
    });
    if (available != jobs_by_state.end())
      std::get<2>(*available) += in_batches;
    else
      jobs_by_state.emplace_back(forwarder, "available", in_batches);
  }
  std::sort(jobs_by_state.begin(), jobs_by_state.end());
  return jobs_by_state;
}

}  // namespace

StoreStats store_stats(const std::string& db_path) {
  auto db = open_existing(db_path);
  StoreStats stats;
  stats.jobs_by_state = count_jobs_by_state(db);
  SQLite::Statement counters(db, "SELECT value FROM meta WHERE key = 'counters'");
  if (counters.executeStep()) stats.daemon_counters = counters.getColumn(0).getString();
  return stats;
}

StoreBacklog store_backlog(const std::string& db_path) {
  // Read-only: a scrape must not write, least of all to a failing disk.
  SQLite::Database db(db_path, SQLite::OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  db.setBusyTimeout(1000);
  StoreBacklog backlog;
  backlog.jobs_by_state = count_jobs_by_state(db);
  // A batch row exists while one of its jobs has not ended, so its insertion time
  // bounds the oldest pending job from below; jobs that left it for a row count by theirs.
  SQLite::Statement oldest(db,
                           "SELECT forwarder, min(inserted_at) FROM (SELECT forwarder, inserted_at FROM batches "
                           "UNION ALL SELECT forwarder, inserted_at FROM jobs WHERE " +
                               std::string(waiting_jobs_clause) +
                               " OR state = 'executing') GROUP BY forwarder ORDER BY 1");
  while (oldest.executeStep())
    backlog.oldest_pending_ms.emplace_back(oldest.getColumn(0).getString(), oldest.getColumn(1).getInt64());
  return backlog;
}

std::size_t export_jobs(const std::string& db_path, JobState state, std::optional<std::string> forwarder,
                        const std::function<void(const JobRow& job, const std::string& event_json)>& emit) {
  if (state != JobState::completed && state != JobState::discarded && state != JobState::cancelled)
    throw std::invalid_argument("only completed, discarded or cancelled jobs can be exported");
  auto db = open_existing(db_path);
  // Keyset pages: each its own short read, never one snapshot held for the whole export.
  SQLite::Statement page(db,
                         "SELECT id, forwarder, event_id, state, attempt, max_attempts, inserted_at, scheduled_at, "
                         "finished_at, coalesce(errors, '[]'), payload FROM jobs WHERE " +
                             partial_index_term(state) +
                             "state = ?1 AND (?2 IS NULL OR forwarder = ?2) "
                             "AND id > ?3 ORDER BY id LIMIT " +
                             std::to_string(admin_chunk));
  page.bind(1, std::string(to_string(state)));
  if (forwarder) page.bind(2, *forwarder);
  std::int64_t after = INT64_MIN;
  std::size_t exported = 0;
  for (;;) {
    page.bind(3, static_cast<int64_t>(after));
    std::vector<std::pair<JobRow, std::string>> rows;
    while (page.executeStep()) {
      rows.emplace_back(read_job_row(page), page.getColumn(10).getString());
    }
    page.reset();
    for (const auto& [row, payload] : rows) emit(row, payload);
    exported += rows.size();
    if (rows.size() < admin_chunk) return exported;
    after = rows.back().first.id;
  }
}

std::size_t purge_jobs(const std::string& db_path, JobState state, std::optional<std::string> forwarder) {
  if (state != JobState::completed && state != JobState::discarded && state != JobState::cancelled)
    throw std::invalid_argument("only completed, discarded or cancelled jobs can be purged");
  auto db = open_existing(db_path);
  SQLite::Statement pick(db, "SELECT id, batch_id FROM jobs WHERE " + partial_index_term(state) +
                                 "state = ?1 "
                                 "AND (?2 IS NULL OR forwarder = ?2) LIMIT " +
                                 std::to_string(admin_chunk));
  pick.bind(1, std::string(to_string(state)));
  if (forwarder) pick.bind(2, *forwarder);
  SQLite::Statement remove(db, "DELETE FROM jobs WHERE id = ?1");
  std::size_t purged = 0;
  // In chunks, each its own short transaction: the daemon's writer waits
  // milliseconds between them, never for the whole purge.
  for (;;) {
    SQLite::Transaction transaction(db);
    std::vector<std::int64_t> ids;
    std::map<std::int64_t, std::set<std::int64_t>> left_batches;  // batch → its jobs purged here
    while (pick.executeStep()) {
      ids.push_back(pick.getColumn(0).getInt64());
      if (!pick.getColumn(1).isNull()) left_batches[pick.getColumn(1).getInt64()].insert(ids.back());
    }
    pick.reset();
    for (const auto id : ids) {
      remove.bind(1, static_cast<int64_t>(id));
      remove.exec();
      remove.reset();
    }
    const std::size_t picked = ids.size();
    // A job that left a batch still stored goes from that batch too, or it
    // would be pending there again once its row is gone.
    for (const auto& [batch_id, job_ids] : left_batches)
      drop_jobs_from_batch(db, batch_id, [&](std::int64_t job_id) { return job_ids.count(job_id) > 0; });
    transaction.commit();
    purged += picked;
    if (picked < admin_chunk) return purged;
  }
}

std::size_t purge_forwarder_jobs(const std::string& db_path, const std::string& forwarder) {
  auto db = open_existing(db_path);
  std::size_t purged = 0;
  // Rows a chunk at a time, each its own short transaction, like purge_jobs.
  SQLite::Statement remove(db, "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE forwarder = ?1 LIMIT " +
                                   std::to_string(admin_chunk) + ")");
  remove.bind(1, forwarder);
  for (;;) {
    SQLite::Transaction transaction(db);
    const auto removed = static_cast<std::size_t>(remove.exec());
    remove.reset();
    bump_admin_generation(db);  // the daemon recounts its pending jobs
    transaction.commit();
    purged += removed;
    if (removed < admin_chunk) break;
  }
  // Its stored batches hold only its pending jobs (the ones left are rows, gone above).
  SQLite::Transaction transaction(db);
  purged += static_cast<std::size_t>(jobs_in_batches(db, &forwarder));
  SQLite::Statement drop_batches(db, "DELETE FROM batches WHERE forwarder = ?1");
  drop_batches.bind(1, forwarder);
  drop_batches.exec();
  bump_admin_generation(db);
  transaction.commit();
  return purged;
}

}  // namespace auditfwd
