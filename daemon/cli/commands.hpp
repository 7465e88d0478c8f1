// The subcommands besides running the daemon: send, jobs. Each returns a process exit code.
#pragma once

#include "config/admin_address.hpp"

#include <boost/json/object.hpp>
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
// For jobs stats: a published counters row older than counters_stale_after
// (or without a readable updated_at) is marked "healthy":false, "stale":true
// with a "reason": the daemon is gone, or cannot write the store.
void mark_stale_counters(boost::json::object& counters, std::int64_t now_unix_ms);
// NDJSON, one line per job of a finished state: the job's id, forwarder,
// state, attempts, times and errors, then "event": the stamped event exactly
// as it was (to be) delivered. To stdout, or to a new file (0600, synced
// before the command reports success). Exit 0 only when every line was written.
int jobs_export_command(const JobsOptions& options);

// `auditfwd status`: one screen from the admin endpoint's /status. Exit 0
// when healthy, 1 when degraded (health failing, or a forwarder's last
// delivery failed), 2 when the endpoint cannot be reached or read.
int status_command(const AdminAddress& address, bool json);
struct StatusScreen {
  std::string text;
  int exit_code = 0;
};
// The screen for a /status object; throws when the object has another shape.
StatusScreen render_status(const boost::json::object& status, const std::string& where);

// `auditfwd tap`: accepted events as NDJSON on stdout, live, until the daemon
// ends the stream (exit 0); what the tap missed for reading too slowly is told
// on stderr. Exit 2 when the endpoint cannot be reached, 64 for a bad filter.
int tap_command(const AdminAddress& address, const std::string& action, const std::string& forwarder);

}  // namespace auditfwd
