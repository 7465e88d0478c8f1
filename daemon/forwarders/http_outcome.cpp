// Status classes and Retry-After for the `http` forwarder: pure functions, unit-tested.
#include "forwarders/http_outcome.hpp"

#include "common/printable_text.hpp"

#include <fmt/format.h>
#include <charconv>
#include <ctime>

namespace auditfwd {
namespace {

constexpr std::chrono::hours max_retry_after{24};

std::string_view trim(std::string_view text) {
  constexpr std::string_view space = " \t\r\n";
  while (!text.empty() && space.find(text.front()) != std::string_view::npos) text.remove_prefix(1);
  while (!text.empty() && space.find(text.back()) != std::string_view::npos) text.remove_suffix(1);
  return text;
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
  // RFC 9110 §5.6.7: IMF-fixdate, and recipients must also accept RFC 850 and asctime.
  static constexpr const char* formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                            "%a %b %e %H:%M:%S %Y"};
  const std::string copy(text);
  for (const char* format : formats) {
    std::tm tm{};
    const char* end = ::strptime(copy.c_str(), format, &tm);
    if (end && *end == '\0') return ::timegm(&tm);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    std::uint64_t seconds = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range) return max_retry_after;
    if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
    if (seconds > static_cast<std::uint64_t>(std::chrono::seconds(max_retry_after).count())) return max_retry_after;
    return std::chrono::seconds{seconds};
  }
  const auto date = parse_http_date(value);
  if (!date) return std::nullopt;
  const auto delay =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::from_time_t(*date) - now);
  if (delay.count() < 0) return std::chrono::milliseconds{0};
  return std::min<std::chrono::milliseconds>(delay, max_retry_after);
}

DeliveryOutcome classify_response(unsigned status, std::string_view phrase, std::string_view body,
                                  std::optional<std::string_view> retry_after,
                                  std::chrono::system_clock::time_point now, const SecretRedactor& redactor) {
  if (status >= 200 && status < 300) return DeliveryOutcome::success();
  auto reason = fmt::format("HTTP {}", status);
  if (!phrase.empty()) reason += " " + printable_prefix(redactor.redact(phrase), 64);
  // Redacted whole, then cut: a cut first could keep the start of a secret.
  const auto snippet = printable_prefix(redactor.redact(trim(body)), 200);
  if (!snippet.empty()) reason += ": " + snippet;
  if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
    std::optional<std::chrono::milliseconds> after;
    if (retry_after) after = parse_retry_after(*retry_after, now);
    return DeliveryOutcome::retry(std::move(reason), after);
  }
  return DeliveryOutcome::permanent(std::move(reason));
}

}  // namespace auditfwd
