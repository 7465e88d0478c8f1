// Fuzzes the ingest path from bytes to stamped events as a session runs it: the
// input is framed by LineSplitter (the default ingest.max_event_bytes) and every
// line goes through validate_event with the default limits and a configured
// ingest.forbidden_keys entry.
//
// Invariants, for every line:
//  - a refusal carries one of the four refusal codes and a non-empty, valid UTF-8
//    detail; a line that Boost.JSON parses as an object is never refused as invalid_json;
//  - the same line refused under the default limits is refused under tighter ones
//    (acceptance is monotonic), and a line accepted under tight limits is accepted
//    under the defaults with the same stamped event;
// and for every accepted line:
//  - the stamped event is one JSON object with DESIGN.md's members in its order;
//    Event's fields (id, action, outcome, occurred_at) are the object's, and
//    Event::from_json rebuilds the same Event from the text;
//  - what the client sent is delivered unchanged: each field (UUIDs lower-cased) and
//    the metadata equal those of the client line as Boost.JSON reads it (doubles
//    within a few ulps: see same_json);
//  - the stamped event less received_at, source and host, sent again as a client
//    line, is accepted and stamped to the very same text (a fixed point), with the
//    same idempotency digest when the client gave an id and occurred_at.
#include "common/uuid.hpp"
#include "event/event.hpp"
#include "event/event_reader.hpp"
#include "event/event_validator.hpp"
#include "fuzz_check.hpp"
#include "ingest/line_splitter.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

using namespace auditfwd;
namespace json = boost::json;

