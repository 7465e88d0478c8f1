// Loki labels and push bodies.
#include "forwarders/loki_push.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>

using namespace auditfwd;

namespace {

Event event_on(std::string host, std::string id) {
  Event event;
  event.id = id;
  event.occurred_at = "2026-11-29T21:05:30.5Z";
  event.json = R"({"id":")" + id + R"(","host":{"hostname":)" + (host.empty() ? "null" : "\"" + host + "\"") + "}}";
  return event;
}

}  // namespace

TEST_CASE("labels: a few static ones; never an unbounded event field") {
  CHECK(loki_label_problem("job").empty());
  CHECK(loki_label_problem("env_2").empty());
  CHECK(loki_label_problem("id").find("high-cardinality") != std::string::npos);
  CHECK(loki_label_problem("actor_id").find("high-cardinality") != std::string::npos);
  CHECK(loki_label_problem("host").find("added by the forwarder") != std::string::npos);
  CHECK(loki_label_problem("__name__").find("reserved") != std::string::npos);
  CHECK(loki_label_problem("1st").find("not a valid label name") != std::string::npos);
  CHECK(loki_label_problem("a-b").find("not a valid label name") != std::string::npos);
}

TEST_CASE("a push body: one stream per host, nanosecond string timestamps, the event JSON as the line") {
  const std::vector<Event> events{event_on("web-1", "a"), event_on("web-2", "b"), event_on("web-1", "c"),
                                  event_on("", "d")};
  const auto body = boost::json::parse(loki_push_body(events, {{"job", "auditfwd"}, {"env", "prod"}})).as_object();
  const auto& streams = body.at("streams").as_array();
  REQUIRE(streams.size() == 3);
  const auto& first = streams[0].as_object();
  CHECK(first.at("stream") == boost::json::parse(R"({"env":"prod","job":"auditfwd","host":"web-1"})"));
  const auto& values = first.at("values").as_array();
  REQUIRE(values.size() == 2);
  CHECK(values[0].as_array()[0].as_string() == "1795986330500000000");
  CHECK(values[0].as_array()[1].as_string() == events[0].json);
  CHECK(values[1].as_array()[1].as_string() == events[2].json);
  CHECK(streams[1].at("stream").at("host").as_string() == "web-2");
  CHECK(streams[2].at("stream") == boost::json::parse(R"({"env":"prod","job":"auditfwd"})"));  // no host known
}
