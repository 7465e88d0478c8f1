// Beast over Asio coroutines: the keep-alive pool, connection set-up and one exchange per request.
// The heavy Beast and TLS templates live in this file only.
#include "net/http_client.hpp"

#include "net/resolve.hpp"
#include "net/tls_client.hpp"

#include <fmt/format.h>
#include <strings.h>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>

namespace auditfwd {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// An idle keep-alive connection older than this is closed instead of reused:
// servers commonly drop idle connections after 60 s or less (nginx 75 s, Go 90 s).
constexpr std::chrono::seconds idle_limit{30};
constexpr std::size_t max_idle_connections = 16;

// One HTTP/1.1 connection, used by one request at a time (it is leased from the pool).
struct Connection {
  Connection(const asio::any_io_executor& executor, ssl::context* tls_context, std::uint64_t pool_generation)
      : generation(pool_generation) {
    if (tls_context)
      tls.emplace(executor, *tls_context);
    else
      plain.emplace(executor);
  }
  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;
  std::uint64_t generation;
};

struct Exchange {
  error_code error;
  bool got_response_bytes = false;  // false: the request may never have reached the server
  bool body_truncated = false;
  Response response;
};

asio::awaitable<bool> cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

std::string describe(const error_code& error) {
  if (error == beast::error::timeout) return "timed out";
  return error.message();
}

HttpResponse to_response(Response& response, bool body_truncated) {
  HttpResponse out;
  out.status = response.result_int();
  out.reason = std::string(response.reason());
  if (out.reason.empty()) out.reason = std::string(http::obsolete_reason(response.result()));
  for (const auto& field : response)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(response.body());
  out.body_truncated = body_truncated;
  return out;
}

}  // namespace

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) return value;
  return std::nullopt;
}

struct HttpClient::Impl {
  Impl(asio::any_io_executor io, HttpOrigin o, std::shared_ptr<ssl::context> context,
       std::shared_ptr<spdlog::logger> logger)
      : executor(std::move(io)),
        origin(std::move(o)),
        tls_context(origin.https ? std::move(context) : nullptr),
        log(std::move(logger)),
        where(fmt::format("{}:{}", origin.host, origin.port)) {}

  asio::any_io_executor executor;
  const HttpOrigin origin;
  const std::shared_ptr<ssl::context> tls_context;  // null for http
  std::shared_ptr<spdlog::logger> log;
  const std::string where;  // host:port, for errors
  std::atomic<bool> warned_insecure{false};

  std::mutex pool_mutex;  // guards idle; never held across a co_await
  std::vector<std::unique_ptr<Connection>> idle;
  std::atomic<std::uint64_t> generation{0};

  Request make_request(const HttpRequest& in) const {
    Request request;
    request.method_string(in.method);
    request.target(in.target);
    request.version(11);
    request.set(http::field::host, origin.host_header);
    request.set(http::field::user_agent, "auditfwd/0.1");
    for (const auto& [name, value] : in.headers) request.set(name, value);
    request.body() = in.body;
    request.keep_alive(true);
    request.prepare_payload();
    return request;
  }

  asio::awaitable<HttpResult> send(const HttpRequest& in) {
    const Request request = make_request(in);
    for (int attempt = 0;; ++attempt) {
      auto connection = acquire();
      const bool reused = connection != nullptr;
      if (!connection) {
        connection = std::make_unique<Connection>(executor, tls_context.get(), generation.load());
        if (auto reason = co_await open(*connection); !reason.empty())
          co_return HttpResult{std::nullopt, std::move(reason)};
      }
      // (Not a ?: with two co_awaits: GCC 12 miscompiles that and frees the result twice.)
      Exchange result;
      if (connection->tls)
        result = co_await exchange(*connection->tls, *connection, request);
      else
        result = co_await exchange(*connection->plain, *connection, request);
      if (result.error) {
        if (co_await cancelled()) co_return HttpResult{std::nullopt, "cancelled"};
        if (reused && attempt == 0 && !result.got_response_bytes) {
          log->debug("idle connection to {} was closed ({}); reconnecting", origin.host_header, result.error.message());
          continue;
        }
        co_return HttpResult{std::nullopt, fmt::format("{}: {}", in.display, describe(result.error))};
      }
      const bool reusable = result.response.keep_alive() && !result.body_truncated;
      HttpResult out{to_response(result.response, result.body_truncated), {}};
      if (reusable) release(std::move(connection));
      co_return out;
    }
  }

