// HTTP(S) delivery with Beast over Asio coroutines: a small keep-alive pool, TLS with
// verification on by default, and per-operation cancellation so the caller's timeout holds.
// The only translation unit of the daemon that includes Beast and Asio's SSL.
#include "forwarders/http_forwarder.hpp"

#include "forwarders/endpoint.hpp"
#include "forwarders/http_body.hpp"
#include "forwarders/http_config.hpp"
#include "forwarders/http_outcome.hpp"
#include "forwarders/http_signing.hpp"
#include "net/resolve.hpp"
#include "net/tls_client.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <mutex>
#include <spdlog/spdlog.h>

namespace auditfwd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// An idle keep-alive connection older than this is closed instead of reused:
// servers commonly drop idle connections after 60 s or less (nginx 75 s, Go 90 s).
constexpr std::chrono::seconds idle_limit{30};
constexpr std::size_t max_idle_connections = 16;
// Larger response bodies are not read; the status still classifies the outcome.
constexpr std::uint64_t response_body_limit = 1024 * 1024;

// One HTTP/1.1 connection, used by one delivery at a time (it is leased from the pool).
struct Connection {
  Connection(const asio::any_io_executor& executor, ssl::context* tls_context, std::uint64_t pool_generation)
      : generation(pool_generation) {
    if (tls_context) tls.emplace(executor, *tls_context);
    else plain.emplace(executor);
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

class HttpForwarder final : public Forwarder {
 public:
  HttpForwarder(std::string id, HttpSettings settings, std::shared_ptr<ssl::context> tls_context,
                asio::any_io_executor executor)
      : id_(std::move(id)),
        settings_(std::move(settings)),
        tls_context_(std::move(tls_context)),
        executor_(std::move(executor)),
        redactor_(settings_.secrets) {}

  std::vector<std::string> secrets() const override { return settings_.secrets; }

  BatchLimits batch_limits() const override {
    return {settings_.batch_max_events, settings_.batch_max_bytes,
            settings_.batch_max_events > 1 ? settings_.batch_timeout : std::chrono::milliseconds{0}};
  }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (events.empty()) co_return BatchOutcome{};
    if (settings_.format != HttpBodyFormat::json) {
      auto outcome = co_await post(build_body(settings_.format, events), events.front().id);
      co_return same_outcome(events.size(), outcome);
    }

    // "json": one request per event, each carrying its own id.
    BatchOutcome outcomes;
    outcomes.reserve(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto outcome = co_await post(build_body(HttpBodyFormat::json, events.subspan(i, 1)), events[i].id);
      const bool back_off = outcome.kind == DeliveryOutcome::Kind::retry;
      outcomes.push_back(std::move(outcome));
      if (back_off && i + 1 < events.size()) {
        // Unreachable, overloaded or asking us to wait: the rest of the batch waits too.
        auto rest = DeliveryOutcome::retry("not attempted after: " + outcomes.back().reason, outcomes.back().retry_after);
        outcomes.insert(outcomes.end(), events.size() - i - 1, rest);
        break;
      }
    }
    co_return outcomes;
  }

  void reopen() override { drop_idle_connections(); }
  void stop() override { drop_idle_connections(); }

 private:
  Request make_request(std::string body, const std::string& idempotency_key) const {
    Request request{http::verb::post, settings_.target, 11};
    request.set(http::field::host, settings_.host_header);
    request.set(http::field::user_agent, "auditfwd/0.1");
    for (const auto& [name, value] : settings_.headers) request.set(name, value);
    if (settings_.authorization) request.set(http::field::authorization, *settings_.authorization);
    request.set(http::field::content_type, content_type(settings_.format));
    if (settings_.gzip) {
      request.set(http::field::content_encoding, "gzip");
      body = gzip_compress(body);
    }
    request.set("Idempotency-Key", idempotency_key);
    if (!settings_.hmac_secrets.empty()) {
      // Signed over the bytes on the wire (after gzip), so a receiver checks before decoding.
      const auto timestamp = std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
      request.set("X-Auditfwd-Timestamp", timestamp);
      request.set("X-Auditfwd-Signature", signature_header(settings_.hmac_secrets, idempotency_key, timestamp, body));
    }
    request.body() = std::move(body);
    request.keep_alive(true);
    request.prepare_payload();
    return request;
  }

  // One request → one outcome. A reused keep-alive connection that fails before
  // any response byte arrived was most likely closed by the server while idle:
  // the request is sent once more on a fresh connection.
  asio::awaitable<DeliveryOutcome> post(std::string body, const std::string& idempotency_key) {
    const Request request = make_request(std::move(body), idempotency_key);
    for (int attempt = 0;; ++attempt) {
      auto connection = acquire();
      const bool reused = connection != nullptr;
      if (!connection) {
        connection = std::make_unique<Connection>(executor_, tls_context_.get(), generation_.load());
        if (auto reason = co_await open(*connection); !reason.empty()) co_return DeliveryOutcome::retry(std::move(reason));
      }
      // (Not a ?: with two co_awaits: GCC 12 miscompiles that and frees the result twice.)
      Exchange result;
      if (connection->tls) result = co_await exchange(*connection->tls, *connection, request);
      else result = co_await exchange(*connection->plain, *connection, request);
      if (result.error) {
        if (co_await cancelled()) co_return DeliveryOutcome::retry("cancelled");
        if (reused && attempt == 0 && !result.got_response_bytes) {
          log_->debug("idle connection to {} was closed ({}); reconnecting", settings_.host_header,
                      result.error.message());
          continue;
        }
        co_return DeliveryOutcome::retry(fmt::format("POST {}: {}", settings_.display_url, describe(result.error)));
      }
      const auto& response = result.response;
      std::optional<std::string_view> retry_after;
      if (auto it = response.find(http::field::retry_after); it != response.end()) retry_after = it->value();
      std::string_view phrase = response.reason();
      if (phrase.empty()) phrase = http::obsolete_reason(response.result());
      auto outcome = classify_response(response.result_int(), phrase, response.body(), retry_after,
                                       std::chrono::system_clock::now(), redactor_);
      if (response.keep_alive() && !result.body_truncated) release(std::move(connection));
      co_return outcome;
    }
  }

  template <class Stream>
  asio::awaitable<Exchange> exchange(Stream& stream, Connection& connection, const Request& request) {
    Exchange out;
    // No expiry of our own: the caller bounds the delivery by `timeout` and
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
    const auto where = fmt::format("{}:{}", settings_.host, settings_.port);
    auto resolved = co_await resolve_within(executor_, settings_.host, settings_.connect_timeout);
    if (resolved.error) {
      if (co_await cancelled()) co_return "cancelled";
      co_return describe_resolve_failure(settings_.host, resolved.error, settings_.connect_timeout);
    }
    const auto port = static_cast<unsigned short>(std::stoi(settings_.port));
    std::vector<tcp::endpoint> endpoints;
    for (const auto& address : resolved.addresses) endpoints.emplace_back(address, port);
    auto& tcp_stream = connection.tcp();
    tcp_stream.expires_after(settings_.connect_timeout);
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
      if (!settings_.tls_verify && !warned_insecure_.exchange(true))
        log_->warn("tls_verify = false: the certificate of {} is NOT verified; anyone on the path can read and alter "
                   "these audit events",
                   where);
      if (auto problem = prepare_tls_connection(tls.native_handle(), settings_.host, settings_.tls_verify);
          !problem.empty())
        co_return fmt::format("TLS {}: {}", where, problem);
      tcp_stream.expires_after(settings_.connect_timeout);
      auto [handshake_error] = co_await tls.async_handshake(ssl::stream_base::client, tuple_awaitable);
      if (handshake_error) {
        if (co_await cancelled()) co_return "cancelled";
        if (handshake_error == beast::error::timeout) co_return fmt::format("TLS handshake with {}: timed out", where);
        co_return fmt::format("TLS handshake with {}: {}", where,
                              tls_handshake_failure(tls.native_handle(), handshake_error));
      }
    }
    tcp_stream.expires_never();
    log_->debug("connected to {}{}", where, connection.tls ? " (TLS)" : "");
    co_return std::string{};
  }

