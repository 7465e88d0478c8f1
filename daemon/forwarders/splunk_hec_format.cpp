// HEC envelopes, the stable default channel and the meaning of HEC replies: pure functions, unit-tested.
#include "forwarders/splunk_hec_format.hpp"

#include "common/printable_text.hpp"
#include "forwarders/event_fields.hpp"
#include "forwarders/http_outcome.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace auditfwd {
namespace {

std::string quoted(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

enum class HecClass { ok, retry, permanent };

HecClass class_of_code(std::int64_t code) {
  switch (code) {
    case 0:
    case 17:  // "HEC is healthy"
      return HecClass::ok;
    case 5:
    case 6:
    case 7:
    case 12:
    case 13:
    case 15: return HecClass::permanent;
    default:  // 1–4 token, 8 internal, 9 busy, 10/11 channel, 14 ack disabled, 16, 18+ unhealthy
      return HecClass::retry;
  }
}

}  // namespace

std::string hec_time(std::int64_t nanos) {
  auto text = std::to_string(nanos / 1'000'000'000);
  auto fraction = fmt::format("{:09d}", nanos % 1'000'000'000);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  if (!fraction.empty()) text += "." + fraction;
  return text;
}

std::string hec_event(const Event& event, const HecEnvelope& envelope) {
  std::string out = "{";
  if (const auto nanos = rfc3339_to_unix_nanos(event.occurred_at)) out += "\"time\":" + hec_time(*nanos) + ",";
  if (const auto host = event_hostname(event); !host.empty()) out += "\"host\":" + quoted(host) + ",";
  out += "\"source\":" + quoted(envelope.source) + ",\"sourcetype\":" + quoted(envelope.sourcetype) + ",";
  if (envelope.index) out += "\"index\":" + quoted(*envelope.index) + ",";
  out += "\"event\":" + event.json + "}";
  return out;
}

std::string hec_batch(std::span<const Event> events, const HecEnvelope& envelope) {
  std::string out;
  for (const auto& event : events) {
    out += hec_event(event, envelope);
    out += '\n';
  }
  return out;
}

std::string hec_default_channel(std::string_view machine_id, std::string_view forwarder_id) {
  const std::string input = fmt::format("auditfwd splunk_hec channel\n{}\n{}", machine_id, forwarder_id);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8: custom
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // variant 10
  std::string hex;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", digest[i]);
  }
  return hex;
}

HecReply classify_hec_reply(std::size_t events, unsigned status, std::string_view phrase, std::string_view body,
                            std::optional<std::string_view> retry_after, std::chrono::system_clock::time_point now,
                            const SecretRedactor& redactor) {
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(body, ec);
  const boost::json::object* reply = !ec && parsed.is_object() ? &parsed.as_object() : nullptr;
  std::optional<std::int64_t> code;
  if (reply)
    if (const auto* value = reply->if_contains("code"); value && value->is_int64()) code = value->as_int64();

  if (!code) {  // not HEC's JSON (a proxy, a load balancer): the HTTP status decides
    auto outcome = classify_response(status, phrase, body, retry_after, now, redactor);
    return {same_outcome(events, outcome), std::nullopt};
  }
  const auto kind = class_of_code(*code);
  if (kind == HecClass::ok && status >= 200 && status < 300) {
    HecReply result{same_outcome(events, DeliveryOutcome::success()), std::nullopt};
    if (const auto* ack = reply->if_contains("ackId"); ack && ack->is_int64() && ack->as_int64() >= 0)
      result.ack_id = static_cast<std::uint64_t>(ack->as_int64());
    return result;
  }

  std::string text;
  if (const auto* value = reply->if_contains("text"); value && value->is_string()) text = value->get_string();
  const auto reason =
      fmt::format("HEC code {} (HTTP {}): {}", *code, status, printable_prefix(redactor.redact(text), 200));
  std::optional<std::chrono::milliseconds> after;
  if (retry_after) after = parse_retry_after(*retry_after, now);
  if (kind != HecClass::permanent) return {same_outcome(events, DeliveryOutcome::retry(reason, after)), std::nullopt};

  std::optional<std::int64_t> invalid;
  if (const auto* value = reply->if_contains("invalid-event-number"); value && value->is_int64())
    invalid = value->as_int64();
  if (!invalid || *invalid < 0 || static_cast<std::uint64_t>(*invalid) >= events)
    return {same_outcome(events, DeliveryOutcome::permanent(reason)), std::nullopt};
  HecReply result{
      same_outcome(events, DeliveryOutcome::retry("resent: another event of its batch was refused (" + reason + ")")),
      std::nullopt};
  result.outcomes[static_cast<std::size_t>(*invalid)] = DeliveryOutcome::permanent(reason);
  return result;
}

std::string hec_ack_request(std::uint64_t ack_id) { return fmt::format(R"({{"acks":[{}]}})", ack_id); }

std::optional<bool> hec_ack_confirmed(std::string_view body, std::uint64_t ack_id) {
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto* acks = parsed.as_object().if_contains("acks");
  if (!acks || !acks->is_object()) return std::nullopt;
  const auto* value = acks->as_object().if_contains(std::to_string(ack_id));
  if (!value || !value->is_bool()) return std::nullopt;
  return value->as_bool();
}

}  // namespace auditfwd
