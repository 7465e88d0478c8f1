// The shared tcp connection against a real loopback listener: connects on the first write, notices a peer that
// closed and reconnects, spaces failed connects, and opens a fresh connection after reset().
#include "net/stream_connector.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/null_sink.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <optional>
#include <thread>

namespace auditfwd {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// The connector's coroutines run on their own thread; the test plays the receiver with blocking calls.
struct ConnectorBench {
  asio::io_context connector_io;
  asio::executor_work_guard<asio::io_context::executor_type> keep_running{connector_io.get_executor()};
  std::thread runner{[this] { connector_io.run(); }};
  asio::io_context receiver_io;
  tcp::acceptor acceptor{receiver_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::optional<StreamConnector> connector;

  ConnectorBench() { connector.emplace(connector_io.get_executor(), endpoint_of(port()), nullptr, 1s, quiet_log()); }
  ~ConnectorBench() {
    asio::post(connector_io, [this] { connector->close(); });
    keep_running.reset();
    runner.join();
  }

  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  static Endpoint endpoint_of(std::uint16_t port) {
    Endpoint endpoint;
    endpoint.transport = Transport::tcp;
    endpoint.host = "127.0.0.1";
    endpoint.port = port;
    return endpoint;
  }

  static std::shared_ptr<spdlog::logger> quiet_log() {
    return std::make_shared<spdlog::logger>("stream_connector_test", std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  std::string write(const std::string& text) {
    return asio::co_spawn(connector_io, connector->write({asio::buffer(text)}), asio::use_future).get();
  }

  // The next connection the connector opened, or none within the deadline.
  std::optional<tcp::socket> accept_within(std::chrono::milliseconds deadline) {
    acceptor.non_blocking(true);
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < give_up) {
      tcp::socket socket(receiver_io);
      boost::system::error_code error;
      acceptor.accept(socket, error);
      if (!error) {
        socket.non_blocking(false);
        return socket;
      }
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

  static std::string read_exactly(tcp::socket& socket, std::size_t size) {
    std::string text(size, '\0');
    asio::read(socket, asio::buffer(text));
    return text;
  }
};

}  // namespace

TEST_CASE("the stream connector connects on its first write, not before") {
  ConnectorBench bench;
  CHECK_FALSE(bench.accept_within(100ms));  // constructed: nothing opened yet
  CHECK(bench.write("first\n") == "");
  auto connection = bench.accept_within(2s);
  REQUIRE(connection);
  CHECK(ConnectorBench::read_exactly(*connection, 6) == "first\n");
  CHECK(bench.write("second\n") == "");  // the same connection serves the next write
  CHECK(ConnectorBench::read_exactly(*connection, 7) == "second\n");
  CHECK_FALSE(bench.accept_within(100ms));
}

TEST_CASE("a connection the receiver closed is replaced before the next write, so no write is lost on it") {
  ConnectorBench bench;
  CHECK(bench.write("one\n") == "");
  auto first = bench.accept_within(2s);
  REQUIRE(first);
  CHECK(ConnectorBench::read_exactly(*first, 4) == "one\n");
  first->close();
  std::this_thread::sleep_for(50ms);  // the FIN reaches the connector's socket

  CHECK(bench.write("two\n") == "");
  auto second = bench.accept_within(2s);
  REQUIRE(second);  // without the check before writing, "two" would go to the dead connection
  CHECK(ConnectorBench::read_exactly(*second, 4) == "two\n");
}

TEST_CASE("a refused connect fails the write with the reason, and the next write within the backoff does not retry") {
  ConnectorBench bench;
  const auto closed_port = bench.port();
  bench.acceptor.close();  // nothing listens on that port now
  const auto first = bench.write("lost\n");
  CHECK(first.find(fmt::format("connect to tcp://127.0.0.1:{}", closed_port)) != std::string::npos);
  const auto second = bench.write("lost\n");
  CHECK(second.find("next connection attempt in") != std::string::npos);
  CHECK(second.find("connect to") != std::string::npos);  // the last failure is repeated, not a bare "wait"
}

TEST_CASE("reset() makes the next write open a fresh connection (SIGHUP)") {
  ConnectorBench bench;
  CHECK(bench.write("before\n") == "");
  auto old_connection = bench.accept_within(2s);
  REQUIRE(old_connection);
  CHECK(ConnectorBench::read_exactly(*old_connection, 7) == "before\n");

  bench.connector->reset();
  CHECK(bench.write("after\n") == "");
  auto new_connection = bench.accept_within(2s);
  REQUIRE(new_connection);
  CHECK(ConnectorBench::read_exactly(*new_connection, 6) == "after\n");
  char byte;
  boost::system::error_code error;
  old_connection->read_some(asio::buffer(&byte, 1), error);
  CHECK(error == asio::error::eof);  // the old one was closed, not left open
}

}  // namespace auditfwd
