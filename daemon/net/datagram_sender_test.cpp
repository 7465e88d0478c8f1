// The UDP sender against a real loopback socket: one datagram per message, a too-large one skipped.
#include "net/datagram_sender.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace auditfwd {
namespace asio = boost::asio;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

TEST_CASE("each message is one datagram; one too large for a datagram is refused and the next still sent") {
  asio::io_context io;
  udp::socket receiver(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Endpoint endpoint;
  endpoint.transport = Transport::udp;
  endpoint.host = "127.0.0.1";
  endpoint.port = receiver.local_endpoint().port();
  DatagramSender sender(io.get_executor(), endpoint, 1s);
  const std::vector<std::string> messages{"first", std::string(70000, 'x'), "third"};
  auto future = asio::co_spawn(io, sender.send(messages), asio::use_future);
  io.run();
  const auto results = future.get();
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == DatagramResult::Status::sent);
  CHECK(results[1].status == DatagramResult::Status::too_large);
  CHECK(results[1].reason == "a 70000-byte message does not fit in a UDP datagram");
  CHECK(results[2].status == DatagramResult::Status::sent);

  std::array<char, 100> buffer;
  auto n = receiver.receive(asio::buffer(buffer));
  CHECK(std::string(buffer.data(), n) == "first");
  n = receiver.receive(asio::buffer(buffer));
  CHECK(std::string(buffer.data(), n) == "third");
  sender.close();
}

}  // namespace auditfwd
