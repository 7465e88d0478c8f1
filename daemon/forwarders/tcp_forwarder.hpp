// The `tcp` forwarder: JSON lines over a tcp:// or tls:// stream (Logstash, Fluentd, Vector socket sources).
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: `address` (required, tcp:// or tls://), `tls_ca_file`, `tls_cert_file`,
// `tls_key_file`. A batch is one write; it is delivered once the kernel took it.
std::unique_ptr<Forwarder> make_tcp_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
