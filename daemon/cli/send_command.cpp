// `auditfwd send`: a pipelining client; one thread writes stdin, the caller reads replies.
#include "cli/commands.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <iostream>
#include <thread>

namespace auditfwd {
namespace asio = boost::asio;

int send_command(const std::string& socket_path) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code error;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path), error);
  if (error) {
    std::cerr << "auditfwd send: cannot connect to " << socket_path << ": " << error.message() << "\n";
    return 2;
  }
  std::atomic<std::size_t> lines_sent{0};
  std::atomic<bool> write_failed{false};
  std::thread writer([&] {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // no event, no reply
      line.push_back('\n');
      boost::system::error_code write_error;
      asio::write(socket, asio::buffer(line), write_error);
      if (write_error) {
        write_failed = true;
        break;
      }
      ++lines_sent;
    }
    boost::system::error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_send, ignored);
  });

  asio::streambuf replies;
  std::size_t received = 0;
  bool any_refused = false;
  for (;;) {
    boost::system::error_code read_error;
    asio::read_until(socket, replies, '\n', read_error);
    if (read_error) break;
    std::istream in(&replies);
    std::string reply;
    std::getline(in, reply);
    std::cout << reply << '\n';
    ++received;
    if (reply.rfind("{\"ok\":true", 0) != 0) any_refused = true;
  }
  writer.join();
  std::cout.flush();
  if (write_failed || received < lines_sent) {
    std::cerr << "auditfwd send: the connection closed after " << received << " of " << lines_sent << " replies\n";
    return 2;
  }
  return any_refused ? 1 : 0;
}

}  // namespace auditfwd
