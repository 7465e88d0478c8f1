// One lazily opened, self-healing tcp:// or tls:// connection shared by concurrent deliveries.
#pragma once

#include "net/endpoint.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace auditfwd {

// Owns at most one connection to `endpoint`. The first write connects
// (construction touches nothing, so check-config may build it); a connection
// the peer closed is noticed before the next write and replaced; failed
// connects are spaced by ReconnectBackoff, and a write during the backoff
// fails at once instead of connecting. A name is resolved within
// `resolve_timeout` (resolve_within), and a cancelled write returns even
// while the lookup hangs. A tls:// endpoint needs `tls_context`
// (make_tls_client_context); each connection follows prepare_tls_connection:
// the peer must name the endpoint's host or IP, and SNI is sent for names.
class StreamConnector {
 public:
  StreamConnector(boost::asio::any_io_executor executor, Endpoint endpoint,
                  std::shared_ptr<boost::asio::ssl::context> tls_context, std::chrono::milliseconds resolve_timeout,
                  std::shared_ptr<spdlog::logger> log);
  ~StreamConnector();
  StreamConnector(const StreamConnector&) = delete;
  StreamConnector& operator=(const StreamConnector&) = delete;

  // Writes every byte of `buffers` as one write, (re)connecting first if
  // needed. Concurrent callers are served one at a time. Returns an empty
  // string once the kernel has taken every byte, else the reason it did not
  // (the connection is then dropped, so the next write starts afresh).
  // Honours per-operation cancellation: a cancelled write returns a reason too.
  boost::asio::awaitable<std::string> write(std::vector<boost::asio::const_buffer> buffers);

  // Thread-safe: the next write opens a fresh connection (SIGHUP).
  void reset();

  // Closes the connection now; only when no write is running (shutdown).
  void close();

  const Endpoint& endpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace auditfwd
