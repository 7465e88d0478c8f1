// Schema: jobs (Oban's lifecycle), seen_ids (idempotency window), meta (health probes).
#include "store/schema.hpp"

#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace auditfwd {
namespace {

// The store holds event payloads: neither it nor its WAL and shared-memory
// files may be readable by other users, whatever the umask. SQLite creates
// the database 0644 & ~umask and gives -wal and -shm the database's mode, so
// the database is created here first, 0600, and an existing file (or a -wal,
// -shm left by an older version) loses its permission bits for others.
void restrict_store_files(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  struct stat status {};
  const bool restricted =
      ::fstat(fd, &status) == 0 && ((status.st_mode & 0007) == 0 || ::fchmod(fd, status.st_mode & 0770) == 0);
  const int saved = errno;
  ::close(fd);
  if (!restricted) throw std::runtime_error("chmod " + path + ": " + std::strerror(saved));
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string companion = path + suffix;
    struct stat companion_status {};
    if (::lstat(companion.c_str(), &companion_status) == 0 && S_ISREG(companion_status.st_mode) &&
        (companion_status.st_mode & 0007) != 0 && ::chmod(companion.c_str(), companion_status.st_mode & 0770) != 0)
      throw std::runtime_error("chmod " + companion + ": " + std::strerror(errno));
  }
}

}  // namespace

SQLite::Database open_store_database(const std::string& path, bool durability_fsync) {
  // Each connection is used by one thread only (NOMUTEX below); SQLite's global
  // allocation statistics would cost a mutex per malloc for nothing.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  restrict_store_files(path);
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  db.setBusyTimeout(10'000);
  // 4 KiB pages (a new database only): a commit at a low rate writes one
  // page of the batches table, and one file-system block per fdatasync.
  db.exec("PRAGMA page_size=4096");
  db.exec("PRAGMA journal_mode=WAL");
  db.exec(durability_fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA foreign_keys=OFF");
  db.exec("PRAGMA temp_store=MEMORY");
  // 4 MiB of page cache keeps the hot pages (the newest batches, the due
  // index of a deep backlog) in memory without letting RSS grow with the backlog.
  db.exec("PRAGMA cache_size=-4096");
  // Connections other than the daemon's writer (the CLI) checkpoint at ~32 MiB of WAL.
  db.exec("PRAGMA wal_autocheckpoint=4096");
  db.exec(std::string(R"sql(
    CREATE TABLE IF NOT EXISTS jobs (
      id           INTEGER PRIMARY KEY,  -- assigned by the writer, never reused (JobStore's job id sequence)
      forwarder    TEXT    NOT NULL,
      event_id     TEXT    NOT NULL,
      state        TEXT    NOT NULL CHECK (state IN
                     ('available','executing','retryable','completed','discarded','cancelled')),
      attempt      INTEGER NOT NULL DEFAULT 0,
      max_attempts INTEGER NOT NULL,
      payload      TEXT    NOT NULL,
      errors       TEXT,
      inserted_at  INTEGER NOT NULL,
      scheduled_at INTEGER NOT NULL,
      attempted_at INTEGER,
      finished_at  INTEGER,
      -- The stored batch this job left after a failed attempt, if any. While
      -- that batch exists, this row is what keeps the job from being served
      -- from it again: deleting the row takes the job out of the batch too.
      batch_id     INTEGER
    );
    -- Due work per forwarder; partial so finished rows cost nothing here.
    CREATE INDEX IF NOT EXISTS jobs_due ON jobs (forwarder, scheduled_at)
      WHERE )sql" + std::string(waiting_jobs_clause) +
                      R"sql(;
    DROP INDEX IF EXISTS jobs_executing;
    -- Pruning and the dead-letter view; new jobs never enter it.
    CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (state, finished_at)
      WHERE )sql" + std::string(finished_jobs_clause) +
                      R"sql(;
    -- Client-supplied ids within store.idempotency_window, with the uid that
    -- sent each and a digest of its content (an id means one event, from one sender).
    CREATE TABLE IF NOT EXISTS seen_ids (
      id      TEXT    PRIMARY KEY,
      seen_at INTEGER NOT NULL,
      uid     INTEGER,
      digest  BLOB
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS seen_ids_age ON seen_ids (seen_at);
    -- The happy path: the events of one commit for one forwarder, as one
    -- compressed blob (store/event_batch.hpp). Its jobs are pending until
    -- the row is deleted; one that fails leaves for a row of jobs (same id)
    -- and is skipped when the batch is read again.
    CREATE TABLE IF NOT EXISTS batches (
      id           INTEGER PRIMARY KEY,  -- assigned by the writer, increasing
      forwarder    TEXT    NOT NULL,
      first_job    INTEGER NOT NULL,     -- the lowest and highest job id inside
      last_job     INTEGER NOT NULL,
      events       INTEGER NOT NULL,
      max_attempts INTEGER NOT NULL,
      inserted_at  INTEGER NOT NULL,
      payload      BLOB    NOT NULL
    );
    -- No index on forwarder: a claim reads on from its cursor in rowid order,
    -- and a commit at a low rate writes one page of this table, not two.
    DROP INDEX IF EXISTS batches_forwarder;
    CREATE TABLE IF NOT EXISTS meta (
      key   TEXT PRIMARY KEY,
      value TEXT
    ) WITHOUT ROWID;
  )sql"));
  // Stores made before ids were scoped to their sender gain the two columns;
  // their rows keep NULL there and still count as duplicates.
  if (!db.execAndGet("SELECT count(*) FROM pragma_table_info('seen_ids') WHERE name = 'uid'").getInt()) {
    db.exec("ALTER TABLE seen_ids ADD COLUMN uid INTEGER");
    db.exec("ALTER TABLE seen_ids ADD COLUMN digest BLOB");
  }
  // Stores made before jobs recorded the batch they left gain the column.
  if (!db.execAndGet("SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'batch_id'").getInt())
    db.exec("ALTER TABLE jobs ADD COLUMN batch_id INTEGER");
  return db;
}

std::int64_t jobs_in_batches(SQLite::Database& db, const std::string* forwarder) {
  // Per batch, a range of the jobs table's rowid: never a join the planner
  // could turn into a scan of every job for every batch.
  SQLite::Statement count(db,
                          "SELECT coalesce(sum(b.events - (SELECT count(*) FROM jobs j WHERE j.id BETWEEN b.first_job "
                          "AND b.last_job AND j.forwarder = b.forwarder)), 0) FROM batches b "
                          "WHERE ?1 IS NULL OR b.forwarder = ?1");
  if (forwarder) count.bind(1, *forwarder);
  count.executeStep();
  return count.getColumn(0).getInt64();
}

}  // namespace auditfwd
