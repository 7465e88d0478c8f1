// _bulk bodies, dated index names and per-item outcomes.
#include "forwarders/elasticsearch_bulk.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>

using namespace auditfwd;

namespace {

Event event_with(std::string id, std::string occurred_at) {
  Event event;
  event.id = id;
  event.occurred_at = occurred_at;
  event.json = R"({"id":")" + id + R"(","action":"user.login"})";
  return event;
}

const auto now = std::chrono::system_clock::now();

std::vector<Event> three() {
  return {event_with("a1", "2026-11-29T23:30:00Z"), event_with("b2", "2026-11-30T00:30:00+01:00"),
          event_with("c3", "2026-12-01T00:00:00Z")};
}

}  // namespace

TEST_CASE("index patterns: UTC dates, and names Elasticsearch accepts") {
  CHECK(expand_index_pattern("audit-%Y.%m.%d", 1764458999000000000) == "audit-2025.11.29");
  CHECK(expand_index_pattern("audit-%Y.%m.%d-%H%%", 1764458999000000000) == "audit-2025.11.29-23%");
  CHECK(index_pattern_problem("audit-%Y.%m.%d").empty());
  CHECK(index_pattern_problem("audit-%Y-%j").find("%j is not a supported") != std::string::npos);
  CHECK(index_pattern_problem("Audit") == "must be lower case");
  CHECK(index_pattern_problem("_audit") == "must not start with -, _ or +");
  CHECK(index_pattern_problem("a b") == "must not contain ' '");
  CHECK(index_pattern_problem("audit%") == "ends in a lone %");
  CHECK(index_pattern_problem("") == "must not be empty");
}

TEST_CASE("a bulk body: create with _id = event id, the index from each event's own occurred_at") {
  const auto events = three();
  const auto body = bulk_body(events, {});
  CHECK(body == "{\"create\":{\"_index\":\"audit-2026.11.29\",\"_id\":\"a1\"}}\n" + events[0].json + "\n" +
                    "{\"create\":{\"_index\":\"audit-2026.11.29\",\"_id\":\"b2\"}}\n" + events[1].json + "\n" +
                    "{\"create\":{\"_index\":\"audit-2026.12.01\",\"_id\":\"c3\"}}\n" + events[2].json + "\n");
  const auto stream = bulk_body(std::span(events).first(1), {"ignored", std::string("logs-audit-default")});
  CHECK(stream ==
        "{\"create\":{\"_index\":\"logs-audit-default\",\"_id\":\"a1\"}}\n"
        "{\"@timestamp\":\"2026-11-29T23:30:00Z\",\"id\":\"a1\",\"action\":\"user.login\"}\n");
}

TEST_CASE("per-item results: only the failed items retried, a mapping error permanent for its item alone") {
  const auto events = three();
  const auto outcomes = classify_bulk_response(events, 200, "OK", R"({"took":3,"errors":true,"items":[
      {"create":{"_index":"audit","_id":"a1","status":201}},
      {"create":{"_index":"audit","_id":"b2","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse [x]"}}},
      {"create":{"_index":"audit","_id":"c3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}}]})",
                                               "5", now, {});
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0].ok());
  CHECK(outcomes[1].kind == DeliveryOutcome::Kind::permanent);
  CHECK(outcomes[1].reason == "bulk item HTTP 400: mapper_parsing_exception: failed to parse [x]");
  CHECK(outcomes[2].kind == DeliveryOutcome::Kind::retry);
  CHECK(outcomes[2].retry_after == std::chrono::seconds(5));
}

TEST_CASE("409 version conflict: stored by an earlier attempt, so delivered") {
  const auto events = three();
  const auto outcomes = classify_bulk_response(std::span(events).first(2), 200, "OK", R"({"errors":true,"items":[
      {"create":{"_id":"a1","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
      {"create":{"_id":"b2","status":409,"error":{"type":"other_conflict","reason":"?"}}}]})",
                                               std::nullopt, now, {});
  CHECK(outcomes[0].ok());
  CHECK(outcomes[1].kind == DeliveryOutcome::Kind::permanent);
}

TEST_CASE("a whole-request failure or an unreadable answer applies to every event") {
  const auto events = three();
  for (const auto& outcome : classify_bulk_response(events, 429, "Too Many Requests", "", "2", now, {}))
    CHECK(outcome.retry_after == std::chrono::seconds(2));
  const auto denied = classify_bulk_response(events, 401, "Unauthorized", "ApiKey s3cr3t refused", std::nullopt, now,
                                             SecretRedactor({"s3cr3t"}));
  CHECK(denied[0].kind == DeliveryOutcome::Kind::permanent);
  CHECK(denied[0].reason.find("s3cr3t") == std::string::npos);
  CHECK(classify_bulk_response(events, 200, "OK", "{}", std::nullopt, now, {})[1].kind == DeliveryOutcome::Kind::retry);
  CHECK(classify_bulk_response(events, 200, "OK", R"({"items":[{"create":{"_id":"a1","status":201}}]})", std::nullopt,
                               now, {})[0]
            .kind == DeliveryOutcome::Kind::retry);  // one item for three events
  CHECK(classify_bulk_response(std::span(events).first(1), 200, "OK",
                               R"({"items":[{"create":{"_id":"zz","status":201}}]})", std::nullopt, now, {})[0]
            .kind == DeliveryOutcome::Kind::retry);  // another event's answer
}
