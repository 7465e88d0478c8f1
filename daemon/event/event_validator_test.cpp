// Unit tests for the event rules of DESIGN.md.
#include "event/event_validator.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>
#include <string>

using namespace auditfwd;

namespace {
const SenderStamp peer{SenderIdentity{{1000, 1001, 4242}, "alice", "staff", "/usr/bin/app", "app", "app.service"},
                       HostIdentity{"db1", "0123456789abcdef0123456789abcdef", "c0ffee00-0000-4000-8000-000000000001"}};

boost::system::result<Event, Rejection> check(const std::string& line, std::size_t max_metadata = 8192) {
  return validate_event(line, ValidationLimits{max_metadata}, peer, now_micros());
}

errc code_of(const std::string& line) {
  auto result = check(line);
  REQUIRE_FALSE(result.has_value());
  return result.error().code;
}

// The detail of a line that must be refused with `expected`.
std::string detail_of(const std::string& line, errc expected) {
  auto result = check(line);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == expected);
  return result.error().detail;
}
}  // namespace

TEST_CASE("a minimal event is stamped with id, defaults, source, host and received_at") {
  auto result = check(R"({"action":"user.login"})");
  REQUIRE(result.has_value());
  const auto stamped = boost::json::parse(result->json).as_object();
  CHECK(stamped.at("action") == "user.login");
  CHECK(stamped.at("outcome") == "success");
  CHECK(stamped.at("actor_type") == "user");
  CHECK(stamped.at("metadata").as_object().empty());
  CHECK(stamped.at("source").as_object().at("uid") == 1000);
  CHECK(stamped.at("source").as_object().at("gid") == 1001);
  CHECK(stamped.at("source").as_object().at("pid") == 4242);
  CHECK(stamped.at("source").as_object().at("user") == "alice");
  CHECK(stamped.at("source").as_object().at("group") == "staff");
  CHECK(stamped.at("source").as_object().at("exe") == "/usr/bin/app");
  CHECK(stamped.at("source").as_object().at("comm") == "app");
  CHECK(stamped.at("source").as_object().at("unit") == "app.service");
  CHECK(stamped.at("host").as_object().at("hostname") == "db1");
  CHECK(stamped.at("host").as_object().at("machine_id") == "0123456789abcdef0123456789abcdef");
  CHECK(stamped.at("host").as_object().at("boot_id") == "c0ffee00-0000-4000-8000-000000000001");
  CHECK(stamped.at("id").as_string().size() == 36);
  CHECK(stamped.at("id").as_string()[14] == '7');  // UUIDv7
  CHECK_FALSE(result->client_supplied_id);
  CHECK(result->occurred_at.size() == 27);  // 2026-11-26T19:25:30.123456Z
}

TEST_CASE("a client-supplied id is kept, lower-cased, and marks the idempotency key") {
  auto result = check(R"({"action":"a.b","id":"0190B2A4-7C1E-7CC2-8E1D-1234567890AB"})");
  REQUIRE(result.has_value());
  CHECK(result->id == "0190b2a4-7c1e-7cc2-8e1d-1234567890ab");
  CHECK(result->client_supplied_id);
}

TEST_CASE("action format and length") {
  CHECK(is_valid_action("user.login"));
  CHECK(is_valid_action("org.member_2.role_changed"));
  CHECK_FALSE(is_valid_action("login"));
  CHECK_FALSE(is_valid_action("User.login"));
  CHECK_FALSE(is_valid_action("user..login"));
  CHECK_FALSE(is_valid_action("user.login."));
  CHECK_FALSE(is_valid_action("user.1login"));
  CHECK_FALSE(is_valid_action("a." + std::string(254, 'b')));
  CHECK(code_of(R"({"outcome":"success"})") == errc::invalid_event);
  CHECK(detail_of(R"({"outcome":"success"})", errc::invalid_event).find("action") != std::string::npos);
  CHECK(code_of(R"({"action":"nodot"})") == errc::invalid_event);
  CHECK(code_of(R"({"action":42})") == errc::invalid_event);
}

