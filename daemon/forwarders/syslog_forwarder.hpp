// The `syslog` forwarder: RFC 5424 messages over udp://, tcp:// (RFC 6587 octet counting) or tls:// (RFC 5425).
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: `address` (required), `facility` (default authpriv), `app_name`
// (default auditfwd), `hostname` (default: this host's name), `tls_ca_file`,
// `tls_cert_file`, `tls_key_file`.
std::unique_ptr<Forwarder> make_syslog_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
