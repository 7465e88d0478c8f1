// Taking jobs out of a stored batch, for the few paths that must (not the hot one).
#pragma once

#include <SQLiteCpp/Database.h>
#include <cstdint>
#include <functional>

namespace auditfwd {

// Rewrites stored batch `batch_id` without the jobs for which `drop(job_id)`
// is true, or deletes it when none is left. Runs inside the caller's
// transaction. Returns the jobs dropped (0 when the batch no longer exists).
// Throws CorruptBatch for a blob this version cannot read.
std::size_t drop_jobs_from_batch(SQLite::Database& db, std::int64_t batch_id,
                                 const std::function<bool(std::int64_t job_id)>& drop);

}  // namespace auditfwd
