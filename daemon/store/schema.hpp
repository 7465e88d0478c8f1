// The job table's schema and connection settings, shared by the daemon and the `jobs` CLI.
#pragma once

#include <SQLiteCpp/Database.h>
#include <cstdint>
#include <string>
#include <string_view>

namespace auditfwd {

// The WHERE clauses of the jobs table's two partial indexes. SQLite uses a
// partial index only for a query whose WHERE clause repeats the index's word
// for word (then ANDs more terms); otherwise it scans every job. So every such
// query, in the writer (job_table.cpp) and the CLI (job_admin.cpp), is built
// from these, like the indexes themselves.
inline constexpr std::string_view waiting_jobs_clause = "state IN ('available','retryable')";
inline constexpr std::string_view finished_jobs_clause = "state IN ('completed','discarded','cancelled')";

// Opens (creating parent directories and the file if needed) the store at
// `path`, never readable by other users: a new database is created 0600 and
// an existing one, its -wal and -shm lose the permission bits for others. It is
// in WAL mode with a busy timeout, `synchronous` FULL when
// `durability_fsync` else NORMAL, and creates the schema if absent.
// The connection is for one thread at a time (SQLITE_OPEN_NOMUTEX).
// Throws SQLite::Exception or std::runtime_error.
SQLite::Database open_store_database(const std::string& path, bool durability_fsync);

// Jobs still inside stored batches (all pending): their events, less the jobs
// that left them for a row of the jobs table. With `forwarder`, its only.
std::int64_t jobs_in_batches(SQLite::Database& db, const std::string* forwarder = nullptr);

}  // namespace auditfwd
