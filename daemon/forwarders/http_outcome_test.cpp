// Status classification and Retry-After parsing of the `http` forwarder.
#include "forwarders/http_outcome.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;
using namespace std::chrono_literals;

namespace {
// 1994-11-06T08:49:37Z, the date of RFC 9110's examples.
const auto rfc_date = std::chrono::system_clock::from_time_t(784111777);
}  // namespace

TEST_CASE("Retry-After as delta-seconds") {
  CHECK(parse_retry_after("120", rfc_date) == std::chrono::milliseconds(120s));
  CHECK(parse_retry_after(" 0 ", rfc_date) == std::chrono::milliseconds(0));
  CHECK(parse_retry_after("99999999999999999999999", rfc_date) == std::chrono::milliseconds(24h));  // capped
  CHECK_FALSE(parse_retry_after("", rfc_date));
  CHECK_FALSE(parse_retry_after("-5", rfc_date));
  CHECK_FALSE(parse_retry_after("1.5", rfc_date));
  CHECK_FALSE(parse_retry_after("soon", rfc_date));
}

TEST_CASE("Retry-After as an HTTP-date, in all three forms RFC 9110 requires") {
  const auto now = rfc_date - 30s;
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == std::chrono::milliseconds(30s));
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == std::chrono::milliseconds(30s));
  CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", now) == std::chrono::milliseconds(30s));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", rfc_date + 1h) == std::chrono::milliseconds(0));  // past
  CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", now));
}

TEST_CASE("2xx is ok; 408, 429 and 5xx are retried; other statuses are permanent") {
  const auto now = rfc_date;
  CHECK(classify_response(200, "OK", "", {}, now).ok());
  CHECK(classify_response(204, "No Content", "", {}, now).ok());
  for (unsigned status : {408u, 429u, 500u, 502u, 503u, 599u})
    CHECK(classify_response(status, "x", "", {}, now).kind == DeliveryOutcome::Kind::retry);
  for (unsigned status : {301u, 302u, 400u, 401u, 403u, 404u, 409u, 413u, 422u})
    CHECK(classify_response(status, "x", "", {}, now).kind == DeliveryOutcome::Kind::permanent);
}

TEST_CASE("a retried response carries Retry-After; a permanent one the status and the body start") {
  const auto busy = classify_response(503, "Service Unavailable", "busy", std::string_view("7"), rfc_date);
  CHECK(busy.kind == DeliveryOutcome::Kind::retry);
  REQUIRE(busy.retry_after);
  CHECK(*busy.retry_after == std::chrono::milliseconds(7s));
  CHECK(busy.reason == "HTTP 503 Service Unavailable: busy");
  CHECK_FALSE(classify_response(503, "Service Unavailable", "", std::string_view("later"), rfc_date).retry_after);

  const auto bad = classify_response(400, "Bad Request", "{\"error\":\"missing field\"}\n", {}, rfc_date);
  CHECK(bad.kind == DeliveryOutcome::Kind::permanent);
  CHECK(bad.reason == R"(HTTP 400 Bad Request: {"error":"missing field"})");

  const auto long_body = classify_response(422, "Unprocessable Entity", std::string(1000, 'x'), {}, rfc_date);
  CHECK(long_body.reason == "HTTP 422 Unprocessable Entity: " + std::string(200, 'x'));
}

TEST_CASE("a secret echoed in the body or the phrase is redacted before the body is cut") {
  const SecretRedactor redactor({"tok-123456"});
  const auto echoed =
      classify_response(401, "Bad tok-123456", R"({"error":"token tok-123456 is not valid"})", {}, rfc_date, redactor);
  CHECK(echoed.kind == DeliveryOutcome::Kind::permanent);
  CHECK(echoed.reason == R"(HTTP 401 Bad [REDACTED]: {"error":"token [REDACTED] is not valid"})");
  // The secret across the 200-byte cut: no start of it survives.
  const auto cut = classify_response(400, "", std::string(195, 'x') + "tok-123456", {}, rfc_date, redactor);
  CHECK(cut.reason == "HTTP 400: " + std::string(195, 'x') + "[REDA");
  CHECK(cut.reason.find("tok") == std::string::npos);
}
