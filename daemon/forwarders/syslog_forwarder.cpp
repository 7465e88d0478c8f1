// Syslog delivery: a batch is framed into one buffer for streams, or sent datagram by datagram over UDP.
#include "forwarders/syslog_forwarder.hpp"

#include "config/config_reader.hpp"
#include "forwarders/endpoint.hpp"
#include "common/async_mutex.hpp"
#include "net/stream_connector.hpp"
#include "forwarders/syslog_format.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <optional>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace auditfwd {
namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

// One connected UDP socket, opened on first use; datagrams from concurrent
// deliveries are sent one at a time.
class DatagramSender {
 public:
  DatagramSender(asio::any_io_executor executor, Endpoint endpoint)
      : executor_(std::move(executor)), endpoint_(std::move(endpoint)), mutex_(executor_) {}

  // Sends each message as one datagram; one outcome per message.
  asio::awaitable<BatchOutcome> send(const std::vector<std::string>& messages) {
    BatchOutcome outcomes;
    outcomes.reserve(messages.size());
    try {
      auto lock = co_await mutex_.lock();
      if (!lock) co_return same_outcome(messages.size(), DeliveryOutcome::retry("cancelled while waiting to send"));
      if (reset_requested_.exchange(false)) close();
      if (!socket_) {
        if (auto error = co_await open(); !error.empty())
          co_return same_outcome(messages.size(), DeliveryOutcome::retry(error));
      }
      for (const auto& message : messages) {
        auto [error, sent] = co_await socket_->async_send(asio::buffer(message), asio::as_tuple(asio::use_awaitable));
        if (error == asio::error::message_size) {
          // Waiting will not make it fit: tcp:// or tls:// carry any size.
          outcomes.push_back(DeliveryOutcome::permanent(fmt::format(
              "a {}-byte message does not fit in a UDP datagram; use tcp:// or tls://", message.size())));
        } else if (error) {
          close();  // e.g. ECONNREFUSED reported by ICMP for an earlier datagram
          outcomes.resize(messages.size(), DeliveryOutcome::retry(fmt::format("send to {}: {}", endpoint_.text(),
                                                                              error.message())));
          co_return outcomes;
        } else {
          outcomes.push_back(DeliveryOutcome::success());
        }
      }
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted) throw;
      close();
    }
    outcomes.resize(messages.size(), DeliveryOutcome::retry("cancelled"));
    co_return outcomes;
  }

  void reset() { reset_requested_ = true; }

  void close() {
    boost::system::error_code ignored;
    if (socket_) socket_->close(ignored);
    socket_.reset();
  }

 private:
  asio::awaitable<std::string> open() {
    udp::resolver resolver(executor_);
    auto [error, results] = co_await resolver.async_resolve(endpoint_.host, std::to_string(endpoint_.port),
                                                            asio::as_tuple(asio::use_awaitable));
    if (error) co_return fmt::format("resolve {}: {}", endpoint_.host, error.message());
    if (results.empty()) co_return fmt::format("resolve {}: no address", endpoint_.host);
    const auto target = results.begin()->endpoint();
    udp::socket socket(executor_);
    boost::system::error_code failure;
    if (socket.open(target.protocol(), failure); !failure) socket.connect(target, failure);
    if (failure) co_return fmt::format("open UDP socket to {}: {}", endpoint_.text(), failure.message());
    socket_.emplace(std::move(socket));
    co_return std::string{};
  }

  asio::any_io_executor executor_;
  Endpoint endpoint_;
  AsyncMutex mutex_;
  std::atomic<bool> reset_requested_{false};
  std::optional<udp::socket> socket_;  // guarded by mutex_
};

class SyslogForwarder final : public Forwarder {
 public:
  SyslogForwarder(const asio::any_io_executor& executor, Endpoint endpoint,
                  std::shared_ptr<boost::asio::ssl::context> tls_context, SyslogOrigin origin,
                  std::shared_ptr<spdlog::logger> log)
      : origin_(std::move(origin)) {
    if (endpoint.transport == Transport::udp)
      datagrams_.emplace(executor, std::move(endpoint));
    else
      stream_.emplace(executor, std::move(endpoint), std::move(tls_context), std::move(log));
  }

  BatchLimits batch_limits() const override { return {500, 1024 * 1024}; }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (datagrams_) {
      std::vector<std::string> messages;
      messages.reserve(events.size());
      for (const auto& event : events) messages.push_back(format_syslog_message(origin_, event));
      co_return co_await datagrams_->send(messages);
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

std::unique_ptr<Forwarder> make_syslog_forwarder(const ForwarderConfig& config, const asio::any_io_executor& executor) {
  ConfigReader reader(config.options, config.file, config.path);
  auto endpoint = read_endpoint(reader, "address", {Transport::udp, Transport::tcp, Transport::tls});
  auto tls = read_tls_files(reader, endpoint);
  SyslogOrigin origin;
  origin.facility = *syslog_facility_code(reader.choice("facility", syslog_facility_names(), "authpriv"));
  origin.app_name = read_header_field(reader, "app_name", "auditfwd", 48);
  origin.hostname = reader.contains("hostname") ? read_header_field(reader, "hostname", "", 255) : local_hostname();
  origin.procid = std::to_string(::getpid());
  reader.finish();
  auto tls_context = endpoint.transport == Transport::tls ? load_tls_client_context(config, tls) : nullptr;
  return std::make_unique<SyslogForwarder>(executor, std::move(endpoint), std::move(tls_context), std::move(origin),
                                           spdlog::default_logger()->clone("forwarder." + config.id));
}

}  // namespace auditfwd
