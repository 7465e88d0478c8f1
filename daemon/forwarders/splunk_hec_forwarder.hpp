// The `splunk_hec` forwarder: batches to Splunk's HTTP Event Collector, optionally confirmed by indexer
// acknowledgement.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: docs/forwarders/splunk_hec.md. Reads token_file and /etc/machine-id
// (for the default channel); connects only on the first delivery.
std::unique_ptr<Forwarder> make_splunk_hec_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
