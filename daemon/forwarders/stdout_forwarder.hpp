// The `stdout` forwarder: JSON lines on the daemon's standard output (journald under systemd).
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// No type-specific keys.
std::unique_ptr<Forwarder> make_stdout_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
