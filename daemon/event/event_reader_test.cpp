// Unit tests for the one-pass line reader: exact numbers, refused non-finite numbers,
// repeated keys, nesting, and the content digest an idempotency key stands for.
#include "event/event_reader.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>
#include <string>

using namespace auditfwd;

namespace {
const SenderStamp peer{SenderIdentity{{1000, 1001, 4242}, "", "", "", "", ""}, HostIdentity{"", "", ""}};

boost::system::result<Event, Rejection> check(const std::string& line, ValidationLimits limits = {}) {
  return validate_event(line, limits, peer, now_micros());
}

Rejection refusal(const std::string& line, ValidationLimits limits = {}) {
  auto result = check(line, limits);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

// The stamped event's metadata, as text.
std::string metadata_text(const std::string& line) {
  auto result = check(line);
  REQUIRE(result.has_value());
  const auto& json = result->json;
  const auto begin = json.find("\"metadata\":") + 11;
  const auto end = json.find(",\"received_at\":");
  return json.substr(begin, end - begin);
}
}  // namespace

TEST_CASE("numbers are delivered as the exact text the client sent") {
  CHECK(metadata_text(R"({"action":"a.b","metadata":{"price":19.99}})") == R"({"price":19.99})");
  CHECK(metadata_text(R"({"action":"a.b","metadata":{"n":123456789012345678901234567890}})") ==
        R"({"n":123456789012345678901234567890})");
  CHECK(metadata_text(R"({"action":"a.b","metadata":{"a":[1.0E+2,-0,0.1e-400,18446744073709551616]}})") ==
        R"({"a":[1.0E+2,-0,0.1e-400,18446744073709551616]})");
  CHECK(metadata_text(R"({"action":"a.b","metadata":{"x":-9223372036854775808,"y":1.7976931348623157e308}})") ==
        R"({"x":-9223372036854775808,"y":1.7976931348623157e308})");
}

TEST_CASE("a number no 64-bit float can hold is refused, naming its path") {
  for (const char* line :
       {R"({"action":"a.b","metadata":{"n":1e309}})", R"({"action":"a.b","metadata":{"n":-1e999}})"}) {
    const auto refused = refusal(line);
    CHECK(refused.code == errc::invalid_event);
    CHECK(refused.detail.find("metadata.n ") == 0);
  }
  const auto in_array = refusal(R"({"action":"a.b","metadata":{"list":[2,{"deep":[1E400,2]}]}})");
  CHECK(in_array.code == errc::invalid_event);
  CHECK(in_array.detail.find("metadata.list[1].deep[0] is out of range: 1E400") == 0);
  CHECK(refusal(R"({"action":"a.b","actor_type":1e999})").code == errc::invalid_event);
}

TEST_CASE("the largest doubles are accepted: out of range means past DBL_MAX's rounding, not Boost.JSON's reading") {
  // Found while checking a fuzz report (FUZZING.md): Boost.JSON 1.81 reads
  // 1.7976931348623158e308, which rounds to DBL_MAX, as infinite.
  for (const char* number : {"1.7976931348623158e308", "-1.7976931348623158079e308", "17976931348623158e292"}) {
    CAPTURE(number);
    CHECK(metadata_text(std::string(R"({"action":"a.b","metadata":{"n":)") + number + "}}") ==
          std::string(R"({"n":)") + number + "}");
  }
  CHECK(refusal(R"({"action":"a.b","metadata":{"n":1.7976931348623159e308}})").code == errc::invalid_event);
  // A zero with a huge exponent is zero (Boost.JSON reads it as NaN: fuzz/corpus/event/zero-huge-exponent).
  CHECK(metadata_text(R"({"action":"a.b","metadata":{"n":0.0e551610}})") == R"({"n":0.0e551610})");
}

TEST_CASE("strings, keys, literals and nesting survive, re-serialized compactly") {
  const std::string line =
      R"({"action":"a.b","metadata":{ "k\u00e9y" : "v\"al\n", "e":{}, "arr":[ [], {"t":true,"f":false,"n":null} ], "ü":"日本"}})";
  const auto text = metadata_text(line);
  CHECK(boost::json::parse(text) == boost::json::parse(line).at("metadata"));
  CHECK(text.find(' ') == std::string::npos);
}

