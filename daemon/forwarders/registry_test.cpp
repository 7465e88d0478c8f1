// Factories build forwarders from the context they are given: its executors, its logger, its TLS contexts.
#include "forwarders/registry.hpp"

#include "config/config_error.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace auditfwd {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

ForwarderConfig forwarder_config(std::string type, boost::json::object options) {
  ForwarderConfig config;
  config.id = "under-test";
  config.type = std::move(type);
  config.options = std::move(options);
  config.file = "test.toml";
  config.path = "forwarders[0]";
  return config;
}

std::vector<Event> one_event() {
  std::vector<Event> events(1);
  events[0].id = "0190b5f0-0000-7000-8000-000000000001";
  events[0].json = R"({"id":"0190b5f0-0000-7000-8000-000000000001","action":"user.login"})";
  return events;
}

}  // namespace

TEST_CASE("a file forwarder writes on the context's blocking executor, never on the I/O one") {
  const auto path = (std::filesystem::temp_directory_path() / "auditfwd-registry-test.log").string();
  std::filesystem::remove(path);
  asio::io_context io, blocking;
  NetServices net;
  auto forwarder =
      make_forwarder(forwarder_config("file", {{"path", path}, {"fsync", false}}),
                     ForwarderContext{io.get_executor(), blocking.get_executor(), spdlog::default_logger(), net});
  const auto events = one_event();
  std::optional<BatchOutcome> outcome;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { outcome = co_await forwarder->deliver(events); }, asio::detached);
  io.run_for(100ms);
  CHECK_FALSE(outcome.has_value());  // waiting for the blocking executor, which nobody runs yet
  CHECK_FALSE(std::filesystem::exists(path));
  blocking.run();
  io.restart();
  io.run();
  REQUIRE(outcome.has_value());
  REQUIRE(outcome->size() == 1);
  CHECK(outcome->front().ok());
  std::ifstream in(path);
  std::stringstream written;
  written << in.rdbuf();
  CHECK(written.str() == events[0].json + "\n");
  std::filesystem::remove(path);
}

TEST_CASE("a tcp forwarder logs on the context's logger") {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto log = std::make_shared<spdlog::logger>("forwarder.under-test", sink);
  asio::io_context io;
  NetServices net;
  // Port 1 on the loopback: refused at once.
  auto forwarder = make_forwarder(forwarder_config("tcp", {{"address", "tcp://127.0.0.1:1"}}),
                                  ForwarderContext{io.get_executor(), io.get_executor(), log, net});
  const auto events = one_event();
  std::optional<BatchOutcome> outcome;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { outcome = co_await forwarder->deliver(events); }, asio::detached);
  io.run();
  REQUIRE(outcome.has_value());
  CHECK(outcome->front().kind == DeliveryOutcome::Kind::retry);
  const auto lines = sink->last_formatted();
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back().find("connect to tcp://127.0.0.1:1") != std::string::npos);
}

TEST_CASE("forwarders with the same TLS files share one context; a bad file names the forwarder's key") {
  asio::io_context io;
  NetServices net;
  ForwarderContext context{io.get_executor(), io.get_executor(), spdlog::default_logger(), net};
  auto first = net.tls_client_context({});
  CHECK(net.tls_client_context({}) == first);
  TlsClientOptions unverified;
  unverified.verify = false;
  CHECK(net.tls_client_context(unverified) != first);
  try {
    (void)make_forwarder(
        forwarder_config("tcp", {{"address", "tls://localhost:6514"}, {"tls_ca_file", "/nonexistent.pem"}}), context);
    FAIL("a missing tls_ca_file was accepted");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == "test.toml: forwarders[0].tls_ca_file: \"/nonexistent.pem\" is not a readable file");
  }
}

}  // namespace auditfwd
