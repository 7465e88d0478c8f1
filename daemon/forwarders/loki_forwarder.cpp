// The `loki` forwarder: one POST /loki/api/v1/push per batch; the answer is the whole batch's
// (2xx ok; 408, 429, 5xx retry; 400 and other 4xx permanent).
#include "forwarders/loki_forwarder.hpp"

#include "forwarders/forwarder_options.hpp"
#include "forwarders/http_destination.hpp"
#include "forwarders/http_outcome.hpp"
#include "forwarders/loki_push.hpp"

#include <map>

namespace auditfwd {
namespace {

namespace asio = boost::asio;

struct LokiSettings : HttpDestination {
  std::map<std::string, std::string> labels;
  std::optional<std::string> tenant_id;
  std::optional<std::string> authorization;
};

constexpr std::size_t max_configured_labels = 14;  // Loki's default limit is 15 per stream, with host

LokiSettings parse_loki_settings(const ForwarderConfig& config) {
  return read_forwarder_options(config, [&](ConfigReader& reader) {
    LokiSettings settings;
    read_destination_url(reader, settings);
    if (settings.target.find('?') != std::string::npos)
      reader.report("url", "must be Loki's base URL, without a query");
    read_destination_batching(reader, settings, 100);
    read_destination_transport(reader, settings);

    if (reader.contains("labels")) {
      for (const auto& [name, value] : reader.table("labels")) {
        const auto key = "labels." + std::string(name);
        if (const auto problem = loki_label_problem(name); !problem.empty()) {
          reader.report(key, problem);
          continue;
        }
        if (!value.is_string() || value.get_string().empty()) {
          reader.report(key, "must be a non-empty string");
          continue;
        }
        settings.labels.emplace(std::string(name), std::string(value.get_string()));
      }
      if (settings.labels.size() > max_configured_labels)
        reader.report("labels", "at most 14 labels (Loki allows 15 per stream, and host is added)");
    } else {
      settings.labels = {{"job", "auditfwd"}};
    }
    settings.tenant_id = reader.optional_string("tenant_id");
    if (settings.tenant_id &&
        (settings.tenant_id->empty() || settings.tenant_id->find_first_of("\r\n|") != std::string::npos))
      reader.report("tenant_id", "must be non-empty, one line, without '|'");

    settings.authorization = read_token_or_basic_auth(reader, settings, "bearer_token", "Bearer", "");
    reader.finish();
    return settings;
  });
}

class LokiForwarder final : public Forwarder {
 public:
  LokiForwarder(LokiSettings settings, std::unique_ptr<HttpClient> client)
      : settings_(std::move(settings)), client_(std::move(client)), redactor_(settings_.secrets) {}

  std::vector<std::string> secrets() const override { return settings_.secrets; }

  BatchLimits batch_limits() const override { return destination_batch_limits(settings_); }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (events.empty()) co_return BatchOutcome{};
    auto request = destination_post(settings_, api_target(settings_, "/loki/api/v1/push"), "application/json",
                                    loki_push_body(events, settings_.labels), settings_.gzip);
    if (settings_.authorization) request.headers.emplace_back("Authorization", *settings_.authorization);
    if (settings_.tenant_id) request.headers.emplace_back("X-Scope-OrgID", *settings_.tenant_id);
    request.headers.emplace_back("Idempotency-Key", events.front().id);
    const auto result = co_await client_->send(request);
    if (!result.response) co_return same_outcome(events.size(), DeliveryOutcome::retry(result.error));
    const auto& response = *result.response;
    co_return same_outcome(
        events.size(), classify_response(response.status, response.reason, response.body,
                                         response.header("Retry-After"), std::chrono::system_clock::now(), redactor_));
  }

  void reopen() override { client_->drop_idle_connections(); }
  void stop() override { client_->drop_idle_connections(); }

 private:
  LokiSettings settings_;
  std::unique_ptr<HttpClient> client_;
  SecretRedactor redactor_;
};

}  // namespace

std::unique_ptr<Forwarder> make_loki_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  auto settings = parse_loki_settings(config);
  auto client = make_destination_client(config, settings, context);
  return std::make_unique<LokiForwarder>(std::move(settings), std::move(client));
}

}  // namespace auditfwd
