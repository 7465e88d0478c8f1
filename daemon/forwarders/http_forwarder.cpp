// The `http` forwarder: builds each request (body, auth, signatures) and classifies each response;
// the connections, TLS and the keep-alive pool are net/http_client's.
#include "forwarders/http_forwarder.hpp"

#include "forwarders/http_body.hpp"
#include "forwarders/http_config.hpp"
#include "forwarders/http_outcome.hpp"
#include "forwarders/http_signing.hpp"
#include "net/http_client.hpp"

#include <fmt/format.h>

namespace auditfwd {
namespace {

namespace asio = boost::asio;

class HttpForwarder final : public Forwarder {
 public:
  HttpForwarder(HttpSettings settings, std::shared_ptr<asio::ssl::context> tls_context, asio::any_io_executor executor,
                std::shared_ptr<spdlog::logger> log)
      : settings_(std::move(settings)),
        client_(std::move(executor), origin_of(settings_), std::move(tls_context), std::move(log)),
        redactor_(settings_.secrets) {}

  std::vector<std::string> secrets() const override { return settings_.secrets; }

  BatchLimits batch_limits() const override { return destination_batch_limits(settings_); }

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
        auto rest =
            DeliveryOutcome::retry("not attempted after: " + outcomes.back().reason, outcomes.back().retry_after);
        outcomes.insert(outcomes.end(), events.size() - i - 1, rest);
        break;
      }
    }
    co_return outcomes;
  }

  void reopen() override { client_.drop_idle_connections(); }
  void stop() override { client_.drop_idle_connections(); }

 private:
  HttpRequest make_request(std::string body, const std::string& idempotency_key) const {
    HttpRequest request;
    request.target = settings_.target;
    request.display = "POST " + settings_.display_url;
    request.headers = settings_.headers;
    if (settings_.authorization) request.headers.emplace_back("Authorization", *settings_.authorization);
    request.headers.emplace_back("Content-Type", content_type(settings_.format));
    if (settings_.gzip) {
      request.headers.emplace_back("Content-Encoding", "gzip");
      body = gzip_compress(body);
    }
    request.headers.emplace_back("Idempotency-Key", idempotency_key);
    if (!settings_.hmac_secrets.empty()) {
      // Signed over the bytes on the wire (after gzip), so a receiver checks before decoding.
      const auto timestamp = std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
              .count());
      request.headers.emplace_back("X-Auditfwd-Timestamp", timestamp);
      request.headers.emplace_back("X-Auditfwd-Signature",
                                   signature_header(settings_.hmac_secrets, idempotency_key, timestamp, body));
    }
    request.body = std::move(body);
    return request;
  }

  // One request → one outcome.
  asio::awaitable<DeliveryOutcome> post(std::string body, const std::string& idempotency_key) {
    const auto result = co_await client_.send(make_request(std::move(body), idempotency_key));
    if (!result.response) co_return DeliveryOutcome::retry(result.error);
    const auto& response = *result.response;
    co_return classify_response(response.status, response.reason, response.body, response.header("Retry-After"),
                                std::chrono::system_clock::now(), redactor_);
  }

  HttpSettings settings_;
  HttpClient client_;
  SecretRedactor redactor_;  // settings_.secrets, for receiver bodies quoted in outcome reasons
};

}  // namespace

std::unique_ptr<Forwarder> make_http_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  auto settings = parse_http_settings(config);
  auto tls_context = destination_tls_context(config, settings, context);
  return std::make_unique<HttpForwarder>(std::move(settings), std::move(tls_context), context.executor, context.log);
}

}  // namespace auditfwd
