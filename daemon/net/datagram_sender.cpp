// UDP sending: one datagram per message, a too-large message skipped, any other error ends the call.
#include "net/datagram_sender.hpp"

#include "net/resolve.hpp"

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace auditfwd {
namespace asio = boost::asio;
using udp = asio::ip::udp;

DatagramSender::DatagramSender(asio::any_io_executor executor, Endpoint endpoint,
                               std::chrono::milliseconds resolve_timeout)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      resolve_timeout_(resolve_timeout),
      mutex_(executor_) {}

asio::awaitable<std::vector<DatagramResult>> DatagramSender::send(const std::vector<std::string>& messages) {
  using Status = DatagramResult::Status;
  std::vector<DatagramResult> results;
  results.reserve(messages.size());
  try {
    auto lock = co_await mutex_.lock();
    if (!lock)
      co_return std::vector<DatagramResult>(messages.size(), {Status::failed, "cancelled while waiting to send"});
    if (reset_requested_.exchange(false)) close();
    if (!socket_) {
      if (auto error = co_await open(); !error.empty())
        co_return std::vector<DatagramResult>(messages.size(), {Status::failed, error});
    }
    for (const auto& message : messages) {
      auto [error, sent] = co_await socket_->async_send(asio::buffer(message), asio::as_tuple(asio::use_awaitable));
      if (error == asio::error::message_size) {
        // Waiting will not make it fit.
        results.push_back(
            {Status::too_large, fmt::format("a {}-byte message does not fit in a UDP datagram", message.size())});
      } else if (error) {
        close();  // e.g. ECONNREFUSED reported by ICMP for an earlier datagram
        results.resize(messages.size(),
                       {Status::failed, fmt::format("send to {}: {}", endpoint_.text(), error.message())});
        co_return results;
      } else {
        results.push_back({Status::sent, {}});
      }
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) throw;
    close();
  }
  results.resize(messages.size(), {Status::failed, "cancelled"});
  co_return results;
}

void DatagramSender::close() {
  boost::system::error_code ignored;
  if (socket_) socket_->close(ignored);
  socket_.reset();
}

asio::awaitable<std::string> DatagramSender::open() {
  auto resolved = co_await resolve_within(executor_, endpoint_.host, resolve_timeout_);
  if (resolved.error) co_return describe_resolve_failure(endpoint_.host, resolved.error, resolve_timeout_);
  const udp::endpoint target(resolved.addresses.front(), endpoint_.port);
  udp::socket socket(executor_);
  boost::system::error_code failure;
  if (socket.open(target.protocol(), failure); !failure) socket.connect(target, failure);
  if (failure) co_return fmt::format("open UDP socket to {}: {}", endpoint_.text(), failure.message());
  socket_.emplace(std::move(socket));
  co_return std::string{};
}

}  // namespace auditfwd
