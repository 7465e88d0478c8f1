// The `file` forwarder: JSON lines appended to a file, optionally fsynced, reopened on SIGHUP.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"

#include <memory>

namespace auditfwd {

// Keys: `path` (required), `fsync` (bool, default false).
std::unique_ptr<Forwarder> make_file_forwarder(const ForwarderConfig& config,
                                               const boost::asio::any_io_executor& executor);

}  // namespace auditfwd
