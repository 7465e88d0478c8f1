// JSON lines on a shared connection; a batch is one gather write, a failed write retries the whole batch.
#include "forwarders/tcp_forwarder.hpp"
#include "forwarders/forwarder_options.hpp"

#include "config/config_reader.hpp"
#include "forwarders/endpoint.hpp"
#include "net/stream_connector.hpp"

#include <spdlog/spdlog.h>

namespace auditfwd {
namespace {

class TcpForwarder final : public Forwarder {
 public:
  TcpForwarder(const boost::asio::any_io_executor& executor, Endpoint endpoint,
               std::shared_ptr<boost::asio::ssl::context> tls_context, std::chrono::milliseconds resolve_timeout,
               std::shared_ptr<spdlog::logger> log)
      : connector_(executor, std::move(endpoint), std::move(tls_context), resolve_timeout, std::move(log)) {}

  BatchLimits batch_limits() const override { return {500, 1024 * 1024}; }

  boost::asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    static constexpr char newline = '\n';
    std::vector<boost::asio::const_buffer> buffers;
    buffers.reserve(events.size() * 2);
    for (const auto& event : events) {
      buffers.push_back(boost::asio::buffer(event.json));
      buffers.push_back(boost::asio::buffer(&newline, 1));
    }
    const auto error = co_await connector_.write(std::move(buffers));
    co_return same_outcome(events.size(), error.empty() ? DeliveryOutcome::success() : DeliveryOutcome::retry(error));
  }

  void reopen() override { connector_.reset(); }
  void stop() override { connector_.close(); }

 private:
  StreamConnector connector_;
};

}  // namespace

std::unique_ptr<Forwarder> make_tcp_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  auto [endpoint, tls] = read_forwarder_options(config, [](ConfigReader& reader) {
    auto address = read_endpoint(reader, "address", {Transport::tcp, Transport::tls});
    auto tls_files = read_tls_files(reader, address);
    reader.finish();
    return std::pair{std::move(address), std::move(tls_files)};
  });
  auto tls_context = endpoint.transport == Transport::tls ? load_tls_client_context(config, context.net, tls) : nullptr;
  // No key of its own bounds the lookup: the delivery's timeout does.
  return std::make_unique<TcpForwarder>(context.executor, std::move(endpoint), std::move(tls_context), config.timeout,
                                        context.log);
}

}  // namespace auditfwd