namespace {

const SenderStamp& stamp() {
  static const SenderStamp value{
      SenderIdentity{{1000, 1000, 4242}, "alice", "staff", "/usr/bin/app", "app", "app.service"},
      HostIdentity{"db1", "0123456789abcdef0123456789abcdef", "c0ffee00-0000-4000-8000-000000000001"}};
  return value;
}

const ForbiddenKeys& forbidden_keys() {
  static const ForbiddenKeys value{{"x-internal-token", "Session_ID"}};
  return value;
}

constexpr std::array<std::string_view, 16> stamped_members = {
    "id",         "action",     "outcome",     "occurred_at",     "actor_id",
    "actor_type", "target_id",  "target_type", "organization_id", "effective_user_id",
    "ip_address", "user_agent", "metadata",    "received_at",     "source",
    "host"};

const sys_micros received_at{std::chrono::microseconds{1'780'000'000'123'456}};

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The stamped event without its id (a new UUIDv7 each time unless the client gave one).
std::string_view after_id(const std::string& stamped) {
  constexpr std::size_t id_end = sizeof R"({"id":"01234567-89ab-cdef-0123-456789abcdef")" - 1;
  return std::string_view(stamped).substr(id_end);
}

// JSON equality, except that two doubles may differ in their last bits: Boost.JSON 1.81
// reads the same number text to neighbouring doubles depending on where it sits in
// the input ("1844.74407370955376", fuzz/corpus/event/boost-json-imprecise-double).
// The daemon never converts numbers (it forwards their text), so only the reading
// differs, not what is delivered; the fixed-point check below compares the text.
// It even reads a zero with a huge exponent ("0.0e551610") as NaN, on both sides.
bool same_json(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double(), y = b.get_double();
    const double larger = std::max(std::fabs(x), std::fabs(y));
    return x == y || (std::isnan(x) && std::isnan(y)) || std::fabs(x - y) <= 1e-12 * larger || larger < 1e-300;
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &left = a.get_array(), &right = b.get_array();
    if (left.size() != right.size()) return false;
    for (std::size_t i = 0; i < left.size(); ++i)
      if (!same_json(left[i], right[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto &left = a.get_object(), &right = b.get_object();
    if (left.size() != right.size()) return false;
    for (const auto& [key, value] : left) {
      const auto* other = right.if_contains(key);
      if (!other || !same_json(value, *other)) return false;
    }
    return true;
  }
  return a == b;
}

void check_refusal(const Rejection& rejection) {
  FUZZ_CHECK(rejection.code == errc::invalid_json || rejection.code == errc::invalid_event ||
             rejection.code == errc::too_large || rejection.code == errc::forbidden_key);
  FUZZ_CHECK(!rejection.detail.empty());
  FUZZ_CHECK(fuzz::is_valid_utf8(rejection.detail));
}

void check_accepted(std::string_view line, const Event& event, const ValidationLimits& limits) {
  // One JSON object, DESIGN.md's members in order.
  json::error_code ec;
  const json::value stamped = json::parse(event.json, ec);
  FUZZ_CHECK(!ec && stamped.is_object());
  const auto& object = stamped.get_object();
  FUZZ_CHECK(object.size() == stamped_members.size());
  std::size_t index = 0;
  for (const auto& member : object) FUZZ_CHECK(member.key() == stamped_members[index++]);
  FUZZ_CHECK(object.at("id").as_string() == event.id);
  FUZZ_CHECK(object.at("action").as_string() == event.action);
  FUZZ_CHECK(object.at("outcome").as_string() == event.outcome);
  FUZZ_CHECK(object.at("occurred_at").as_string() == event.occurred_at);
  FUZZ_CHECK(is_valid_action(event.action));
  FUZZ_CHECK(event.outcome == "success" || event.outcome == "failure" || event.outcome == "error");
  FUZZ_CHECK(event.id == lower(event.id));

  const Event rebuilt = Event::from_json(event.json);
  FUZZ_CHECK(rebuilt.id == event.id && rebuilt.action == event.action && rebuilt.outcome == event.outcome &&
             rebuilt.occurred_at == event.occurred_at && rebuilt.json == event.json);

  // What the client sent, as a plain JSON parser reads it, is what is delivered.
  json::parse_options deep;
  deep.max_depth = 4096;
  const json::value client = json::parse(line, ec, {}, deep);
  FUZZ_CHECK(!ec && client.is_object());
  const auto& sent = client.get_object();
  for (std::size_t i = 0; i < event_field_count; ++i) {
    const auto field = static_cast<EventField>(i);
    const auto name = event_field_name(field);
    const auto* given = sent.if_contains(name);
    const auto& delivered = object.at(name);
    if (!given || given->is_null()) {
      if (field == EventField::actor_type)
        FUZZ_CHECK(delivered == "user");
      else if (field == EventField::outcome)
        FUZZ_CHECK(delivered == "success");
      else if (field == EventField::metadata)
        FUZZ_CHECK(delivered.is_object() && delivered.get_object().empty());
      else if (field == EventField::occurred_at)
        FUZZ_CHECK(delivered == json::string(format_rfc3339(received_at)));
      else if (field == EventField::id)
        FUZZ_CHECK(delivered.is_string() && is_uuid(delivered.get_string()));
      else
        FUZZ_CHECK(delivered.is_null());
    } else if (field == EventField::id || field == EventField::actor_id || field == EventField::target_id ||
               field == EventField::organization_id || field == EventField::effective_user_id) {
      FUZZ_CHECK(given->is_string() && delivered == json::string(lower(given->get_string())));
    } else {
      FUZZ_CHECK(same_json(*given, delivered));
    }
  }

  // A fixed point: the event as a client line again (less what the daemon adds).
  const auto stamped_part = event.json.rfind(",\"received_at\":\"");
  FUZZ_CHECK(stamped_part != std::string::npos);
  const std::string again = event.json.substr(0, stamped_part) + "}";
  auto reread = validate_event(again, limits, stamp(), received_at);
  FUZZ_CHECK(reread.has_value());
  FUZZ_CHECK(reread->json == event.json);
  FUZZ_CHECK(reread->client_supplied_id);
  const auto* occurred = sent.if_contains("occurred_at");
  if (event.client_supplied_id && occurred && !occurred->is_null())
    FUZZ_CHECK(reread->content_digest == event.content_digest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  LineSplitter splitter(64 * 1024);  // ingest.max_event_bytes' default
  std::vector<SplitLine> lines;
  splitter.feed(input, lines);
  splitter.finish(lines);

  const ValidationLimits limits{8192, 32, &forbidden_keys()};  // the ingest defaults
  const ValidationLimits tight{64, 3, &forbidden_keys()};
  for (const auto& piece : lines) {
    if (piece.too_long) continue;
    const auto result = validate_event(piece.text, limits, stamp(), received_at);
    const auto tight_result = validate_event(piece.text, tight, stamp(), received_at);
    if (!result) {
      check_refusal(result.error());
      FUZZ_CHECK(!tight_result);
      json::error_code ec;
      json::parse_options deep;
      deep.max_depth = 4096;
      const auto dom = json::parse(piece.text, ec, {}, deep);
      if (!ec && dom.is_object()) FUZZ_CHECK(result.error().code != errc::invalid_json);
      continue;
    }
    check_accepted(piece.text, *result, limits);
    if (tight_result) {
      FUZZ_CHECK(after_id(tight_result->json) == after_id(result->json));
    } else {
      check_refusal(tight_result.error());
    }
  }
  return 0;
}
