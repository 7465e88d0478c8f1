// One connected UDP socket to a udp:// endpoint, shared by concurrent senders.
#pragma once

#include "common/async_mutex.hpp"
#include "net/endpoint.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace auditfwd {

// How one message fared.
struct DatagramResult {
  enum class Status { sent, too_large, failed };
  Status status = Status::sent;
  std::string reason;  // for too_large and failed
};

// Opens the socket on first use (construction touches nothing, so
// check-config may build it); datagrams from concurrent calls are sent one
// call at a time.
class DatagramSender {
 public:
  // A name is resolved within `resolve_timeout` (resolve_within), at most once per socket.
  DatagramSender(boost::asio::any_io_executor executor, Endpoint endpoint, std::chrono::milliseconds resolve_timeout);

  // Sends each message as one datagram, in order; one result per message. A
  // message too large for a datagram is `too_large` and the next one is sent;
  // any other error fails that message and every later one and closes the
  // socket (the next call opens a fresh one). Honours per-operation
  // cancellation: the messages not sent by then fail with "cancelled".
  boost::asio::awaitable<std::vector<DatagramResult>> send(const std::vector<std::string>& messages);

  // Thread-safe: the next send opens a fresh socket (SIGHUP).
  void reset() { reset_requested_ = true; }

  // Closes the socket now; only when no send is running (shutdown).
  void close();

 private:
  boost::asio::awaitable<std::string> open();

  boost::asio::any_io_executor executor_;
  Endpoint endpoint_;
  std::chrono::milliseconds resolve_timeout_;
  AsyncMutex mutex_;
  std::atomic<bool> reset_requested_{false};
  std::optional<boost::asio::ip::udp::socket> socket_;  // guarded by mutex_
};

}  // namespace auditfwd
