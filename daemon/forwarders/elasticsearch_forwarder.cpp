// The `elasticsearch` forwarder: one POST /_bulk per batch of `create` actions keyed by event id;
// each event's outcome is its own item's.
#include "forwarders/elasticsearch_forwarder.hpp"

#include "forwarders/elasticsearch_bulk.hpp"
#include "forwarders/forwarder_options.hpp"
#include "forwarders/http_destination.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace auditfwd {
namespace {

namespace asio = boost::asio;

struct ElasticsearchSettings : HttpDestination {
  BulkTarget bulk_target;
  std::optional<std::string> pipeline;
  std::optional<std::string> authorization;
};

ElasticsearchSettings parse_elasticsearch_settings(const ForwarderConfig& config) {
  return read_forwarder_options(config, [&](ConfigReader& reader) {
    ElasticsearchSettings settings;
    read_destination_url(reader, settings);
    if (settings.target.find('?') != std::string::npos)
      reader.report("url", "must be the cluster's base URL, without a query");
    read_destination_batching(reader, settings, 100);
    read_destination_transport(reader, settings);

    if (reader.contains("index") && reader.contains("data_stream"))
      reader.report("data_stream", "give either index or data_stream, not both");
    settings.bulk_target.index_pattern = reader.string_or("index", settings.bulk_target.index_pattern);
    if (const auto problem = index_pattern_problem(settings.bulk_target.index_pattern); !problem.empty())
      reader.report("index", problem);
    settings.bulk_target.data_stream = reader.optional_string("data_stream");
    if (settings.bulk_target.data_stream) {
      if (settings.bulk_target.data_stream->find('%') != std::string::npos)
        reader.report("data_stream", "is a name, not a date pattern");
      else if (const auto problem = index_pattern_problem(*settings.bulk_target.data_stream); !problem.empty())
        reader.report("data_stream", problem);
    }
    settings.pipeline = reader.optional_string("pipeline");
    if (settings.pipeline && settings.pipeline->empty()) reader.report("pipeline", "must not be empty");

    settings.authorization =
        read_token_or_basic_auth(reader, settings, "api_key", "ApiKey", " (the base64 id:key Elasticsearch returns)");
    reader.finish();
    return settings;
  });
}

class ElasticsearchForwarder final : public Forwarder {
 public:
  ElasticsearchForwarder(ElasticsearchSettings settings, std::unique_ptr<HttpClient> client)
      : settings_(std::move(settings)), client_(std::move(client)), redactor_(settings_.secrets) {
    target_ = api_target(settings_, "/_bulk");
    if (settings_.pipeline)
      target_ += "?pipeline=" + boost::urls::encode(*settings_.pipeline, boost::urls::unreserved_chars);
  }

  std::vector<std::string> secrets() const override { return settings_.secrets; }

  BatchLimits batch_limits() const override { return destination_batch_limits(settings_); }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (events.empty()) co_return BatchOutcome{};
    auto request = destination_post(settings_, target_, "application/x-ndjson",
                                    bulk_body(events, settings_.bulk_target), settings_.gzip);
    if (settings_.authorization) request.headers.emplace_back("Authorization", *settings_.authorization);
    request.headers.emplace_back("Idempotency-Key", events.front().id);
    const auto result = co_await client_->send(request);
    if (!result.response) co_return same_outcome(events.size(), DeliveryOutcome::retry(result.error));
    const auto& response = *result.response;
    if (response.body_truncated && response.status >= 200 && response.status < 300)
      co_return same_outcome(events.size(), DeliveryOutcome::retry("the _bulk answer exceeded 1MiB: lower "
                                                                   "batch_max_events"));
    co_return classify_bulk_response(events, response.status, response.reason, response.body,
                                     response.header("Retry-After"), std::chrono::system_clock::now(), redactor_);
  }

  void reopen() override { client_->drop_idle_connections(); }
  void stop() override { client_->drop_idle_connections(); }

 private:
  ElasticsearchSettings settings_;
  std::unique_ptr<HttpClient> client_;
  SecretRedactor redactor_;
  std::string target_;
};

}  // namespace

std::unique_ptr<Forwarder> make_elasticsearch_forwarder(const ForwarderConfig& config,
                                                        const ForwarderContext& context) {
  auto settings = parse_elasticsearch_settings(config);
  auto client = make_destination_client(config, settings, context);
  return std::make_unique<ElasticsearchForwarder>(std::move(settings), std::move(client));
}

}  // namespace auditfwd
