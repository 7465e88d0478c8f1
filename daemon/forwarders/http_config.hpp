// The `http` forwarder's settings: every type-specific key read, checked and defaulted in one place.
#pragma once

#include "config/config.hpp"
#include "forwarders/http_destination.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace auditfwd {

enum class HttpBodyFormat { json, ndjson, json_array };

// A validated http forwarder configuration: the keys every HTTP-based forwarder
// shares, plus the body format, headers, authorization and signing. Secrets
// (authorization, header values, hmac_secrets) live here and must never be
// formatted into a log line or an outcome reason; `display_url` is the URL safe to show.
struct HttpSettings : HttpDestination {
  HttpBodyFormat format = HttpBodyFormat::json;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, as configured
  std::optional<std::string> authorization;                  // full Authorization value
  std::vector<std::string> hmac_secrets;
};

// Reads the type keys of one `http` forwarder entry. Throws ConfigError naming
// the key on a missing, mistyped, out-of-range or unknown key, on a URL that is
// not absolute http(s), and on a tls_* file that does not exist. Reads secret
// files (`*_file` keys) but opens no connection.
HttpSettings parse_http_settings(const ForwarderConfig& config);

// "application/json" or "application/x-ndjson".
const char* content_type(HttpBodyFormat format);

}  // namespace auditfwd
