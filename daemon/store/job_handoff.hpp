// Fresh jobs handed from the store's writer straight to a forwarder's workers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace auditfwd {

struct ClaimedJob {
  std::int64_t id = 0;
  int attempt = 0;  // this attempt's number, starting at 1
  int max_attempts = 0;
  std::string payload;
  // The stored batch holding this job (its first attempt), or 0 for a row of
  // the jobs table (a retry, or a job the `jobs` CLI made available).
  std::int64_t batch_id = 0;
};

// While a forwarder's workers keep up, the writer inserts its new jobs already
// `executing` and hands them over here after the commit, so they skip a claim:
// one table write less per job, and no index entry at all. Their attempt is
// recorded with their outcome (until then the table says attempt 0). Bounded by
// `capacity` jobs waiting to be taken; past it, and while a due job of that
// forwarder waits in the table (a retry included), new jobs are inserted
// `available` as usual. A crash leaves handed jobs `executing` with no
// attempt recorded: the start-up rescue puts them back in line.
class JobHandoff {
 public:
  explicit JobHandoff(std::size_t capacity) : capacity_(capacity) {}

  // Writer thread, inside the transaction: room for one more job?
  bool try_reserve() noexcept;
  // Writer thread: the transaction (or the operation) holding `count` reserved
  // jobs was rolled back.
  void cancel_reservations(std::size_t count) noexcept;
  // Writer thread, after the commit: the reserved jobs, now executing.
  void push(std::vector<ClaimedJob>& jobs);

  // Workers: moves up to `max_jobs` jobs (and, past the first, up to
  // `max_bytes` of payload; 0 = no limit) into `out`, oldest first.
  void take(std::vector<ClaimedJob>& out, std::size_t max_jobs, std::size_t max_bytes);

 private:
  const std::size_t capacity_;
  std::atomic<std::size_t> reserved_{0};  // pushed or about to be, not yet taken
  std::mutex mutex_;
  std::deque<ClaimedJob> jobs_;
};

}  // namespace auditfwd
