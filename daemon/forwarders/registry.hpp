// Builds a forwarder of any known type from its config entry; types are plug-ins, not core special cases.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>
#include <string>
#include <vector>

namespace auditfwd {

// Validates the type-specific keys of `config` and builds the forwarder with
// `context` (its executors, its logger, the shared TLS contexts).
// Throws ConfigError for an unknown type or a bad key. The outcome reasons of
// the result never carry the secret values the entry configures
// (Forwarder::secrets, with_redacted_reasons).
std::unique_ptr<Forwarder> make_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

// The type names this build knows, for error messages and docs.
std::vector<std::string> forwarder_types();

}  // namespace auditfwd
