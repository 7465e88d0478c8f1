// Who is at the other end of a connection, and which host this is: read from the kernel
// and the system, never from what a client writes.
#pragma once

#include "event/event.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace auditfwd {

// Completes `credentials` (SO_PEERCRED, see peer_credentials in session.hpp) with the user and group names (NSS) and,
// from `proc`/PID, the executable's path, the process name and its systemd unit. What cannot be read (the process
// already exited, a uid without a name, no systemd) stays empty. Blocking file reads, a few microseconds each: called
// once per connection, when it is accepted, so `exe` is the program that
// connected (until the pid is reused, which needs the client to exit first).
SenderIdentity resolve_sender(const PeerCredentials& credentials, const std::string& proc = "/proc");

// The unit a /proc/PID/cgroup file places its process in, as sd_pid_get_unit
// finds it: the first path component of the systemd hierarchy (cgroup v2's
// "0::" line, else v1's "name=systemd") that names a unit other than a slice
// ("sshd.service", "session-4.scope", "user@1000.service"). Empty when none.
std::string unit_from_cgroup(std::string_view cgroup_file);

// Reads the host's identity: gethostname, /etc/machine-id, the boot id.
HostIdentity read_host_identity(const std::string& etc = "/etc", const std::string& proc = "/proc");

// This host, read on the first call (the daemon makes it at start) and kept.
const HostIdentity& local_host();

}  // namespace auditfwd
