// What every HTTP-based forwarder shares: the URL, batching, gzip, TLS and connect keys, Basic credentials,
// and the client built from them. The `http`, `splunk_hec`, `elasticsearch` and `loki` types read these
// the same way; each reads its own keys beside them.
#pragma once

#include "config/config.hpp"
#include "config/config_reader.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"
#include "net/http_client.hpp"

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// The validated keys shared by the HTTP-based forwarders. `secrets` collects
// every secret value the forwarder's config holds (each type adds its own
// credentials): what its outcome reasons and logs must never show.
struct HttpDestination {
  bool https = false;
  std::string host;         // for DNS, SNI and certificate checks: no brackets around IPv6
  std::string port;         // numeric, "80"/"443" when the URL has none
  std::string host_header;  // Host: as the URL spells it, with the port when not the default
  std::string target;       // path and query, at least "/"
  std::string base_path;    // the path without query and without a trailing '/' ("" for the root)
  std::string display_url;  // scheme://host[:port]/path, without query (it may hold a token)

  std::size_t batch_max_events = 1;
  std::size_t batch_max_bytes = 1024 * 1024;
  std::chrono::milliseconds batch_timeout{std::chrono::seconds{1}};
  bool gzip = false;

  std::vector<std::string> secrets;

  bool tls_verify = true;
  std::optional<std::string> tls_ca_file;
  std::optional<std::string> tls_cert_file;
  std::optional<std::string> tls_key_file;

  std::chrono::milliseconds connect_timeout{std::chrono::seconds{5}};
};

// Reads the required `url` (absolute http:// or https://, no user:password@,
// no #fragment). Secret-looking query values join `secrets`. Throws ConfigError
// when the URL is unusable (the keys read after it depend on the scheme).
void read_destination_url(ConfigReader& reader, HttpDestination& destination);

// Reads `batch_max_events` (default `default_events`, 1–10000),
// `batch_max_bytes` (1KiB–256MiB) and `batch_timeout` (at most 1h).
void read_destination_batching(ConfigReader& reader, HttpDestination& destination, std::int64_t default_events);

// Reads `gzip`, `tls_verify`, `tls_ca_file`, `tls_cert_file`, `tls_key_file`
// (https only, files must exist, certificate and key together) and `connect_timeout`.
void read_destination_transport(ConfigReader& reader, HttpDestination& destination);

// The base64 of "user:password": the value after "Basic ".
std::string basic_credentials(std::string_view user, std::string_view password);

// Reads `basic_user` and the secret `basic_password` (inline, `${ENV}` or
// `basic_password_file`): the full Authorization value "Basic …", its
// credentials and password added to `secrets`. Nothing when neither is given.
std::optional<std::string> read_basic_auth(ConfigReader& reader, HttpDestination& destination);

// Reads an API token credential `token_key` (inline, `${ENV}` or `<token_key>_file`), sent as
// "Authorization: <scheme> <token>", or else Basic credentials (read_basic_auth): one or the other,
// never both. The token joins `secrets`. `token_hint` says what a valid token looks like.
std::optional<std::string> read_token_or_basic_auth(ConfigReader& reader, HttpDestination& destination,
                                                    const std::string& token_key, std::string_view scheme,
                                                    std::string_view token_hint);

// The forwarder's batch limits from its batching keys (no lingering when a batch is one event).
BatchLimits destination_batch_limits(const HttpDestination& destination);

// A POST of `body` to `target` with its Content-Type, gzip-compressed when `gzip`; the caller adds its
// own headers (Authorization, Idempotency-Key, …).
HttpRequest destination_post(const HttpDestination& destination, std::string target, std::string_view content_type,
                             std::string body, bool gzip);

// `destination.base_path` followed by `suffix` ("/_bulk"): the request target of an API under a base URL.
std::string api_target(const HttpDestination& destination, std::string_view suffix);

// "POST scheme://host[:port]<path of target>": how errors name a request to `target`, without its query.
std::string request_display(const HttpDestination& destination, std::string_view target);

HttpOrigin origin_of(const HttpDestination& destination);

// The TLS client context for an https destination (nullptr for http); a bad
// tls_* file throws ConfigError naming it.
std::shared_ptr<boost::asio::ssl::context> destination_tls_context(const ForwarderConfig& config,
                                                                   const HttpDestination& destination,
                                                                   const ForwarderContext& context);

// An HttpClient for the destination on the forwarder's executor and logger.
std::unique_ptr<HttpClient> make_destination_client(const ForwarderConfig& config, const HttpDestination& destination,
                                                    const ForwarderContext& context);

}  // namespace auditfwd
