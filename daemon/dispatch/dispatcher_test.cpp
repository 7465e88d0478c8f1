// Unit tests for dispatch decisions: auto/async/sync against store state, failures per forwarder.
#include "dispatch/dispatcher.hpp"

#include "ingest/replies.hpp"
#include "support/temp_store.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <filesystem>

using namespace auditfwd;
namespace asio = boost::asio;

namespace {

// A forwarder that records what it got and answers with the outcome it is given.
class RecordingForwarder final : public Forwarder {
 public:
  explicit RecordingForwarder(DeliveryOutcome outcome) : outcome_(std::move(outcome)) {}
  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    for (const auto& e : events) delivered.push_back(e.id);
    co_return same_outcome(events.size(), outcome_);
  }
  void answer(DeliveryOutcome outcome) { outcome_ = std::move(outcome); }  // between dispatches only
  std::vector<std::string> delivered;

 private:
  DeliveryOutcome outcome_;
};

std::shared_ptr<ForwarderSlot> slot(const std::string& id, DispatchMode mode,
                                    DeliveryOutcome outcome = DeliveryOutcome::success()) {
  ForwarderConfig config;
  config.id = id;
  config.type = "test";
  config.dispatch = mode;
  return std::make_shared<ForwarderSlot>(
      ForwarderSlot{config, std::make_unique<RecordingForwarder>(std::move(outcome)), spdlog::default_logger()});
}

RecordingForwarder& recorder(const std::shared_ptr<ForwarderSlot>& s) {
  return static_cast<RecordingForwarder&>(*s->forwarder);
}

// One chunk's replies, and how many commits they had to wait for.
struct Dispatched {
  std::vector<boost::json::object> replies;
  std::size_t commits = 0;
};

Dispatched dispatch_chunk(Dispatcher& dispatcher, std::vector<std::string> lines) {
  std::vector<ParsedLine> parsed;
  for (auto& line : lines) parsed.push_back(validate_event(line, {}, {}, now_micros()));
  asio::io_context io;
  // As the session does: the replies once the commits they report are on disk.
  auto dispatch_and_wait = [&]() -> asio::awaitable<ChunkOutcome> {
    auto chunk = co_await dispatcher.dispatch(std::move(parsed));
    co_await wait_until_durable(chunk.commits);
    co_return chunk;
  };
  auto future = asio::co_spawn(io, dispatch_and_wait(), asio::use_future);
  io.run();
  Dispatched out;
  const auto chunk = future.get();
  out.commits = chunk.commits.size();
  std::string text;
  ReplyBuilder().append_chunk(text, chunk);
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start))
    out.replies.push_back(boost::json::parse(text.substr(start, end - start)).as_object());
  return out;
}

std::vector<boost::json::object> dispatch(Dispatcher& dispatcher, std::vector<std::string> lines) {
  return dispatch_chunk(dispatcher, std::move(lines)).replies;
}

// The store-backed cases run under both durabilities: "fsync" (the default in
// production) makes replies wait for DurableCommits, "os" does not.
#define EACH_DURABILITY(fsync)                  \
  bool fsync = false;                           \
  SUBCASE("durability os") { fsync = false; }   \
  SUBCASE("durability fsync") { fsync = true; } \
  CAPTURE(fsync)

using testing::TempStore;

}  // namespace

TEST_CASE("without a store: auto and sync deliver inline, async is async_unavailable") {
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  slots.push_back(slot("auto", DispatchMode::automatic));
  slots.push_back(slot("sync", DispatchMode::sync));
  Dispatcher dispatcher(make_forwarder_set(slots), nullptr);
  auto replies = dispatch(dispatcher, {R"({"action":"a.b"})"});
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].at("ok") == true);
  CHECK(replies[0].at("results").at("auto").at("status") == "ok");
  CHECK(recorder(slots[0]).delivered.size() == 1);

  slots.push_back(slot("async", DispatchMode::async));
  Dispatcher with_async(make_forwarder_set(slots), nullptr);
  replies = dispatch(with_async, {R"({"action":"a.b"})"});
  CHECK(replies[0].at("ok") == false);
  CHECK(replies[0].at("error") == "unavailable");
  CHECK(replies[0].at("results").at("async").at("error") == "async_unavailable");
  CHECK(replies[0].at("results").at("sync").at("status") == "ok");  // one failure never blocks another
}

TEST_CASE("with a healthy store: auto and async enqueue, sync delivers inline") {
  EACH_DURABILITY(fsync);
  TempStore temp;
  temp.config.durability_fsync = fsync;
  JobStore store(temp.config);
  store.start({});
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  slots.push_back(slot("auto", DispatchMode::automatic));
  slots.push_back(slot("async", DispatchMode::async));
  slots.push_back(slot("sync", DispatchMode::sync));
  Dispatcher dispatcher(make_forwarder_set(slots), &store);
  auto [replies, commits] = dispatch_chunk(dispatcher, {R"({"action":"a.b"})", R"({"action":"c.d"})"});
  CHECK(commits == (fsync ? 1u : 0u));  // fsync: the chunk's one enqueue, to wait for before replying
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
  EACH_DURABILITY(fsync);
  TempStore temp;
  temp.config.durability_fsync = fsync;
  temp.config.max_pending_jobs = 1;
  JobStore store(temp.config);
  store.start({});
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  slots.push_back(slot("auto", DispatchMode::automatic));
  Dispatcher dispatcher(make_forwarder_set(slots), &store);
  auto first = dispatch(dispatcher, {R"({"action":"a.b"})"});
  CHECK(first[0].at("results").at("auto").at("status") == "enqueued");
  auto second = dispatch(dispatcher, {R"({"action":"a.b"})"});
  CHECK(second[0].at("results").at("auto").at("status") == "ok");  // delivered inline
  CHECK(recorder(slots[0]).delivered.size() == 1);

  std::vector<std::shared_ptr<ForwarderSlot>> async_slots;
  async_slots.push_back(slot("async", DispatchMode::async));
  Dispatcher async_dispatcher(make_forwarder_set(async_slots), &store);
  auto refused = dispatch(async_dispatcher, {R"({"action":"a.b"})"});
  CHECK(refused[0].at("ok") == false);
  CHECK(refused[0].at("results").at("async").at("error") == "store_full");
  store.stop();
}

