// The `loki` forwarder: batches to Grafana Loki's push API.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: docs/forwarders/loki.md. Reads *_file secrets; connects only on the first delivery.
std::unique_ptr<Forwarder> make_loki_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
