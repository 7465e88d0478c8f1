// The shared tcp/tls connection: lazy connect, EOF probe before each write, backoff, cancellation.
#include "net/stream_connector.hpp"

#include "common/async_mutex.hpp"
#include "net/reconnect_backoff.hpp"
#include "net/resolve.hpp"
#include "net/tls_client.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>

namespace auditfwd {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

struct StreamConnector::Impl {
  Impl(asio::any_io_executor ex, Endpoint ep, std::shared_ptr<ssl::context> context,
       std::chrono::milliseconds resolve_limit, std::shared_ptr<spdlog::logger> logger)
      : executor(std::move(ex)),
        endpoint(std::move(ep)),
        tls_context(std::move(context)),
        resolve_timeout(resolve_limit),
        log(std::move(logger)),
        mutex(executor) {}

  asio::any_io_executor executor;
  const Endpoint endpoint;
  const std::shared_ptr<ssl::context> tls_context;  // null for tcp://
  const std::chrono::milliseconds resolve_timeout;
  std::shared_ptr<spdlog::logger> log;
  AsyncMutex mutex;
  std::atomic<bool> reset_requested{false};

  // Guarded by `mutex`.
  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> secure;
  ReconnectBackoff backoff;
  std::string last_error;

  bool connected() const { return plain || secure; }

  tcp::socket* socket() {
    if (plain) return &*plain;
    if (secure) return &secure->next_layer();
    return nullptr;
  }

  void disconnect() {
    boost::system::error_code ignored;
    if (auto* s = socket()) {
      s->shutdown(tcp::socket::shutdown_both, ignored);
      s->close(ignored);
    }
    plain.reset();
    secure.reset();
  }