TEST_CASE("a repeated field or metadata key is refused: receivers would disagree on its value") {
  const auto field = refusal(R"({"action":"a.b","action":"c.d"})");
  CHECK(field.code == errc::invalid_event);
  CHECK(field.detail.find("action") != std::string::npos);
  const auto key = refusal(R"({"action":"a.b","metadata":{"user":"alice","x":{"user":1,"user":2}}})");
  CHECK(key.code == errc::invalid_event);
  CHECK(key.detail.find("metadata.x has the key \"user\" more than once") == 0);
  // The same key in sibling objects is no repeat.
  CHECK(check(R"({"action":"a.b","metadata":{"a":{"k":1},"b":{"k":1},"k":[{"k":1},{"k":2}]}})").has_value());
}

TEST_CASE("nesting is limited by ingest.max_nesting_depth") {
  std::string nested = R"({"action":"a.b","metadata":)";
  for (int i = 0; i < 6; ++i) nested += R"({"x":)";
  nested += "1";
  for (int i = 0; i < 7; ++i) nested += "}";  // 7 levels: the event, metadata, five more
  CHECK(check(nested, ValidationLimits{8192, 7}).has_value());
  const auto refused = refusal(nested, ValidationLimits{8192, 6});
  CHECK(refused.code == errc::invalid_event);
  CHECK(refused.detail.find("deeper than 6 levels") != std::string::npos);
}

TEST_CASE("what is not one JSON object is invalid_json") {
  for (const char* line : {"42", "\"a.b\"", "null", "[{}]", R"({"action":"a.b"} {})", R"({"action":"a.b"}x)",
                           R"({"action":"a.b",})", "{\"action\":\"a.\xff\"}"})
    CHECK(refusal(line).code == errc::invalid_json);
  CHECK(check("{\"action\":\"a.b\"} \r").has_value());
}

TEST_CASE("metadata over its limit is too_large, even when the line goes on") {
  const std::string line = R"({"action":"a.b","metadata":{"k":")" + std::string(300, 'x') + R"("},"outcome":"nope"})";
  CHECK(refusal(line, ValidationLimits{100, 32}).code == errc::too_large);
}

TEST_CASE("UUIDs are lower-cased everywhere") {
  auto result = check(R"({"action":"a.b","actor_id":"0190B2A4-7C1E-7CC2-8E1D-1234567890AB"})");
  REQUIRE(result.has_value());
  CHECK(result->json.find(R"("actor_id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab")") != std::string::npos);
}

TEST_CASE("the content digest: the same line means the same content, whatever the receipt time") {
  const std::string id = R"("id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab")";
  const auto first = validate_event("{" + id + R"(,"action":"a.b","metadata":{"n":1}})", {}, peer, now_micros());
  const auto later =
      validate_event("{" + id + R"(,"action":"a.b","metadata":{"n":1}})", {},
                     SenderStamp{SenderIdentity{{1000, 5, 99}, "other", "", "", "", ""}, HostIdentity{"h", "", ""}},
                     now_micros() + std::chrono::seconds(3));
  const auto other = validate_event("{" + id + R"(,"action":"a.b","metadata":{"n":2}})", {}, peer, now_micros());
  const auto dated = validate_event(
      "{" + id + R"(,"action":"a.b","occurred_at":"2026-01-01T00:00:00Z","metadata":{"n":1}})", {}, peer, now_micros());
  REQUIRE((first && later && other && dated));
  CHECK(first->sender_uid == 1000);
  CHECK(first->content_digest == later->content_digest);
  CHECK(first->content_digest != other->content_digest);
  CHECK(first->content_digest != dated->content_digest);
  CHECK(first->content_digest != ContentDigest{});
}
