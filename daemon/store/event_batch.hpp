// The happy path's storage unit: the events of one commit for one forwarder, as one
// compressed blob (one row instead of a row, an index entry and a delete per event).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// One job inside a batch: its id and its stamped event (JSON, one line).
struct BatchJob {
  std::int64_t job_id = 0;
  std::string payload;
};

// Appends jobs and turns them into a blob. Job ids must increase.
class EventBatchWriter {
 public:
  void add(std::int64_t job_id, std::string_view payload);
  std::size_t jobs() const noexcept { return jobs_; }
  std::int64_t first_job_id() const noexcept { return first_job_id_; }
  std::int64_t last_job_id() const noexcept { return last_job_id_; }
  std::size_t raw_bytes() const noexcept { return raw_.size(); }
  // The blob (zstd-compressed; see decode_event_batch). Leaves the writer empty.
  std::string finish();
  // The same, into `out` (resized as needed, never shrunk: the writer thread
  // reuses one buffer); returns the blob's size.
  std::size_t finish_into(std::vector<char>& out);
  // Empties the writer, keeping its buffer for the next batch.
  void clear() noexcept;

 private:
  std::string raw_;
  std::size_t jobs_ = 0;
  std::int64_t first_job_id_ = 0;
  std::int64_t last_job_id_ = 0;
};

// Thrown for a blob that is not a batch this version wrote: a damaged store.
struct CorruptBatch : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The jobs of a blob, in job-id order.
std::vector<BatchJob> decode_event_batch(std::string_view blob);

}  // namespace auditfwd
