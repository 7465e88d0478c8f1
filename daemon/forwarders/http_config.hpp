// The `http` forwarder's settings: every type-specific key read, checked and defaulted in one place.
#pragma once

#include "config/config.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace auditfwd {

enum class HttpBodyFormat { json, ndjson, json_array };

// A validated http forwarder configuration. Secrets (authorization, header
// values, hmac_secrets) live here and must never be formatted into a log line
// or an outcome reason; `display_url` is the URL safe to show.
struct HttpSettings {
  bool https = false;
  std::string host;         // for DNS, SNI and certificate checks: no brackets around IPv6
  std::string port;         // numeric, "80"/"443" when the URL has none
  std::string host_header;  // Host: as the URL spells it, with the port when not the default
  std::string target;       // path and query, at least "/"
  std::string display_url;  // scheme://host[:port]/path, without query (it may hold a token)

  HttpBodyFormat format = HttpBodyFormat::json;
  std::size_t batch_max_events = 1;
  std::size_t batch_max_bytes = 1024 * 1024;
  std::chrono::milliseconds batch_timeout{std::chrono::seconds{1}};
  bool gzip = false;

  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, as configured
  std::optional<std::string> authorization;                  // full Authorization value
  std::vector<std::string> hmac_secrets;
  // Every secret value above (bearer token, basic password and credentials,
  // secret-looking header values and URL query values, hmac_secrets): what the
  // forwarder's outcome reasons must never show.
  std::vector<std::string> secrets;

  bool tls_verify = true;
  std::optional<std::string> tls_ca_file;
  std::optional<std::string> tls_cert_file;
  std::optional<std::string> tls_key_file;

  std::chrono::milliseconds connect_timeout{std::chrono::seconds{5}};
};

// Reads the type keys of one `http` forwarder entry. Throws ConfigError naming
// the key on a missing, mistyped, out-of-range or unknown key, on a URL that is
// not absolute http(s), and on a tls_* file that does not exist. Reads secret
// files (`*_file` keys) but opens no connection.
HttpSettings parse_http_settings(const ForwarderConfig& config);

// "application/json" or "application/x-ndjson".
const char* content_type(HttpBodyFormat format);

}  // namespace auditfwd
