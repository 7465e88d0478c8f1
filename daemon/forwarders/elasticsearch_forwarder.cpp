// The `elasticsearch` forwarder: one POST /_bulk per batch of `create` actions keyed by event id;
// each event's outcome is its own item's.
#include "forwarders/elasticsearch_forwarder.hpp"

#include "forwarders/elasticsearch_bulk.hpp"
#include "forwarders/forwarder_options.hpp"
#include "forwarders/http_body.hpp"
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

    const auto api_key = reader.secret("api_key");
    const auto basic = read_basic_auth(reader, settings);
    if (api_key && basic) reader.report("api_key", "give either api_key or basic_user, not both");
    if (api_key) {
      if (api_key->empty() || api_key->find_first_of("\r\n") != std::string::npos)
        reader.report("api_key", "must be non-empty and a single line (the base64 id:key Elasticsearch returns)");
      settings.authorization = "ApiKey " + *api_key;
      settings.secrets.push_back(*api_key);
    } else {
      settings.authorization = basic;
    }
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

  BatchLimits batch_limits() const override {
    return {settings_.batch_max_events, settings_.batch_max_bytes,
            settings_.batch_max_events > 1 ? settings_.batch_timeout : std::chrono::milliseconds{0}};
  }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (events.empty()) co_return BatchOutcome{};
    HttpRequest request;
    request.target = target_;
    request.display = request_display(settings_, target_);
    if (settings_.authorization) request.headers.emplace_back("Authorization", *settings_.authorization);
    request.headers.emplace_back("Content-Type", "application/x-ndjson");
    request.headers.emplace_back("Idempotency-Key", events.front().id);
    request.body = bulk_body(events, settings_.bulk_target);
    if (settings_.gzip) {
      request.headers.emplace_back("Content-Encoding", "gzip");
      request.body = gzip_compress(request.body);
    }
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
