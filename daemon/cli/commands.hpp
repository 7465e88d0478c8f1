// The subcommands besides running the daemon: send, jobs. Each returns a process exit code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace auditfwd {

// Pipes NDJSON from stdin to the socket and prints every reply line.
// Exit: 0 when every reply has "ok":true, 1 when any was refused, 2 when the
// socket cannot be reached or closes early.
int send_command(const std::string& socket_path);

struct JobsOptions {
  std::string db_path;
  std::optional<std::string> state;
  std::optional<std::string> forwarder;
  std::size_t limit = 100;
  bool json = false;
  std::vector<std::int64_t> ids;
  bool all_discarded = false;
  bool all_cancelled = false;
  std::optional<std::string> output;               // export: a new file instead of stdout
  std::vector<std::string> configured_forwarders;  // the ids of the config's [[forwarders]]
};

int jobs_list_command(const JobsOptions& options);
int jobs_retry_command(const JobsOptions& options);
int jobs_purge_command(const JobsOptions& options);
int jobs_stats_command(const JobsOptions& options);
// NDJSON, one line per job of a finished state: the job's id, forwarder,
// state, attempts, times and errors, then "event": the stamped event exactly
// as it was (to be) delivered. To stdout, or to a new file (0600, synced
// before the command reports success). Exit 0 only when every line was written.
int jobs_export_command(const JobsOptions& options);

}  // namespace auditfwd
