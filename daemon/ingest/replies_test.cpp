// Unit tests for the reply lines of wire protocol v1, byte for byte.
#include "ingest/replies.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

namespace {

Event event_with_id(std::string id) {
  Event event;
  event.id = std::move(id);
  return event;
}

// Forwarders that only have an id: all the reply lines read of them.
std::shared_ptr<const ForwarderSet> forwarders_named(std::vector<std::string> ids) {
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  for (auto& id : ids) {
    auto slot = std::make_shared<ForwarderSlot>();
    slot->config.id = std::move(id);
    slots.push_back(std::move(slot));
  }
  return make_forwarder_set(std::move(slots));
}

}  // namespace

TEST_CASE("replies: a refusal quotes its detail as a JSON string") {
  std::string out;
  ReplyBuilder::append_rejection(out, Rejection{errc::too_large, "a \"quoted\" line\n"});
  CHECK(out == "{\"ok\":false,\"error\":\"too_large\",\"detail\":\"a \\\"quoted\\\" line\\n\"}\n");
}

TEST_CASE("replies: a chunk gets one line per line, in order, for every verdict") {
  std::vector<ParsedLine> lines;
  lines.emplace_back(Rejection{errc::invalid_json, "bad"});
  lines.emplace_back(event_with_id("dup"));
  lines.emplace_back(event_with_id("ok-1"));
  lines.emplace_back(event_with_id("no-1"));
  ChunkOutcome chunk(std::move(lines), forwarders_named({"file", "s\"q"}));
  chunk.verdicts = {Verdict::refused, Verdict::duplicate, Verdict::accepted, Verdict::not_taken};
  chunk.rejections[0] = Rejection{errc::invalid_json, "bad"};
  chunk.results.at(2, 0).status = ForwarderResult::Status::ok;
  chunk.results.at(2, 1) = {ForwarderResult::Status::enqueued, 42, {}, {}};
  chunk.results.at(3, 0) = {ForwarderResult::Status::error, 0, "timeout", "no answer in 5000 ms"};
  // results.at(3, 1) left undecided: reported as not dispatched

  std::string out = "kept|";
  ReplyBuilder().append_chunk(out, chunk);
  CHECK(out ==
        "kept|"
        "{\"ok\":false,\"error\":\"invalid_json\",\"detail\":\"bad\"}\n"
        "{\"ok\":true,\"id\":\"dup\",\"duplicate\":true}\n"
        "{\"ok\":true,\"id\":\"ok-1\",\"results\":{\"file\":{\"status\":\"ok\"},\"s\\\"q\":{\"status\":\"enqueued\","
        "\"job\":42}}}\n"
        "{\"ok\":false,\"error\":\"unavailable\",\"detail\":\"2 of 2 forwarders did not take the event; send it "
        "again (same id) to retry: file: no answer in 5000 ms; s\\\"q: not dispatched\",\"id\":\"no-1\","
        "\"results\":{\"file\":{\"status\":\"error\",\"error\":\"timeout\",\"reason\":\"no answer in 5000 ms\"},"
        "\"s\\\"q\":{\"status\":\"error\",\"error\":\"internal\",\"reason\":\"not dispatched\"}}}\n");
}
