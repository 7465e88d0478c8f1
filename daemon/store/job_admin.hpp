// Operator actions on the job table (the `jobs` CLI), safe beside a running daemon.
#pragma once

#include "store/job_store.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace auditfwd {

struct JobRow {
  std::int64_t id = 0;
  std::string forwarder;
  std::string event_id;
  std::string state;
  int attempt = 0;
  int max_attempts = 0;
  std::int64_t inserted_at_ms = 0;
  std::int64_t scheduled_at_ms = 0;
  std::optional<std::int64_t> finished_at_ms;
  std::string errors;  // JSON array of {attempt, at, error}
};

// Each function opens its own connection (WAL + busy timeout), so it runs
// beside the daemon's writer without corrupting or blocking it for long.

std::vector<JobRow> list_jobs(const std::string& db_path, std::optional<JobState> state,
                              std::optional<std::string> forwarder, std::size_t limit);

// Oban's retry: back to available now, with room for one more attempt.
// Only discarded, cancelled or retryable jobs are touched. Returns how many changed.
std::size_t retry_jobs(const std::string& db_path, const std::vector<std::int64_t>& ids);
std::size_t retry_all_in_state(const std::string& db_path, JobState state, std::optional<std::string> forwarder);

struct StoreStats {
  // (forwarder, state, count), sorted.
  std::vector<std::tuple<std::string, std::string, std::int64_t>> jobs_by_state;
  std::string daemon_counters;  // JSON published by the running daemon, or empty
};
StoreStats store_stats(const std::string& db_path);

// What waits in the store, for the admin endpoint's scrape: jobs per forwarder
// and state (as StoreStats), and per forwarder with pending jobs the insertion
// time (Unix ms) of its oldest. Opens the database read-only.
struct StoreBacklog {
  std::vector<std::tuple<std::string, std::string, std::int64_t>> jobs_by_state;
  std::vector<std::pair<std::string, std::int64_t>> oldest_pending_ms;
};
StoreBacklog store_backlog(const std::string& db_path);

// Calls `emit` with each job in a finished `state` (completed, discarded,
// cancelled) and its stored event (the stamped event's JSON, as delivered),
// lowest id first. Rows are read a chunk at a time, so memory stays bounded
// and the daemon's writer is never held for long. Returns how many.
std::size_t export_jobs(const std::string& db_path, JobState state, std::optional<std::string> forwarder,
                        const std::function<void(const JobRow& job, const std::string& event_json)>& emit);

// Deletes jobs in a finished state (completed, discarded, cancelled). Returns how many.
std::size_t purge_jobs(const std::string& db_path, JobState state, std::optional<std::string> forwarder);
// Deletes every job of `forwarder`, in any state, stored batches included: for
// a forwarder removed from the config (a running daemon no longer delivers
// it). Returns how many.
std::size_t purge_forwarder_jobs(const std::string& db_path, const std::string& forwarder);

}  // namespace auditfwd
