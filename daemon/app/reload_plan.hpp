// What a SIGHUP's new config changes against the running one: pure decisions, tested beside.
#pragma once

#include "config/config.hpp"

#include <string>
#include <vector>

namespace auditfwd {

// Forwarder ids by what a reload does with them, each list in the new config's
// order (removed: in the running config's order).
struct ForwarderChanges {
  std::vector<std::string> added;      // start
  std::vector<std::string> changed;    // replaced: a new instance with the new keys
  std::vector<std::string> removed;    // stop after their deliveries in flight; their jobs stay
  std::vector<std::string> unchanged;  // keep running as they are
};

// True when a reload may keep `running` for `wanted`: every canonical and
// type key equal (where they appear in the file does not count). A `*_file`
// secret is read when the forwarder is built: a changed file alone is not a change.
bool same_forwarder(const ForwarderConfig& running, const ForwarderConfig& wanted);

ForwarderChanges diff_forwarders(const std::vector<ForwarderConfig>& running,
                                 const std::vector<ForwarderConfig>& wanted);

// The keys a running daemon cannot change, each changed one as
// "ingest.socket (./a.sock → ./b.sock)": the socket is bound and the database
// open for the life of the process. Any of them refuses the whole reload.
std::vector<std::string> restart_only_changes(const Config& running, const Config& wanted);

// The keys a reload leaves as they are until the next restart (threads,
// the store's tuning, buffer limits, the log format), each changed one named.
std::vector<std::string> deferred_changes(const Config& running, const Config& wanted);

}  // namespace auditfwd
