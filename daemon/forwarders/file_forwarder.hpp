// The `file` forwarder: JSON lines appended to a file, optionally fsynced, reopened on SIGHUP.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: `path` (required), `fsync` (bool, default true: a job completes only once its line is on disk). The file is
// opened with O_NOFOLLOW and must be owned by the daemon's effective uid: a symbolic link at the path or a file another
// user owns is a permanent failure.
std::unique_ptr<Forwarder> make_file_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
