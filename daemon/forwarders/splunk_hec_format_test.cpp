// HEC envelopes, the default channel and the meaning of HEC answers.
#include "forwarders/splunk_hec_format.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>

using namespace auditfwd;

namespace {

Event sample_event() {
  Event event;
  event.id = "0190b5f0-0000-7000-8000-000000000001";
  event.occurred_at = "2026-11-29T21:05:30.120Z";
  event.json = R"({"id":"0190b5f0-0000-7000-8000-000000000001","action":"user.login","host":{"hostname":"web-1"}})";
  return event;
}

const auto now = std::chrono::system_clock::now();

HecReply reply(unsigned status, const char* body, std::size_t events = 3) {
  return classify_hec_reply(events, status, "", body, std::nullopt, now, SecretRedactor({"tok-123"}));
}

}  // namespace

TEST_CASE("an event's envelope: time from occurred_at, host from the event, the event itself") {
  CHECK(hec_time(1764450330120000000) == "1764450330.12");
  CHECK(hec_time(1764450330000000000) == "1764450330");
  CHECK(hec_time(1764450330000000001) == "1764450330.000000001");
  const auto envelope =
      boost::json::parse(hec_event(sample_event(), {"auditfwd", "auditfwd:event", std::string("audit")})).as_object();
  CHECK(envelope.at("time").as_double() == doctest::Approx(1795986330.12));
  CHECK(envelope.at("host").as_string() == "web-1");
  CHECK(envelope.at("source").as_string() == "auditfwd");
  CHECK(envelope.at("sourcetype").as_string() == "auditfwd:event");
  CHECK(envelope.at("index").as_string() == "audit");
  CHECK(envelope.at("event").at("id").as_string() == "0190b5f0-0000-7000-8000-000000000001");
  const auto without_index = boost::json::parse(hec_event(sample_event(), {"s", "t", std::nullopt})).as_object();
  CHECK_FALSE(without_index.contains("index"));
  std::vector<Event> two{sample_event(), sample_event()};
  CHECK(hec_batch(two, {"s", "t", std::nullopt}) ==
        hec_event(two[0], {"s", "t", std::nullopt}) + "\n" + hec_event(two[1], {"s", "t", std::nullopt}) + "\n");
}

TEST_CASE("the default channel is a UUID stable per machine and forwarder") {
  const auto channel = hec_default_channel("0123456789abcdef0123456789abcdef", "splunk");
  CHECK(channel.size() == 36);
  CHECK(channel[14] == '8');  // version 8
  CHECK(std::string("89ab").find(channel[19]) != std::string::npos);
  CHECK(channel == hec_default_channel("0123456789abcdef0123456789abcdef", "splunk"));
  CHECK(channel != hec_default_channel("0123456789abcdef0123456789abcdef", "splunk-2"));
  CHECK(channel != hec_default_channel("fedcba9876543210fedcba9876543210", "splunk"));
}

TEST_CASE("HEC codes map to ok, retry and permanent") {
  auto success = reply(200, R"({"text":"Success","code":0,"ackId":7})");
  CHECK(success.outcomes.size() == 3);
  CHECK(success.outcomes[2].ok());
  CHECK(success.ack_id == 7u);
  CHECK_FALSE(reply(200, R"({"text":"Success","code":0})").ack_id);

  const auto busy = reply(503, R"({"text":"Server is busy","code":9})");
  CHECK(busy.outcomes[0].kind == DeliveryOutcome::Kind::retry);
  CHECK(busy.outcomes[0].reason == "HEC code 9 (HTTP 503): Server is busy");
  // A wrong token is fixed by an operator: retried, not cancelled; the token never quoted.
  const auto token = reply(403, R"({"text":"Invalid token tok-123","code":4})");
  CHECK(token.outcomes[0].kind == DeliveryOutcome::Kind::retry);
  CHECK(token.outcomes[0].reason.find("tok-123") == std::string::npos);
  CHECK(reply(401, R"({"text":"Token is required","code":2})").outcomes[0].kind == DeliveryOutcome::Kind::retry);

  const auto invalid = reply(400, R"({"text":"Incorrect index","code":7})");
  for (const auto& outcome : invalid.outcomes) CHECK(outcome.kind == DeliveryOutcome::Kind::permanent);
  // With the number of the refused event, only that one is permanent; the others are sent again.
  const auto one = reply(400, R"({"text":"Invalid data format","code":6,"invalid-event-number":1})");
  CHECK(one.outcomes[0].kind == DeliveryOutcome::Kind::retry);
  CHECK(one.outcomes[1].kind == DeliveryOutcome::Kind::permanent);
  CHECK(one.outcomes[2].kind == DeliveryOutcome::Kind::retry);

  // Not HEC's JSON (a proxy in front): the HTTP status decides.
  CHECK(reply(502, "<html>bad gateway</html>").outcomes[0].kind == DeliveryOutcome::Kind::retry);
  CHECK(reply(404, "not found").outcomes[0].kind == DeliveryOutcome::Kind::permanent);
  const auto after = classify_hec_reply(1, 503, "", R"({"text":"Server is busy","code":9})", "7", now, {});
  CHECK(after.outcomes[0].retry_after == std::chrono::seconds(7));
}

TEST_CASE("ack requests and answers") {
  CHECK(hec_ack_request(12) == R"({"acks":[12]})");
  CHECK(hec_ack_confirmed(R"({"acks":{"12":true}})", 12) == true);
  CHECK(hec_ack_confirmed(R"({"acks":{"12":false}})", 12) == false);
  CHECK_FALSE(hec_ack_confirmed(R"({"acks":{"11":true}})", 12));
  CHECK_FALSE(hec_ack_confirmed("not json", 12));
}
