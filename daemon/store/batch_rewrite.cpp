// Stored batches rewritten without some of their jobs.
#include "store/batch_rewrite.hpp"

#include "store/event_batch.hpp"

#include <SQLiteCpp/Statement.h>

namespace auditfwd {

std::size_t drop_jobs_from_batch(SQLite::Database& db, std::int64_t batch_id,
                                 const std::function<bool(std::int64_t job_id)>& drop) {
  SQLite::Statement read(db, "SELECT payload FROM batches WHERE id = ?1");
  read.bind(1, static_cast<int64_t>(batch_id));
  if (!read.executeStep()) return 0;
  const auto blob = read.getColumn(0);
  const auto jobs = decode_event_batch(
      std::string_view(static_cast<const char*>(blob.getBlob()), static_cast<std::size_t>(blob.getBytes())));
  EventBatchWriter kept;
  for (const auto& job : jobs)
    if (!drop(job.job_id)) kept.add(job.job_id, job.payload);
  const std::size_t dropped = jobs.size() - kept.jobs();
  if (dropped == 0) return 0;
  if (kept.jobs() == 0) {
    SQLite::Statement remove(db, "DELETE FROM batches WHERE id = ?1");
    remove.bind(1, static_cast<int64_t>(batch_id));
    remove.exec();
    return dropped;
  }
  const auto events = kept.jobs();
  const auto first = kept.first_job_id(), last = kept.last_job_id();
  const auto rewritten = kept.finish();
  SQLite::Statement update(db,
                           "UPDATE batches SET payload = ?2, events = ?3, first_job = ?4, last_job = ?5 WHERE id = ?1");
  update.bind(1, static_cast<int64_t>(batch_id));
  update.bind(2, rewritten.data(), static_cast<int>(rewritten.size()));
  update.bind(3, static_cast<int64_t>(events));
  update.bind(4, static_cast<int64_t>(first));
  update.bind(5, static_cast<int64_t>(last));
  update.exec();
  return dropped;
}

}  // namespace auditfwd
