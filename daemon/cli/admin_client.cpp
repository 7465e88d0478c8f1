// Beast, synchronous: the CLI does one thing at a time, and a deadline guards each connect and read.
#include "cli/admin_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace auditfwd {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Receive and send timeouts on the socket itself: a blocking read that waits
// longer fails with EAGAIN instead of hanging the command.
void set_socket_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

template <typename Work>
auto with_connection(const AdminAddress& address, std::chrono::milliseconds timeout, std::string& error, Work&& work)
    -> decltype(work(std::declval<asio::ip::tcp::socket&>())) {
  asio::io_context io;
  boost::system::error_code connect_error;
  if (address.kind == AdminAddress::Kind::unix_socket) {
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(address.path), connect_error);
    if (connect_error) {
      error = "cannot connect to " + address.describe() + ": " + connect_error.message();
      return {};
    }
    if (timeout.count() > 0) set_socket_timeouts(socket.native_handle(), timeout);
    return work(socket);
  }
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address(address.host), address.port}, connect_error);
  if (connect_error) {
    error = "cannot connect to " + address.describe() + ": " + connect_error.message();
    return {};
  }
  if (timeout.count() > 0) set_socket_timeouts(socket.native_handle(), timeout);
  return work(socket);
}

template <typename Socket>
bool send_get(Socket& socket, const AdminAddress& address, const std::string& target, std::string& error) {
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, address.kind == AdminAddress::Kind::tcp ? address.host : "localhost");
  request.set(http::field::user_agent, "auditfwd-cli");
  request.keep_alive(false);
  boost::system::error_code write_error;
  http::write(socket, request, write_error);
  if (write_error) error = "cannot send the request to " + address.describe() + ": " + write_error.message();
  return !write_error;
}

}  // namespace

std::optional<AdminResponse> admin_get(const AdminAddress& address, const std::string& target,
                                       std::chrono::milliseconds timeout, std::string& error) {
  return with_connection(address, timeout, error, [&](auto& socket) -> std::optional<AdminResponse> {
    if (!send_get(socket, address, target, error)) return std::nullopt;
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    boost::system::error_code read_error;
    http::read(socket, buffer, response, read_error);
    if (read_error) {
      error = "no answer from " + address.describe() + ": " + read_error.message();
      return std::nullopt;
    }
    return AdminResponse{response.result_int(), std::move(response.body())};
  });
}

std::optional<unsigned> admin_stream(const AdminAddress& address, const std::string& target,
                                     const std::function<void()>& on_started,
                                     const std::function<void(std::string_view)>& on_data, std::string& error,
                                     std::string& error_body) {
  // No receive timeout: a tap waits as long as no event comes.
  return with_connection(address, std::chrono::milliseconds(0), error, [&](auto& socket) -> std::optional<unsigned> {
    if (!send_get(socket, address, target, error)) return std::nullopt;
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    boost::system::error_code read_error;
    http::read_header(socket, buffer, parser, read_error);
    if (read_error) {
      error = "no answer from " + address.describe() + ": " + read_error.message();
      return std::nullopt;
    }
    const unsigned status = parser.get().result_int();
    if (status != 200) {
      http::read(socket, buffer, parser, read_error);
      error_body = parser.get().body();
      return status;
    }
    auto on_chunk = [&](std::uint64_t, boost::beast::string_view body, boost::system::error_code&) -> std::size_t {
      on_data(std::string_view(body.data(), body.size()));
      return body.size();
    };
    parser.on_chunk_body(on_chunk);
    on_started();
    while (!parser.is_done()) {
      http::read_some(socket, buffer, parser, read_error);
      if (read_error) break;
    }
    return status;
  });
}

}  // namespace auditfwd
