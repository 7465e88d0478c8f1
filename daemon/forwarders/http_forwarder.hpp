// The `http` forwarder: events POSTed to a webhook or collector over HTTP/1.1 or HTTPS.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys and defaults: see http_config.hpp and docs/forwarders/http.md. Builds
// the TLS context (CA, client certificate) so a bad file fails check-config;
// connects only on the first delivery.
std::unique_ptr<Forwarder> make_http_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
