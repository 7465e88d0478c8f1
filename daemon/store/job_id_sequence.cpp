// Job ids reserved in blocks, so a commit rarely writes the sequence.
#include "store/job_id_sequence.hpp"

#include "store/job_table.hpp"

#include <algorithm>
#include <string>

namespace auditfwd {

JobIdSequence::JobIdSequence(SQLite::Database& db)
    : reserve_(db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('job_ids_reserved', ?1)") {
  std::int64_t highest = db.execAndGet("SELECT coalesce(max(id), 0) FROM jobs").getInt64();
  SQLite::Statement reserved(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'job_ids_reserved'");
  if (reserved.executeStep()) highest = std::max(highest, reserved.getColumn(0).getInt64());
  // Databases made before ids were assigned here used AUTOINCREMENT.
  if (db.tableExists("sqlite_sequence")) {
    SQLite::Statement sequence(db, "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'");
    if (sequence.executeStep()) highest = std::max(highest, sequence.getColumn(0).getInt64());
  }
  next_ = highest + 1;
  reserved_ = committed_reserved_ = highest;
}

std::int64_t JobIdSequence::take(std::size_t count) {
  const std::int64_t first = next_;
  const std::int64_t last = first + static_cast<std::int64_t>(count) - 1;
  if (last > reserved_) {
    const std::int64_t reserve_to = last + block;
    StatementReset reset{reserve_};
    reserve_.bind(1, std::to_string(reserve_to));
    reserve_.exec();
    reserved_ = reserve_to;
  }
  next_ = last + 1;
  return first;
}

}  // namespace auditfwd
