// An HTTP/1.1 client for one origin with a keep-alive pool: what every HTTP-based forwarder sends through.
#pragma once

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace auditfwd {

// Where the requests go.
struct HttpOrigin {
  bool https = false;
  std::string host;         // for DNS, SNI and certificate checks: an IPv6 literal without brackets
  std::string port;         // numeric
  std::string host_header;  // the Host: value
  bool tls_verify = true;   // false: a warning is logged once, at the first TLS connection
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{5}};  // bounds lookup, connect and handshake, each
};

struct HttpRequest {
  std::string method = "POST";
  std::string target = "/";  // path and query
  // Sent in this order after Host and User-Agent (auditfwd/0.1), replacing
  // either when named; Content-Length and Connection are the client's.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string display;  // how errors name the request, e.g. "POST https://host/path"; must hold no secret
};

struct HttpResponse {
  unsigned status = 0;
  std::string reason;  // the reason phrase; the standard one when the server sent none
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;             // at most HttpClient::response_body_limit bytes
  bool body_truncated = false;  // the body was longer (its status still counts)

  // The first header of that name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

// A final (non-1xx) response, or the reason there is none.
struct HttpResult {
  std::optional<HttpResponse> response;
  std::string error;
};

// Sends requests to one origin, each on a connection leased from a keep-alive
// pool (idle connections older than 30 s are not reused, at most 16 are
// kept). A fresh connection is resolved (resolve_within), connected and, for
// https, handshaken under the TLS client policy (prepare_tls_connection),
// each step within `connect_timeout`. A reused connection that fails before any
// response byte (the server closed it while idle) is replaced and the request
// sent once more. send() may run concurrently and honours per-operation
// cancellation: a cancelled send returns the error "cancelled", and the
// caller's timeout holds even while a name lookup hangs.
class HttpClient {
 public:
  static constexpr std::uint64_t response_body_limit = 1024 * 1024;

  // `tls_context` (make_tls_client_context) is required for https and unused for http.
  HttpClient(boost::asio::any_io_executor io, HttpOrigin origin, std::shared_ptr<boost::asio::ssl::context> tls_context,
             std::shared_ptr<spdlog::logger> log);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  boost::asio::awaitable<HttpResult> send(const HttpRequest& request);

  // Thread-safe: closes the idle connections; those in use are closed when they come back (SIGHUP, stop).
  void drop_idle_connections();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace auditfwd