  // True when the peer has closed or reset the connection. A write to such a
  // socket may still succeed once (the kernel buffers it, the peer answers
  // with RST), so we ask the kernel before writing instead of trusting write().
  bool peer_gone() {
    auto* s = socket();
    pollfd probe{s->native_handle(), POLLIN | POLLRDHUP, 0};
    if (::poll(&probe, 1, 0) < 0) return false;
    if (probe.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
    if ((probe.revents & POLLIN) && plain) {
      // The receiver is not expected to talk; discard what it sent so its
      // window never fills, and notice an orderly close hidden behind it.
      char scratch[4096];
      for (;;) {
        const auto n = ::recv(s->native_handle(), scratch, sizeof scratch, MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0) return errno != EAGAIN && errno != EINTR;  // EWOULDBLOCK is EAGAIN on Linux
      }
    }
    return false;  // TLS: pending bytes are records (e.g. session tickets) for OpenSSL, not ours to read
  }

  asio::awaitable<std::string> connect() {
    const auto target = endpoint.text();
    boost::system::error_code error;
    const auto literal = asio::ip::make_address(endpoint.host, error);
    const bool is_ip = !error;
    std::vector<tcp::endpoint> candidates;
    if (is_ip) {
      candidates.emplace_back(literal, endpoint.port);
    } else {
      auto resolved = co_await resolve_within(executor, endpoint.host, resolve_timeout);
      if (resolved.error) co_return describe_resolve_failure(endpoint.host, resolved.error, resolve_timeout);
      for (const auto& address : resolved.addresses) candidates.emplace_back(address, endpoint.port);
    }

    tcp::socket socket(executor);
    auto [connect_error, peer] = co_await asio::async_connect(socket, candidates, asio::as_tuple(asio::use_awaitable));
    if (connect_error) co_return fmt::format("connect to {}: {}", target, connect_error.message());
    socket.set_option(tcp::no_delay(true), error);
    socket.set_option(asio::socket_base::keep_alive(true), error);

    if (endpoint.transport != Transport::tls) {
      plain.emplace(std::move(socket));
      co_return std::string{};
    }
    ssl::stream<tcp::socket> stream(std::move(socket), *tls_context);
    SSL* handle = stream.native_handle();
    if (auto problem = prepare_tls_connection(handle, endpoint.host, /*verify=*/true); !problem.empty())
      co_return fmt::format("TLS {}: {}", target, problem);
    auto [handshake_error] =
        co_await stream.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    if (handshake_error)
      co_return fmt::format("TLS handshake with {}: {}", target, tls_handshake_failure(handle, handshake_error));
    if (SSL_version(handle) == TLS1_3_VERSION) {
      if (auto refusal = co_await await_tls13_verdict(stream); !refusal.empty()) co_return refusal;
    }
    secure.emplace(std::move(stream));
    co_return std::string{};
  }

  // A TLS 1.3 server checks the client's certificate (or its absence) only
  // after the client has finished its handshake, and says no with an alert
  // and a close a round trip later. Writing at once would hand a batch to a
  // connection that is about to be refused, every time. So listen for what the
  // server sends first — session tickets or that alert — for a short while.
  asio::awaitable<std::string> await_tls13_verdict(ssl::stream<tcp::socket>& stream) {
    std::array<char, 256> scratch;
    asio::steady_timer timer(executor, std::chrono::milliseconds(200));
    auto first = co_await (stream.async_read_some(asio::buffer(scratch), asio::as_tuple(asio::use_awaitable)) ||
                           timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (first.index() == 0) {
      if (const auto error = std::get<0>(std::get<0>(first)); error)
        co_return fmt::format("TLS connection to {} refused by the server after the handshake: {}{}", endpoint.text(),
                              error.message(),
                              SSL_CTX_get0_certificate(tls_context->native_handle())
                                  ? ""
                                  : " (does it require a client certificate? set tls_cert_file and tls_key_file)");
    }
    co_return std::string{};
  }

  asio::awaitable<std::string> write_locked(std::vector<asio::const_buffer>& buffers) {
    if (reset_requested.exchange(false) && connected()) {
      log->info("reconnecting to {} (reopen requested)", endpoint.text());
      disconnect();
    }
    if (connected() && peer_gone()) {
      log->info("{} closed the connection; reconnecting", endpoint.text());
      disconnect();
    }
    if (!connected()) {
      if (const auto wait = backoff.remaining(); wait.count() > 0)
        co_return fmt::format("{} (next connection attempt in {}ms)", last_error, wait.count());
      if (auto error = co_await connect(); !error.empty()) {
        disconnect();
        // The caller gave up (its timeout) during the attempt: not a failure of the destination.
        if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
          co_return std::string("cancelled");
        const auto wait = backoff.failed();
        log->warn("{}; next attempt in {}ms", error, wait.count());
        last_error = std::move(error);
        co_return last_error;
      }
      backoff.succeeded();
      log->info("connected to {}", endpoint.text());
    }

    boost::system::error_code error;
    if (plain) {
      std::tie(error, std::ignore) = co_await asio::async_write(*plain, buffers, asio::as_tuple(asio::use_awaitable));
    } else {
      // OpenSSL writes one buffer per record: join the batch so it costs one record per 16KiB, not per line.
      std::string joined;
      joined.reserve(asio::buffer_size(buffers));
      for (const auto& b : buffers) joined.append(static_cast<const char*>(b.data()), b.size());
      std::tie(error, std::ignore) =
          co_await asio::async_write(*secure, asio::buffer(joined), asio::as_tuple(asio::use_awaitable));
    }
    if (error) {
      disconnect();
      co_return fmt::format("write to {}: {}", endpoint.text(), error.message());
    }
    co_return std::string{};
  }
};

StreamConnector::StreamConnector(asio::any_io_executor executor, Endpoint endpoint,
                                 std::shared_ptr<asio::ssl::context> tls_context,
                                 std::chrono::milliseconds resolve_timeout, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(endpoint), std::move(tls_context), resolve_timeout,
                                   std::move(log))) {}

StreamConnector::~StreamConnector() = default;

asio::awaitable<std::string> StreamConnector::write(std::vector<asio::const_buffer> buffers) {
  AsyncMutex::Lock lock;
  try {
    lock = co_await impl_->mutex.lock();
    if (!lock) co_return std::string("cancelled while waiting for the connection");
    co_return co_await impl_->write_locked(buffers);
  } catch (const boost::system::system_error& e) {
    // A cancelled coroutine throws at its next co_await.
    if (e.code() != asio::error::operation_aborted) throw;
  }
  // A cancelled step may have left the stream half used: start afresh next time.
  if (lock) impl_->disconnect();
  co_return std::string("cancelled");
}

void StreamConnector::reset() { impl_->reset_requested = true; }

void StreamConnector::close() { impl_->disconnect(); }

const Endpoint& StreamConnector::endpoint() const { return impl_->endpoint; }

}  // namespace auditfwd
