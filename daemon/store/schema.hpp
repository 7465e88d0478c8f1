// The job table's schema and connection settings, shared by the daemon and the `jobs` CLI.
#pragma once

#include <SQLiteCpp/Database.h>
#include <cstdint>
#include <string>

namespace auditfwd {

// Opens (creating parent directories and the file if needed) the store at
// `path` in WAL mode with a busy timeout, `synchronous` FULL when
// `durability_fsync` else NORMAL, and creates the schema if absent.
// The connection is for one thread at a time (SQLITE_OPEN_NOMUTEX).
// Throws SQLite::Exception or std::runtime_error.
SQLite::Database open_store_database(const std::string& path, bool durability_fsync);

// Jobs still inside stored batches (all pending): their events, less the jobs
// that left them for a row of the jobs table. With `forwarder`, its only.
std::int64_t jobs_in_batches(SQLite::Database& db, const std::string* forwarder = nullptr);

}  // namespace auditfwd
