// _bulk bodies and per-item outcomes for the `elasticsearch` forwarder: pure functions, unit-tested.
#include "forwarders/elasticsearch_bulk.hpp"

#include "common/printable_text.hpp"
#include "forwarders/event_fields.hpp"
#include "forwarders/http_outcome.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cctype>

namespace auditfwd {
namespace {

std::string quoted(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

std::string index_of(const Event& event, const BulkTarget& target) {
  if (target.data_stream) return *target.data_stream;
  return expand_index_pattern(target.index_pattern, rfc3339_to_unix_nanos(event.occurred_at).value_or(0));
}

std::string_view string_member(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value && value->is_string() ? std::string_view(value->get_string()) : std::string_view();
}

}  // namespace

std::string index_pattern_problem(std::string_view pattern) {
  if (pattern.empty()) return "must not be empty";
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    if (i + 1 == pattern.size()) return "ends in a lone %";
    if (std::string_view("YmdH%").find(pattern[i + 1]) == std::string_view::npos)
      return fmt::format("%{} is not a supported conversion (use %Y, %m, %d, %H or %%)", pattern[i + 1]);
    ++i;
  }
  const auto sample = expand_index_pattern(pattern, 0);
  if (sample.size() > 255) return "makes an index name longer than 255 bytes";
  if (sample == "." || sample == "..") return "is not a valid index name";
  if (std::string_view("-_+").find(sample.front()) != std::string_view::npos) return "must not start with -, _ or +";
  for (const char c : sample) {
    if (std::isupper(static_cast<unsigned char>(c))) return "must be lower case";
    if (std::string_view("\\/*?\"<>|,#: ").find(c) != std::string_view::npos || static_cast<unsigned char>(c) < 0x20)
      return fmt::format("must not contain '{}'", c);
  }
  return {};
}

std::string expand_index_pattern(std::string_view pattern, std::int64_t unix_nanos) {
  using namespace std::chrono;
  const sys_seconds at{seconds{unix_nanos / 1'000'000'000}};
  const auto midnight = floor<days>(at);
  const year_month_day date{midnight};
  const auto hour = duration_cast<hours>(at - midnight).count();
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    switch (pattern[++i]) {
      case 'Y': out += fmt::format("{:04d}", static_cast<int>(date.year())); break;
      case 'm': out += fmt::format("{:02d}", static_cast<unsigned>(date.month())); break;
      case 'd': out += fmt::format("{:02d}", static_cast<unsigned>(date.day())); break;
      case 'H': out += fmt::format("{:02d}", hour); break;
      case '%': out += '%'; break;
      default: out += '%'; out += pattern[i];
    }
  }
  return out;
}

std::string bulk_body(std::span<const Event> events, const BulkTarget& target) {
  std::string out;
  for (const auto& event : events) {
    out += R"({"create":{"_index":)" + quoted(index_of(event, target)) + R"(,"_id":)" + quoted(event.id) + "}}\n";
    if (target.data_stream && event.json.size() > 1)  // a data stream needs @timestamp
      out += R"({"@timestamp":)" + quoted(event.occurred_at) + "," + event.json.substr(1);
    else
      out += event.json;
    out += '\n';
  }
  return out;
}

BatchOutcome classify_bulk_response(std::span<const Event> events, unsigned status, std::string_view phrase,
                                    std::string_view body, std::optional<std::string_view> retry_after,
                                    std::chrono::system_clock::time_point now, const SecretRedactor& redactor) {
  if (status < 200 || status >= 300)
    return same_outcome(events.size(), classify_response(status, phrase, body, retry_after, now, redactor));

  const auto unreadable = [&](std::string_view why) {
    return same_outcome(events.size(), DeliveryOutcome::retry(fmt::format("unexpected _bulk answer: {}", why)));
  };
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object()) return unreadable("not a JSON object");
  const auto* items = parsed.as_object().if_contains("items");
  if (!items || !items->is_array()) return unreadable("no items");
  const auto& list = items->as_array();
  if (list.size() != events.size())
    return unreadable(fmt::format("{} items for {} events", list.size(), events.size()));

  std::optional<std::chrono::milliseconds> after;
  if (retry_after) after = parse_retry_after(*retry_after, now);
  BatchOutcome outcomes;
  outcomes.reserve(events.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object() || list[i].as_object().empty() || !list[i].as_object().begin()->value().is_object())
      return unreadable(fmt::format("item {} is not an action result", i));
    const auto& item = list[i].as_object().begin()->value().as_object();
    if (const auto id = string_member(item, "_id"); !id.empty() && id != events[i].id)
      return unreadable(fmt::format("item {} answers for another _id", i));
    const auto* status_value = item.if_contains("status");
    if (!status_value || !status_value->is_int64()) return unreadable(fmt::format("item {} has no status", i));
    const auto item_status = status_value->as_int64();
    std::string_view error_type, error_reason;
    if (const auto* error = item.if_contains("error"); error && error->is_object()) {
      error_type = string_member(error->as_object(), "type");
      error_reason = string_member(error->as_object(), "reason");
    }
    if ((item_status >= 200 && item_status < 300) ||
        (item_status == 409 && error_type == "version_conflict_engine_exception")) {
      outcomes.push_back(DeliveryOutcome::success());
      continue;
    }
    auto reason = fmt::format("bulk item HTTP {}: {}", item_status, printable_prefix(redactor.redact(error_type), 100));
    if (!error_reason.empty()) reason += ": " + printable_prefix(redactor.redact(error_reason), 200);
    if (item_status == 429 || item_status == 408 || item_status >= 500)
      outcomes.push_back(DeliveryOutcome::retry(std::move(reason), after));
    else
      outcomes.push_back(DeliveryOutcome::permanent(std::move(reason)));
  }
  return outcomes;
}

}  // namespace auditfwd
