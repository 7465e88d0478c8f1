// Unit tests for Session over a socketpair: replies in order, the end of input, stop(), the idle deadline.
#include "ingest/session.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <thread>

using namespace auditfwd;
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {

class CountingForwarder final : public Forwarder {
 public:
  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    delivered += events.size();
    co_return same_outcome(events.size(), DeliveryOutcome::success());
  }
  std::atomic<std::size_t> delivered{0};
};

// A Session on one end of a socketpair, the test's blocking client on the other.
struct SessionRig {
  asio::io_context io;
  stream::socket client{io};
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  IngestConfig config;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<ReplyBuilder> replies;
  std::unique_ptr<IngestSettings> settings;
  BufferBudget budget{config.max_buffered_bytes, config.max_connection_buffered_bytes};
  RefusalLog refusals{spdlog::default_logger()};
  std::shared_ptr<Session> session;
  std::atomic<bool> ended{false};
  std::thread runner;

  void start() {
    ForwarderConfig forwarder;
    forwarder.id = "sync";
    forwarder.type = "test";
    forwarder.dispatch = DispatchMode::sync;
    slots.push_back(std::make_shared<ForwarderSlot>(
        ForwarderSlot{forwarder, std::make_unique<CountingForwarder>(), spdlog::default_logger()}));
    dispatcher = std::make_unique<Dispatcher>(make_forwarder_set(slots), nullptr);
    replies = std::make_unique<ReplyBuilder>();
    settings = std::make_unique<IngestSettings>(config);
    stream::socket server(asio::make_strand(io));
    auto session_executor = server.get_executor();
    asio::local::connect_pair(server, client);
    session = std::make_shared<Session>(std::move(server), PeerCredentials{::getuid(), ::getgid(), ::getpid()},
                                        *settings, *dispatcher, *replies, budget, refusals, spdlog::default_logger());
    asio::co_spawn(session_executor, session->run(), [this](std::exception_ptr error) {
      CHECK_FALSE(error);
      ended = true;
    });
    runner = std::thread([this] { io.run_for(20s); });
  }
  ~SessionRig() {
    if (runner.joinable()) runner.join();
  }

  std::size_t delivered() { return static_cast<CountingForwarder&>(*slots[0]->forwarder).delivered; }

  // Everything the session writes until it closes the connection.
  std::string read_to_end() {
    std::string out;
    boost::system::error_code error;
    asio::read(client, asio::dynamic_buffer(out), error);
    CHECK(error == asio::error::eof);
    return out;
  }

  std::vector<boost::json::object> lines_of(const std::string& text) {
    std::vector<boost::json::object> out;
    std::size_t start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start))
      out.push_back(boost::json::parse(text.substr(start, end - start)).as_object());
    return out;
  }
};

}  // namespace

TEST_CASE("Session: answers every line in order, and closes once the client's input ended") {
  SessionRig rig;
  rig.start();
  asio::write(rig.client, asio::buffer(std::string("{\"action\":\"a.b\"}\nnot json\n{\"action\":\"c.d\"}\n")));
  rig.client.shutdown(stream::socket::shutdown_send);
  const auto replies = rig.lines_of(rig.read_to_end());
  REQUIRE(replies.size() == 3);
  CHECK(replies[0].at("ok") == true);
  CHECK(replies[0].at("results").at("sync").at("status") == "ok");
  CHECK(replies[1].at("ok") == false);
  CHECK(replies[1].at("error") == "invalid_json");
  CHECK(replies[2].at("ok") == true);
  rig.runner.join();
  CHECK(rig.ended);
  CHECK(rig.delivered() == 2);
}

TEST_CASE("Session: stop() answers what was read, then closes a connection that stays open") {
  SessionRig rig;
  rig.start();
  asio::write(rig.client, asio::buffer(std::string("{\"action\":\"a.b\"}\n")));
  std::string first;
  asio::read_until(rig.client, asio::dynamic_buffer(first), '\n');
  CHECK(rig.lines_of(first).at(0).at("ok") == true);
  rig.session->stop();
  CHECK(rig.read_to_end().empty());
  rig.runner.join();
  CHECK(rig.ended);
}

TEST_CASE("Session: a client that sends nothing is closed at ingest.idle_timeout") {
  SessionRig rig;
  rig.config.idle_timeout = 100ms;
  const auto start = std::chrono::steady_clock::now();
  rig.start();
  CHECK(rig.read_to_end().empty());
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 100ms);
  CHECK(waited < 10s);
  rig.runner.join();
  CHECK(rig.ended);
}

TEST_CASE("Session: a connection waiting for input holds no read buffer") {
  SessionRig rig;
  rig.start();
  asio::write(rig.client, asio::buffer(std::string("{\"action\":\"a.b\"}\n")));
  std::string first;
  asio::read_until(rig.client, asio::dynamic_buffer(first), '\n');
  // Answered; the session now waits for the client's next line, holding no 4 KiB read buffer (only the
  // line splitter's empty string, counted by its capacity: its in-place 15 bytes).
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (rig.budget.total() >= 1024 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  CHECK(rig.budget.total() < 1024);
  // And it still reads the next line when it comes.
  asio::write(rig.client, asio::buffer(std::string("{\"action\":\"c.d\"}\n")));
  std::string second;
  asio::read_until(rig.client, asio::dynamic_buffer(second), '\n');
  CHECK(rig.lines_of(second).at(0).at("ok") == true);
  rig.session->stop();
  CHECK(rig.read_to_end().empty());
  rig.runner.join();
  CHECK(rig.ended);
}