  template <class Stream>
  asio::awaitable<Exchange> exchange(Stream& stream, Connection& connection, const Request& request) {
    Exchange out;
    // No expiry of our own: the caller bounds the request (its `timeout`) and
    // cancels these operations (per-operation cancellation) when it expires.
    connection.tcp().expires_never();
    auto [write_error, written] = co_await http::async_write(stream, request, tuple_awaitable);
    (void)written;
    if (write_error) {
      out.error = write_error;
      co_return out;
    }
    for (int interim = 0; interim < 8; ++interim) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(response_body_limit);
      auto [read_error, read] = co_await http::async_read(stream, connection.buffer, parser, tuple_awaitable);
      (void)read;
      out.got_response_bytes = out.got_response_bytes || parser.got_some();
      if (read_error == http::error::body_limit && parser.is_header_done()) {
        out.body_truncated = true;
      } else if (read_error) {
        out.error = read_error;
        co_return out;
      }
      out.response = parser.release();
      // 1xx (other than 101) are interim responses: the final one follows.
      if (out.response.result_int() / 100 != 1 || out.response.result_int() == 101) break;
    }
    co_return out;
  }

  // Resolves, connects and (for https) handshakes within connect_timeout.
  // Returns an empty string on success, else the reason.
  asio::awaitable<std::string> open(Connection& connection) {
    auto resolved = co_await resolve_within(executor, origin.host, origin.connect_timeout);
    if (resolved.error) {
      if (co_await cancelled()) co_return "cancelled";
      co_return describe_resolve_failure(origin.host, resolved.error, origin.connect_timeout);
    }
    const auto port = static_cast<unsigned short>(std::stoi(origin.port));
    std::vector<tcp::endpoint> endpoints;
    for (const auto& address : resolved.addresses) endpoints.emplace_back(address, port);
    auto& tcp_stream = connection.tcp();
    tcp_stream.expires_after(origin.connect_timeout);
    auto [connect_error, endpoint] = co_await tcp_stream.async_connect(endpoints, tuple_awaitable);
    (void)endpoint;
    if (connect_error) {
      if (co_await cancelled()) co_return "cancelled";
      co_return fmt::format("connect {}: {}", where, describe(connect_error));
    }
    error_code ignored;
    tcp_stream.socket().set_option(tcp::no_delay(true), ignored);
    if (connection.tls) {
      auto& tls = *connection.tls;
      if (!origin.tls_verify && !warned_insecure.exchange(true))
        log->warn(
            "tls_verify = false: the certificate of {} is NOT verified; anyone on the path can read and alter "
            "these audit events",
            where);
      if (auto problem = prepare_tls_connection(tls.native_handle(), origin.host, origin.tls_verify); !problem.empty())
        co_return fmt::format("TLS {}: {}", where, problem);
      tcp_stream.expires_after(origin.connect_timeout);
      auto [handshake_error] = co_await tls.async_handshake(ssl::stream_base::client, tuple_awaitable);
      if (handshake_error) {
        if (co_await cancelled()) co_return "cancelled";
        if (handshake_error == beast::error::timeout) co_return fmt::format("TLS handshake with {}: timed out", where);
        co_return fmt::format("TLS handshake with {}: {}", where,
                              tls_handshake_failure(tls.native_handle(), handshake_error));
      }
    }
    tcp_stream.expires_never();
    log->debug("connected to {}{}", where, connection.tls ? " (TLS)" : "");
    co_return std::string{};
  }

  std::unique_ptr<Connection> acquire() {
    std::unique_ptr<Connection> stale;
    std::lock_guard lock(pool_mutex);
    const auto now = std::chrono::steady_clock::now();
    while (!idle.empty()) {
      auto connection = std::move(idle.back());
      idle.pop_back();
      if (now - connection->idle_since < idle_limit) return connection;
      stale = std::move(connection);  // closed when this function returns
    }
    return nullptr;
  }

  void release(std::unique_ptr<Connection> connection) {
    connection->idle_since = std::chrono::steady_clock::now();
    std::lock_guard lock(pool_mutex);
    if (connection->generation == generation.load() && idle.size() < max_idle_connections)
      idle.push_back(std::move(connection));
  }

  void drop_idle_connections() {
    std::vector<std::unique_ptr<Connection>> closing;
    std::lock_guard lock(pool_mutex);
    ++generation;  // connections in use are closed when they come back
    closing.swap(idle);
  }
};

HttpClient::HttpClient(asio::any_io_executor io, HttpOrigin origin, std::shared_ptr<ssl::context> tls_context,
                       std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(std::move(io), std::move(origin), std::move(tls_context), std::move(log))) {}

HttpClient::~HttpClient() = default;

asio::awaitable<HttpResult> HttpClient::send(const HttpRequest& request) { return impl_->send(request); }

void HttpClient::drop_idle_connections() { impl_->drop_idle_connections(); }

}  // namespace auditfwd
