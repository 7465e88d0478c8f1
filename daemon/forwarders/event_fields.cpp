// Reading a stamped event's time and host for destinations that index on them.
#include "forwarders/event_fields.hpp"

#include "common/time_format.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>

namespace auditfwd {
namespace {

int digits(std::string_view text, std::size_t at, std::size_t count) {
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) value = value * 10 + (text[i] - '0');
  return value;
}

}  // namespace

std::optional<std::int64_t> rfc3339_to_unix_nanos(std::string_view text) {
  if (!is_rfc3339(text)) return std::nullopt;  // from here on, every position below holds digits
  using namespace std::chrono;
  const year_month_day date{year{digits(text, 0, 4)}, month{static_cast<unsigned>(digits(text, 5, 2))},
                            day{static_cast<unsigned>(digits(text, 8, 2))}};
  std::int64_t seconds = static_cast<std::int64_t>(sys_days(date).time_since_epoch().count()) * 86'400 +
                         digits(text, 11, 2) * 3'600 + digits(text, 14, 2) * 60 + digits(text, 17, 2);
  std::size_t at = 19;
  std::int64_t fraction = 0;
  if (text[at] == '.') {
    std::size_t count = 0;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++count)
      fraction = fraction * 10 + (text[at] - '0');
    for (; count < 9; ++count) fraction *= 10;
  }
  if (text[at] == '+' || text[at] == '-') {
    const std::int64_t offset = digits(text, at + 1, 2) * 3'600 + digits(text, at + 4, 2) * 60;
    seconds += text[at] == '+' ? -offset : offset;
  }
  return seconds * 1'000'000'000 + fraction;
}

std::string event_hostname(const Event& event) {
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(event.json, ec);
  if (ec || !parsed.is_object()) return {};
  const auto* host = parsed.as_object().if_contains("host");
  if (!host || !host->is_object()) return {};
  const auto* name = host->as_object().if_contains("hostname");
  if (!name || !name->is_string()) return {};
  return std::string(name->get_string());
}

}  // namespace auditfwd
