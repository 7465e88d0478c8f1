// The values that travel between the job store and its callers: jobs to
// enqueue, outcomes of attempts, idempotency keys, counters.
#pragma once

#include "common/error.hpp"
#include "event/event.hpp"

#include <sys/types.h>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace auditfwd {

// Oban's job states. available/retryable/executing are "pending".
enum class JobState { available, executing, retryable, completed, discarded, cancelled };
std::string_view to_string(JobState state) noexcept;
std::optional<JobState> parse_job_state(std::string_view text) noexcept;

struct NewJob {
  std::string forwarder;
  int max_attempts = 20;
};

// One event to persist: a job per async forwarder, and (for client-supplied
// ids) the id remembered for idempotency. An item may carry no jobs and only
// remember its id (an event delivered by sync forwarders alone).
struct EnqueueItem {
  std::string event_id;
  std::string payload;
  boost::container::small_vector<NewJob, 2> jobs;  // rarely more than two: no allocation
  bool remember_id = false;
  uid_t sender_uid = 0;            // with remember_id: the key's scope
  ContentDigest content_digest{};  // with remember_id: what the id stands for
};

// A client-supplied id as DESIGN.md scopes it: to its sender's uid and content.
struct IdempotencyKey {
  std::string id;
  uid_t uid = 0;
  ContentDigest digest{};
};

// What the idempotency window knows of a key: nothing; the same id from the
// same uid with the same content; or the id taken by another uid or content.
enum class SeenStatus : unsigned char { unseen, duplicate, conflict };

// Per item: ok with one job id per NewJob, or store_full / store_error. The
// ids of one item's jobs are consecutive.
struct EnqueueOutcome {
  errc code = errc::ok;
  std::int64_t first_job_id = 0;
  std::size_t jobs = 0;
  std::int64_t job_id(std::size_t job) const noexcept { return first_job_id + static_cast<std::int64_t>(job); }
};

// The end of one attempt. `state` is completed, retryable, discarded or cancelled;
// `error` (with `attempt`) is appended to the job's error list unless completed.
struct JobFinish {
  std::int64_t id = 0;
  JobState state = JobState::completed;
  int attempt = 0;
  std::int64_t scheduled_at_ms = 0;  // for retryable
  std::string error;
  // For a job of a stored batch (ClaimedJob::batch_id): its batch, and unless
  // it completed, its event, which becomes a row of the jobs table.
  std::int64_t batch_id = 0;
  std::string payload;
};

}  // namespace auditfwd
