// The `splunk_hec` forwarder: one POST /services/collector/event per batch; with `ack`, the batch
// completes only once /services/collector/ack confirms its ack id.
#include "forwarders/splunk_hec_forwarder.hpp"

#include "forwarders/forwarder_options.hpp"
#include "forwarders/http_destination.hpp"
#include "forwarders/splunk_hec_format.hpp"

#include <fmt/format.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>

namespace auditfwd {
namespace {

namespace asio = boost::asio;

struct HecSettings : HttpDestination {
  std::string authorization;  // "Splunk <token>"
  HecEnvelope envelope;
  bool ack = false;
  std::chrono::milliseconds ack_timeout{std::chrono::minutes{5}};
  std::string channel;
};

std::string machine_id() {
  std::ifstream in("/etc/machine-id");
  std::string id;
  std::getline(in, id);
  return id;
}

bool single_line(const std::string& text) { return text.find_first_of("\r\n") == std::string::npos; }

HecSettings parse_hec_settings(const ForwarderConfig& config) {
  return read_forwarder_options(config, [&](ConfigReader& reader) {
    HecSettings settings;
    read_destination_url(reader, settings);
    if (settings.target.find('?') != std::string::npos)
      reader.report("url", "must be the collector's base URL, without a query");
    read_destination_batching(reader, settings, 100);
    read_destination_transport(reader, settings);

    const auto token = reader.secret("token");
    if (!token)
      reader.report("token", "is required (or token_file)");
    else if (token->empty() || !single_line(*token))
      reader.report("token", "must be non-empty and a single line");
    else {
      settings.authorization = "Splunk " + *token;
      settings.secrets.push_back(*token);
    }
    settings.envelope.source = reader.string_or("source", "auditfwd");
    settings.envelope.sourcetype = reader.string_or("sourcetype", "auditfwd:event");
    settings.envelope.index = reader.optional_string("index");
    if (settings.envelope.index && settings.envelope.index->empty()) reader.report("index", "must not be empty");
    settings.ack = reader.boolean("ack", false);
    settings.ack_timeout = reader.duration("ack_timeout", settings.ack_timeout);
    if (settings.ack_timeout.count() <= 0) reader.report("ack_timeout", "must be greater than 0");
    if (reader.contains("ack_timeout") && !settings.ack) reader.report("ack_timeout", "only applies with ack = true");
    settings.channel = reader.string_or("channel", "");
    if (reader.contains("channel") && (settings.channel.empty() || !single_line(settings.channel)))
      reader.report("channel", "must be non-empty and a single line (Splunk expects a UUID)");
    reader.finish();
    return settings;
  });
}

class SplunkHecForwarder final : public Forwarder {
 public:
  SplunkHecForwarder(HecSettings settings, std::unique_ptr<HttpClient> client, std::shared_ptr<spdlog::logger> log)
      : settings_(std::move(settings)),
        client_(std::move(client)),
        redactor_(settings_.secrets),
        log_(std::move(log)) {}

  std::vector<std::string> secrets() const override { return settings_.secrets; }

  BatchLimits batch_limits() const override { return destination_batch_limits(settings_); }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (events.empty()) co_return BatchOutcome{};
    auto request = make_request(api_target(settings_, "/services/collector/event"),
                                hec_batch(events, settings_.envelope), settings_.gzip);
    request.headers.emplace_back("Idempotency-Key", events.front().id);
    const auto result = co_await client_->send(request);
    if (!result.response) co_return same_outcome(events.size(), DeliveryOutcome::retry(result.error));
    const auto& response = *result.response;
    auto reply = classify_hec_reply(events.size(), response.status, response.reason, response.body,
                                    response.header("Retry-After"), std::chrono::system_clock::now(), redactor_);
    if (!settings_.ack || !reply.outcomes.front().ok()) co_return std::move(reply.outcomes);
    if (!reply.ack_id)
      co_return same_outcome(events.size(),
                             DeliveryOutcome::retry("HEC accepted the batch without an ackId: is indexer "
                                                    "acknowledgement enabled on the token?"));
    auto confirmed = co_await await_ack(*reply.ack_id);
    co_return same_outcome(events.size(), confirmed);
  }

  void reopen() override { client_->drop_idle_connections(); }
  void stop() override { client_->drop_idle_connections(); }

 private:
  // `gzip` for the event batches when configured; the ack polls are small and go uncompressed.
  HttpRequest make_request(std::string target, std::string body, bool gzip = false) const {
    auto request = destination_post(settings_, std::move(target), "application/json", std::move(body), gzip);
    request.headers.emplace_back("Authorization", settings_.authorization);
    request.headers.emplace_back("X-Splunk-Request-Channel", settings_.channel);
    return request;
  }

  // Polls the ack endpoint with backoff (250 ms doubling to 10 s) until the id is
  // confirmed or ack_timeout passes; the forwarder's `timeout` may end it sooner.
  asio::awaitable<DeliveryOutcome> await_ack(std::uint64_t ack_id) {
    const auto deadline = std::chrono::steady_clock::now() + settings_.ack_timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::chrono::milliseconds delay{250};
    std::string last_problem = "not yet confirmed";
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      timer.expires_at(std::min(now + delay, deadline));
      co_await timer.async_wait(asio::use_awaitable);
      delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::seconds{10});
      const auto result = co_await client_->send(
          make_request(api_target(settings_, "/services/collector/ack"), hec_ack_request(ack_id)));
      if (!result.response) {
        last_problem = result.error;
        continue;
      }
      const auto& response = *result.response;
      const auto confirmed = response.status == 200 ? hec_ack_confirmed(response.body, ack_id) : std::nullopt;
      if (confirmed && *confirmed) co_return DeliveryOutcome::success();
      if (confirmed) {
        last_problem = "not yet confirmed";
        continue;
      }
      // An error of the ack endpoint (busy, ack disabled, a bad channel): the batch may be indexed or not.
      auto reply = classify_hec_reply(1, response.status, response.reason, response.body, std::nullopt,
                                      std::chrono::system_clock::now(), redactor_);
      last_problem =
          reply.outcomes.front().ok() ? "the ack endpoint did not answer about it" : reply.outcomes.front().reason;
    }
    co_return DeliveryOutcome::retry(fmt::format("HEC ack {} not confirmed within ack_timeout ({}ms): {}", ack_id,
                                                 settings_.ack_timeout.count(), last_problem));
  }

  HecSettings settings_;
  std::unique_ptr<HttpClient> client_;
  SecretRedactor redactor_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

std::unique_ptr<Forwarder> make_splunk_hec_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  auto settings = parse_hec_settings(config);
  if (settings.channel.empty()) settings.channel = hec_default_channel(machine_id(), config.id);
  auto client = make_destination_client(config, settings, context);
  return std::make_unique<SplunkHecForwarder>(std::move(settings), std::move(client), context.log);
}

}  // namespace auditfwd
