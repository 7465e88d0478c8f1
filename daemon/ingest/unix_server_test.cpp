// Unit tests for UnixServer: accepting on its socket file, and stop() ending the sessions it runs.
#include "ingest/unix_server.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <thread>

using namespace auditfwd;
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {
class OkForwarder final : public Forwarder {
 public:
  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    co_return same_outcome(events.size(), DeliveryOutcome::success());
  }
};
}  // namespace

TEST_CASE("UnixServer: accepts and answers; stop() ends a connected session at once and removes the socket file") {
  const auto dir = std::filesystem::temp_directory_path() / ("auditfwd-unit-server-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  IngestConfig config;
  config.socket = (dir / "ingest.sock").string();
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  ForwarderConfig forwarder;
  forwarder.id = "sync";
  forwarder.type = "test";
  forwarder.dispatch = DispatchMode::sync;
  slots.push_back(std::make_shared<ForwarderSlot>(
      ForwarderSlot{forwarder, std::make_unique<OkForwarder>(), spdlog::default_logger()}));
  Dispatcher dispatcher(make_forwarder_set(slots), nullptr);
  asio::io_context io;
  {
    UnixServer server(io, config, dispatcher);
    server.start();
    std::thread runner([&] { io.run_for(20s); });

    stream::socket client(io);
    client.connect(stream::endpoint(config.socket));
    asio::write(client, asio::buffer(std::string("{\"action\":\"a.b\"}\n")));
    std::string reply;
    asio::read_until(client, asio::dynamic_buffer(reply), '\n');
    CHECK(reply.rfind("{\"ok\":true,", 0) == 0);
    CHECK(server.active_sessions() == 1);

    // The session is idle (idle_timeout is minutes): only stop() ends it.
    std::atomic<bool> stopped{false};
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(io, server.stop(10s), [&](std::exception_ptr error) {
      CHECK_FALSE(error);
      stopped = true;
    });
    std::string rest;
    boost::system::error_code error;
    asio::read(client, asio::dynamic_buffer(rest), error);
    CHECK(error == asio::error::eof);
    runner.join();  // nothing left to run once the stop completed
    CHECK(stopped);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(server.active_sessions() == 0);
    CHECK_FALSE(std::filesystem::exists(config.socket));
  }
  std::filesystem::remove_all(dir);
}
