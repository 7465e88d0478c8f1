// Request signing for the `http` forwarder: HMAC-SHA256 over "<key>.<timestamp>.<body>", one per secret.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace auditfwd {

// Lower-case hex HMAC-SHA256 of `message` under `secret`.
std::string hmac_sha256_hex(std::string_view secret, std::string_view message);

// The X-Auditfwd-Signature value: "v1=<hex>" per secret, comma-separated, in
// the order of `secrets`, each over "<idempotency_key>.<timestamp>.<body>".
// `body` is the exact bytes sent (after gzip when it is on).
std::string signature_header(std::span<const std::string> secrets, std::string_view idempotency_key,
                             std::string_view timestamp, std::string_view body);

}  // namespace auditfwd
