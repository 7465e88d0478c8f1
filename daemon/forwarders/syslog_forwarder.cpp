// Syslog delivery: a batch is framed into one buffer for streams, or sent datagram by datagram over UDP.
#include "forwarders/syslog_forwarder.hpp"
#include "forwarders/forwarder_options.hpp"

#include "config/config_reader.hpp"
#include "forwarders/endpoint.hpp"
#include "forwarders/syslog_format.hpp"
#include "net/datagram_sender.hpp"
#include "net/stream_connector.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <algorithm>
#include <optional>

namespace auditfwd {
namespace asio = boost::asio;

namespace {

class SyslogForwarder final : public Forwarder {
 public:
  SyslogForwarder(const asio::any_io_executor& executor, Endpoint endpoint,
                  std::shared_ptr<boost::asio::ssl::context> tls_context, std::chrono::milliseconds resolve_timeout,
                  SyslogOrigin origin, std::shared_ptr<spdlog::logger> log)
      : origin_(std::move(origin)) {
    if (endpoint.transport == Transport::udp)
      datagrams_.emplace(executor, std::move(endpoint), resolve_timeout);
    else
      stream_.emplace(executor, std::move(endpoint), std::move(tls_context), resolve_timeout, std::move(log));
  }

  BatchLimits batch_limits() const override { return {500, 1024 * 1024}; }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (datagrams_) {
      std::vector<std::string> messages;
      messages.reserve(events.size());
      for (const auto& event : events) messages.push_back(format_syslog_message(origin_, event));
      BatchOutcome outcomes;
      outcomes.reserve(messages.size());
      for (auto& result : co_await datagrams_->send(messages)) {
        if (result.status == DatagramResult::Status::sent)
          outcomes.push_back(DeliveryOutcome::success());
        else if (result.status == DatagramResult::Status::too_large)  // tcp:// or tls:// carry any size
          outcomes.push_back(DeliveryOutcome::permanent(result.reason + "; use tcp:// or tls://"));
        else
          outcomes.push_back(DeliveryOutcome::retry(std::move(result.reason)));
      }
      co_return outcomes;
    }
    std::string frames;
    for (const auto& event : events) append_octet_counted(frames, format_syslog_message(origin_, event));
    std::vector<asio::const_buffer> buffers{asio::buffer(frames)};
    const auto error = co_await stream_->write(std::move(buffers));
    co_return same_outcome(events.size(), error.empty() ? DeliveryOutcome::success() : DeliveryOutcome::retry(error));
  }

  void reopen() override {
    if (datagrams_) datagrams_->reset();
    if (stream_) stream_->reset();
  }

  void stop() override {
    if (datagrams_) datagrams_->close();
    if (stream_) stream_->close();
  }

 private:
  SyslogOrigin origin_;
  std::optional<DatagramSender> datagrams_;
  std::optional<StreamConnector> stream_;
};

std::string read_header_field(ConfigReader& reader, const std::string& key, std::string fallback,
                              std::size_t max_length) {
  auto value = reader.string_or(key, std::move(fallback));
  if (value.empty() || value.size() > max_length ||
      std::any_of(value.begin(), value.end(), [](char c) { return c < 33 || c > 126; }))
    reader.fail(key, fmt::format("must be 1 to {} printable ASCII characters without spaces (RFC 5424)", max_length));
  return value;
}

std::string local_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "-";
  return syslog_header_field(name, 255);
}

}  // namespace

std::unique_ptr<Forwarder> make_syslog_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  auto [endpoint, tls, origin] = read_forwarder_options(config, [](ConfigReader& reader) {
    auto address = read_endpoint(reader, "address", {Transport::udp, Transport::tcp, Transport::tls});
    auto tls_files = read_tls_files(reader, address);
    SyslogOrigin header;
    header.facility = *syslog_facility_code(reader.choice("facility", syslog_facility_names(), "authpriv"));
    header.app_name = read_header_field(reader, "app_name", "auditfwd", 48);
    header.hostname = reader.contains("hostname") ? read_header_field(reader, "hostname", "", 255) : local_hostname();
    header.procid = std::to_string(::getpid());
    reader.finish();
    return std::tuple{std::move(address), std::move(tls_files), std::move(header)};
  });
  auto tls_context = endpoint.transport == Transport::tls ? load_tls_client_context(config, context.net, tls) : nullptr;
  // No key of its own bounds the lookup: the delivery's timeout does.
  return std::make_unique<SyslogForwarder>(context.executor, std::move(endpoint), std::move(tls_context),
                                           config.timeout, std::move(origin), context.log);
}

}  // namespace auditfwd
