// Unit tests for dispatch decisions: auto/async/sync against store state, failures per forwarder.
#include "dispatch/dispatcher.hpp"

#include "support/temp_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>
#include <filesystem>
#include <spdlog/spdlog.h>

using namespace auditfwd;
namespace asio = boost::asio;

namespace {

// A forwarder that records what it got and answers with a fixed outcome.
class RecordingForwarder final : public Forwarder {
 public:
  explicit RecordingForwarder(DeliveryOutcome outcome) : outcome_(std::move(outcome)) {}
  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    for (const auto& e : events) delivered.push_back(e.id);
    co_return same_outcome(events.size(), outcome_);
  }
  std::vector<std::string> delivered;

 private:
  DeliveryOutcome outcome_;
};

ForwarderSlot slot(const std::string& id, DispatchMode mode, DeliveryOutcome outcome = DeliveryOutcome::success()) {
  ForwarderConfig config;
  config.id = id;
  config.type = "test";
  config.dispatch = mode;
  return ForwarderSlot{config, std::make_unique<RecordingForwarder>(std::move(outcome)), spdlog::default_logger()};
}

RecordingForwarder& recorder(ForwarderSlot& s) { return static_cast<RecordingForwarder&>(*s.forwarder); }

std::vector<boost::json::object> dispatch(Dispatcher& dispatcher, std::vector<std::string> lines) {
  std::vector<ParsedLine> parsed;
  for (auto& line : lines) parsed.push_back(validate_event(line, {}, {}, now_micros()));
  asio::io_context io;
  // As the session does: the replies once the commits they report are on disk.
  auto dispatch_and_wait = [&]() -> asio::awaitable<std::string> {
    auto chunk = co_await dispatcher.dispatch(std::move(parsed));
    co_await wait_until_durable(chunk);
    co_return chunk.replies;
  };
  auto future = asio::co_spawn(io, dispatch_and_wait(), asio::use_future);
  io.run();
  std::vector<boost::json::object> replies;
  std::string text = future.get();
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start))
    replies.push_back(boost::json::parse(text.substr(start, end - start)).as_object());
  return replies;
}

using testing::TempStore;

}  // namespace

TEST_CASE("without a store: auto and sync deliver inline, async is async_unavailable") {
  std::vector<ForwarderSlot> slots;
  slots.push_back(slot("auto", DispatchMode::automatic));
  slots.push_back(slot("sync", DispatchMode::sync));
  Dispatcher dispatcher(slots, nullptr);
  auto replies = dispatch(dispatcher, {R"({"action":"a.b"})"});
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].at("ok") == true);
  CHECK(replies[0].at("results").at("auto").at("status") == "ok");
  CHECK(recorder(slots[0]).delivered.size() == 1);

  slots.push_back(slot("async", DispatchMode::async));
  Dispatcher with_async(slots, nullptr);
  replies = dispatch(with_async, {R"({"action":"a.b"})"});
  CHECK(replies[0].at("ok") == false);
  CHECK(replies[0].at("error") == "unavailable");
  CHECK(replies[0].at("results").at("async").at("error") == "async_unavailable");
  CHECK(replies[0].at("results").at("sync").at("status") == "ok");  // one failure never blocks another
}

TEST_CASE("with a healthy store: auto and async enqueue, sync delivers inline") {
  TempStore temp;
  JobStore store(temp.config);
  store.start({});
  std::vector<ForwarderSlot> slots;
  slots.push_back(slot("auto", DispatchMode::automatic));
  slots.push_back(slot("async", DispatchMode::async));
  slots.push_back(slot("sync", DispatchMode::sync));
  Dispatcher dispatcher(slots, &store);
  auto replies = dispatch(dispatcher, {R"({"action":"a.b"})", R"({"action":"c.d"})"});
  REQUIRE(replies.size() == 2);
  for (auto& reply : replies) {
    CHECK(reply.at("ok") == true);
    CHECK(reply.at("results").at("auto").at("status") == "enqueued");
    CHECK(reply.at("results").at("async").at("status") == "enqueued");
    CHECK(reply.at("results").at("sync").at("status") == "ok");
  }
  CHECK(recorder(slots[0]).delivered.empty());
  CHECK(recorder(slots[2]).delivered.size() == 2);
  store.stop();
}

TEST_CASE("a full store: async gets store_full, auto falls back to sync") {
  TempStore temp;
  temp.config.max_pending_jobs = 1;
  JobStore store(temp.config);
  store.start({});
  std::vector<ForwarderSlot> slots;
  slots.push_back(slot("auto", DispatchMode::automatic));
  Dispatcher dispatcher(slots, &store);
  auto first = dispatch(dispatcher, {R"({"action":"a.b"})"});
  CHECK(first[0].at("results").at("auto").at("status") == "enqueued");
  auto second = dispatch(dispatcher, {R"({"action":"a.b"})"});
  CHECK(second[0].at("results").at("auto").at("status") == "ok");  // delivered inline
  CHECK(recorder(slots[0]).delivered.size() == 1);

  std::vector<ForwarderSlot> async_slots;
  async_slots.push_back(slot("async", DispatchMode::async));
  Dispatcher async_dispatcher(async_slots, &store);
  auto refused = dispatch(async_dispatcher, {R"({"action":"a.b"})"});
  CHECK(refused[0].at("ok") == false);
  CHECK(refused[0].at("results").at("async").at("error") == "store_full");
  store.stop();
}

TEST_CASE("a failing sync forwarder makes the reply ok:false with its reason; the id is not remembered") {
  std::vector<ForwarderSlot> slots;
  slots.push_back(slot("down", DispatchMode::sync, DeliveryOutcome::retry("connection refused")));
  slots.push_back(slot("up", DispatchMode::sync));
  Dispatcher dispatcher(slots, nullptr);
  const std::string line = R"({"action":"a.b","id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab"})";
  auto replies = dispatch(dispatcher, {line});
  CHECK(replies[0].at("ok") == false);
  CHECK(replies[0].at("results").at("down").at("reason") == "connection refused");
  CHECK(replies[0].at("results").at("up").at("status") == "ok");
  auto again = dispatch(dispatcher, {line});
  CHECK_FALSE(again[0].contains("duplicate"));  // not acknowledged, so not a duplicate
}

TEST_CASE("a repeated client id is a duplicate, also within one chunk") {
  std::vector<ForwarderSlot> slots;
  slots.push_back(slot("sync", DispatchMode::sync));
  Dispatcher dispatcher(slots, nullptr);
  const std::string line = R"({"action":"a.b","id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab"})";
  auto replies = dispatch(dispatcher, {line, line});
  CHECK(replies[0].at("ok") == true);
  CHECK_FALSE(replies[0].contains("duplicate"));
  CHECK(replies[1].at("duplicate") == true);
  auto later = dispatch(dispatcher, {line});
  CHECK(later[0].at("duplicate") == true);
  CHECK(recorder(slots[0]).delivered.size() == 1);
}
