// How an HTTP response maps to a delivery outcome (DESIGN.md, `http` semantics).
#pragma once

#include "forwarders/forwarder.hpp"
#include "forwarders/secret_redactor.hpp"

#include <chrono>
#include <optional>
#include <string_view>

namespace auditfwd {

// The delay a Retry-After value asks for: delta-seconds ("120") or an
// HTTP-date (IMF-fixdate, RFC 850 or asctime form) relative to `now`. A date
// in the past is zero; the delay is capped at 24 hours. Empty when malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

// 2xx → ok; 408, 429, 5xx → retry (after Retry-After when given); anything
// else (1xx, 3xx, other 4xx) → permanent. The reason reads
// "HTTP <status> <phrase>: <first 200 bytes of the body>", control bytes
// replaced so it stays one log line, and every secret of `redactor` replaced
// in the whole body before it is cut (a receiver may echo the request's token).
DeliveryOutcome classify_response(unsigned status, std::string_view phrase, std::string_view body,
                                  std::optional<std::string_view> retry_after,
                                  std::chrono::system_clock::time_point now,
                                  const SecretRedactor& redactor = SecretRedactor());

}  // namespace auditfwd