  std::string describe(const error_code& error) const {
    if (error == beast::error::timeout) return "timed out";
    return error.message();
  }

  std::unique_ptr<Connection> acquire() {
    std::unique_ptr<Connection> stale;
    std::lock_guard lock(pool_mutex_);
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      if (now - connection->idle_since < idle_limit) return connection;
      stale = std::move(connection);  // closed when this function returns
    }
    return nullptr;
  }

  void release(std::unique_ptr<Connection> connection) {
    connection->idle_since = std::chrono::steady_clock::now();
    std::lock_guard lock(pool_mutex_);
    if (connection->generation == generation_.load() && idle_.size() < max_idle_connections)
      idle_.push_back(std::move(connection));
  }

  void drop_idle_connections() {
    std::vector<std::unique_ptr<Connection>> closing;
    std::lock_guard lock(pool_mutex_);
    ++generation_;  // connections in use are closed when they come back
    closing.swap(idle_);
  }

  std::string id_;
  HttpSettings settings_;
  std::shared_ptr<ssl::context> tls_context_;  // null for http://
  asio::any_io_executor executor_;
  SecretRedactor redactor_;  // settings_.secrets, for receiver bodies quoted in outcome reasons
  std::shared_ptr<spdlog::logger> log_ = spdlog::default_logger()->clone("forwarder." + id_);
  std::atomic<bool> warned_insecure_{false};

  std::mutex pool_mutex_;  // guards idle_; never held across a co_await
  std::vector<std::unique_ptr<Connection>> idle_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace

std::unique_ptr<Forwarder> make_http_forwarder(const ForwarderConfig& config,
                                               const boost::asio::any_io_executor& executor) {
  auto settings = parse_http_settings(config);
  std::shared_ptr<ssl::context> tls_context;
  if (settings.https)
    tls_context = load_tls_client_context(config, {settings.tls_verify, settings.tls_ca_file, settings.tls_cert_file,
                                                   settings.tls_key_file});
  return std::make_unique<HttpForwarder>(config.id, std::move(settings), std::move(tls_context), executor);
}

}  // namespace auditfwd
