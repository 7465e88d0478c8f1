// The `exec` forwarder: a long-running child program that takes events on stdin and answers on stdout.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: `command` (required list: program and arguments), `env` (table of
// strings added to the daemon's environment). The way to write a custom
// forwarder in any language; see docs/forwarders/exec.md for the protocol.
std::unique_ptr<Forwarder> make_exec_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