TEST_CASE("a failing sync forwarder makes the reply ok:false with its reason; the id is not remembered") {
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  slots.push_back(slot("down", DispatchMode::sync, DeliveryOutcome::retry("connection refused")));
  slots.push_back(slot("up", DispatchMode::sync));
  Dispatcher dispatcher(make_forwarder_set(slots), nullptr);
  const std::string line = R"({"action":"a.b","id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab"})";
  auto replies = dispatch(dispatcher, {line});
  CHECK(replies[0].at("ok") == false);
  CHECK(replies[0].at("results").at("down").at("reason") == "connection refused");
  CHECK(replies[0].at("results").at("up").at("status") == "ok");
  auto again = dispatch(dispatcher, {line});
  CHECK_FALSE(again[0].contains("duplicate"));  // not acknowledged, so not a duplicate
}

TEST_CASE("a repeated client id is a duplicate, also within one chunk") {
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  slots.push_back(slot("sync", DispatchMode::sync));
  Dispatcher dispatcher(make_forwarder_set(slots), nullptr);
  const std::string line = R"({"action":"a.b","id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab"})";
  auto replies = dispatch(dispatcher, {line, line});
  CHECK(replies[0].at("ok") == true);
  CHECK_FALSE(replies[0].contains("duplicate"));
  CHECK(replies[1].at("duplicate") == true);
  auto later = dispatch(dispatcher, {line});
  CHECK(later[0].at("duplicate") == true);
  CHECK(recorder(slots[0]).delivered.size() == 1);
}

TEST_CASE("with a store, a failed sync delivery does not remember the id: the resend is delivered, not a duplicate") {
  EACH_DURABILITY(fsync);
  TempStore temp;
  temp.config.durability_fsync = fsync;
  JobStore store(temp.config);
  store.start({});
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  slots.push_back(slot("flaky", DispatchMode::sync, DeliveryOutcome::retry("connection refused")));
  slots.push_back(slot("queued", DispatchMode::async));
  Dispatcher dispatcher(make_forwarder_set(slots), &store);
  const std::string line = R"({"action":"a.b","id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab"})";
  auto failed = dispatch(dispatcher, {line});
  CHECK(failed[0].at("ok") == false);
  CHECK(failed[0].at("results").at("flaky").at("status") == "error");

  recorder(slots[0]).answer(DeliveryOutcome::success());  // the destination is back
  auto retried = dispatch(dispatcher, {line});
  CHECK(retried[0].at("ok") == true);
  CHECK_FALSE(retried[0].contains("duplicate"));
  CHECK(recorder(slots[0]).delivered.size() == 2);

  auto again = dispatch(dispatcher, {line});  // delivered now, so remembered
  CHECK(again[0].at("duplicate") == true);
  CHECK(recorder(slots[0]).delivered.size() == 2);
  store.stop();
}

TEST_CASE("with a store, a repeated client id is a duplicate, answered once the commit that remembered it is on disk") {
  EACH_DURABILITY(fsync);
  TempStore temp;
  temp.config.durability_fsync = fsync;
  JobStore store(temp.config);
  store.start({});
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  slots.push_back(slot("sync", DispatchMode::sync));
  slots.push_back(slot("async", DispatchMode::async));
  Dispatcher dispatcher(make_forwarder_set(slots), &store);
  const std::string line = R"({"action":"a.b","id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab"})";
  auto first = dispatch_chunk(dispatcher, {line, line});
  CHECK(first.replies[0].at("results").at("async").at("status") == "enqueued");
  CHECK(first.replies[1].at("duplicate") == true);  // within one chunk
  CHECK(first.commits == (fsync ? 1u : 0u));
  auto later = dispatch_chunk(dispatcher, {line});
  CHECK(later.replies[0].at("duplicate") == true);
  CHECK(later.commits == (fsync ? 1u : 0u));  // fsync: the first copy's commit may not be on disk yet
  CHECK(recorder(slots[0]).delivered.size() == 1);
  store.stop();
}

TEST_CASE("dispatcher: a reload's set serves the chunks that start after it; the old set is let go") {
  std::vector<std::shared_ptr<ForwarderSlot>> before{slot("old", DispatchMode::sync)};
  bool old_released = false;
  Dispatcher dispatcher(make_forwarder_set(before, [&] { old_released = true; }), nullptr);
  auto replies = dispatch(dispatcher, {R"({"action":"user.login"})"});
  CHECK(replies[0].at("results").as_object().contains("old"));

  std::vector<std::shared_ptr<ForwarderSlot>> after{slot("new", DispatchMode::sync), before[0]};
  dispatcher.replace_forwarders(make_forwarder_set(after));
  CHECK(old_released);  // no chunk held it any more
  replies = dispatch(dispatcher, {R"({"action":"user.login"})"});
  const auto& results = replies[0].at("results").as_object();
  CHECK(results.size() == 2);
  CHECK(results.at("new").at("status") == "ok");
  CHECK(results.at("old").at("status") == "ok");
  CHECK(recorder(after[0]).delivered.size() == 1);
  CHECK(recorder(before[0]).delivered.size() == 2);
}
