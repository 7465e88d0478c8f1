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
};

int jobs_list_command(const JobsOptions& options);
int jobs_retry_command(const JobsOptions& options);
int jobs_purge_command(const JobsOptions& options);
int jobs_stats_command(const JobsOptions& options);

}  // namespace auditfwd
