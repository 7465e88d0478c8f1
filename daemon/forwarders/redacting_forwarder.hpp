// A forwarder whose outcome reasons never carry its configured secrets.
#pragma once

#include "forwarders/forwarder.hpp"
#include "forwarders/secret_redactor.hpp"

#include <memory>

namespace auditfwd {

// Wraps `inner` so that every outcome reason (and the text of an exception
// escaping deliver) has inner->secrets() replaced by "[REDACTED]"; returns
// `inner` itself when it holds no secret. Every type gets this from
// make_forwarder: a receiver that echoes a token back in its error body, or a
// library error that quotes a URL, cannot put it into the store or the log.
std::unique_ptr<Forwarder> with_redacted_reasons(std::unique_ptr<Forwarder> inner);

// Redacts the reasons of `outcomes` in place.
void redact_reasons(BatchOutcome& outcomes, const SecretRedactor& redactor);

}  // namespace auditfwd