TEST_CASE("field rules name the field") {
  CHECK(detail_of(R"({"action":"a.b","outcome":"maybe"})", errc::invalid_event).find("outcome") != std::string::npos);
  CHECK(detail_of(R"({"action":"a.b","occurred_at":"yesterday"})", errc::invalid_event).find("occurred_at") !=
        std::string::npos);
  CHECK(
      detail_of(R"({"action":"a.b","occurred_at":"2026-02-30T10:00:00Z"})", errc::invalid_event).find("occurred_at") !=
      std::string::npos);
  CHECK(check(R"({"action":"a.b","occurred_at":"2026-02-28T10:00:00.5+02:00"})").has_value());
  CHECK(detail_of(R"({"action":"a.b","id":"nope"})", errc::invalid_event).find("id") != std::string::npos);
  CHECK(detail_of(R"({"action":"a.b","actor_id":"123"})", errc::invalid_event).find("actor_id") != std::string::npos);
  CHECK(check(R"({"action":"a.b","actor_id":null,"target_id":"0190b2a4-7c1e-7cc2-8e1d-1234567890ab"})").has_value());
  CHECK(detail_of(R"({"action":"a.b","ip_address":"300.1.1.1"})", errc::invalid_event).find("ip_address") !=
        std::string::npos);
  CHECK(check(R"({"action":"a.b","ip_address":"2001:db8::1"})").has_value());
  CHECK(check(R"({"action":"a.b","ip_address":"10.0.0.1"})").has_value());
  CHECK(check(R"({"action":"a.b","ip_address":"fe80::1"})").has_value());
  CHECK(detail_of(R"({"action":"a.b","ip_address":"fe80::1%nosuchif0"})", errc::invalid_event).find("ip_address") !=
        std::string::npos);
  CHECK(code_of(R"({"action":"a.b","ip_address":"fe80::1%lo"})") == errc::invalid_event);
  CHECK(code_of(R"({"action":"a.b","ip_address":"fe80::1%1"})") == errc::invalid_event);
  for (const char* time :
       {"2026-11-26T12:34:60Z", "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2026-11-26T19:25:30.1234567890Z"})
    CHECK(detail_of(std::string(R"({"action":"a.b","occurred_at":")") + time + R"("})", errc::invalid_event)
              .find("occurred_at") != std::string::npos);
  CHECK(check(R"({"action":"a.b","occurred_at":"2016-12-31T23:59:60Z"})").has_value());
  CHECK(detail_of(R"({"action":"a.b","actor_type":")" + std::string(65, 'x') + R"("})", errc::invalid_event)
            .find("actor_type") != std::string::npos);
  CHECK(detail_of(R"({"action":"a.b","user_agent":")" + std::string(513, 'x') + R"("})", errc::invalid_event)
            .find("user_agent") != std::string::npos);
  CHECK(check(R"({"action":"a.b","user_agent":")" + std::string(512, 'x') + R"("})").has_value());
  CHECK(detail_of(R"({"action":"a.b","metadata":[1]})", errc::invalid_event).find("metadata") != std::string::npos);
}

TEST_CASE("the sender stamp writes unknown names as null and any bytes as valid JSON") {
  const SenderStamp unknown{SenderIdentity{{7, 8, 9}, "", "", "", "", ""}, HostIdentity{"", "", ""}};
  const auto stamped = boost::json::parse("{\"x\":1" + std::string(unknown.json()) + "}").as_object();
  CHECK(stamped.at("source").as_object().at("uid") == 7);
  for (const char* name : {"user", "group", "exe", "comm", "unit"})
    CHECK(stamped.at("source").as_object().at(name).is_null());
  for (const char* name : {"hostname", "machine_id", "boot_id"})
    CHECK(stamped.at("host").as_object().at(name).is_null());
  CHECK(unknown.credentials().pid == 9);

  // A path is bytes, not UTF-8; a name may hold quotes and controls.
  const SenderStamp odd{SenderIdentity{{0, 0, 1}, "a\"b", "g", "/tmp/\xff\xfe\xc3\xa9x", "t\nab", ""},
                        HostIdentity{"", "", ""}};
  const auto parsed = boost::json::parse("{\"x\":1" + std::string(odd.json()) + "}").as_object();
  CHECK(parsed.at("source").as_object().at("user") == "a\"b");
  CHECK(parsed.at("source").as_object().at("exe") == "/tmp/\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9x");
  CHECK(parsed.at("source").as_object().at("comm") == "t\nab");
}

TEST_CASE("a client cannot supply host either") {
  CHECK(detail_of(R"({"action":"a.b","host":{"hostname":"evil"}})", errc::invalid_event) ==
        "host is set by the daemon and cannot be supplied");
}

TEST_CASE("unknown fields and daemon-owned fields are rejected") {
  CHECK(code_of(R"({"action":"a.b","colour":"red"})") == errc::invalid_event);
  CHECK(detail_of(R"({"action":"a.b","colour":"red"})", errc::invalid_event).find("colour") != std::string::npos);
  CHECK(code_of(R"({"action":"a.b","source":{"uid":0}})") == errc::invalid_event);
  CHECK(detail_of(R"({"action":"a.b","source":{"uid":0}})", errc::invalid_event).find("source") != std::string::npos);
  CHECK(code_of(R"({"action":"a.b","received_at":"2026-01-01T00:00:00Z"})") == errc::invalid_event);
}

TEST_CASE("not JSON, or not an object") {
  CHECK(code_of("not json") == errc::invalid_json);
  CHECK(code_of("[1,2]") == errc::invalid_json);
  CHECK(code_of(R"({"action":"a.b")") == errc::invalid_json);
}

TEST_CASE("forbidden metadata keys at any depth, any case") {
  CHECK(code_of(R"({"action":"a.b","metadata":{"password":"x"}})") == errc::forbidden_key);
  CHECK(code_of(R"({"action":"a.b","metadata":{"deep":{"list":[{"API_KEY":"x"}]}}})") == errc::forbidden_key);
  CHECK(detail_of(R"({"action":"a.b","metadata":{"deep":{"list":[{"API_KEY":"x"}]}}})", errc::forbidden_key) ==
        "metadata.deep.list[0].API_KEY is a secret-bearing key and is not accepted");
  for (const char* key :
       {"password_hash", "password_confirmation", "totp_code", "totp_secret", "backup_code", "session_token",
        "bearer_token", "token", "access_token", "refresh_token", "oauth_secret", "client_secret", "secret"})
    CHECK(is_forbidden_metadata_key(key));
  CHECK_FALSE(is_forbidden_metadata_key("token_count"));
  CHECK(check(R"({"action":"a.b","metadata":{"token_count":3}})").has_value());
}

TEST_CASE("forbidden keys are matched after NFKC case folding, without separators and controls") {
  for (const char* key : {"Authorization", "private_key", "api-key", "apiKey", "passwd", "password ", "password\\u0000",
                          "\\uff50\\uff41\\uff53\\uff53\\uff57\\uff4f\\uff52\\uff44", "\\u017fecret", "credential",
                          "credentials", "cookie", "Set-Cookie"}) {
    const auto line = std::string(R"({"action":"a.b","metadata":{"k":{")") + key + R"(":"x"}}})";
    CHECK_MESSAGE(code_of(line) == errc::forbidden_key, line);
  }
  const ForbiddenKeys extra({"ssn"});
  auto with_extra = validate_event(R"({"action":"a.b","metadata":{"SSN":"x"}})", ValidationLimits{8192, 32, &extra},
                                   peer, now_micros());
  REQUIRE_FALSE(with_extra.has_value());
  CHECK(with_extra.error().code == errc::forbidden_key);
  CHECK(check(R"({"action":"a.b","metadata":{"SSN":"x"}})").has_value());
}

TEST_CASE("metadata size limit is configurable") {
  const std::string big = R"({"action":"a.b","metadata":{"k":")" + std::string(200, 'x') + R"("}})";
  CHECK(check(big, 8192).has_value());
  auto refused = check(big, 100);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == errc::too_large);
  CHECK(refused.error().detail.find("metadata") != std::string::npos);
}

TEST_CASE("an event round-trips through its stored JSON") {
  auto result = check(R"({"action":"a.b","outcome":"failure"})");
  REQUIRE(result.has_value());
  const auto restored = Event::from_json(result->json);
  CHECK(restored.id == result->id);
  CHECK(restored.action == "a.b");
  CHECK(restored.outcome == "failure");
  CHECK(restored.occurred_at == result->occurred_at);
  CHECK_THROWS(Event::from_json("{}"));
}
