// RFC 3339 timestamps. Hand-written: libstdc++ 12 has no std::chrono::parse.
#include "common/time_format.hpp"

#include <fmt/format.h>
#include <cctype>

namespace auditfwd {

sys_micros now_micros() noexcept {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::string format_rfc3339(sys_micros t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> tod{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), tod.hours().count(),
                     tod.minutes().count(), tod.seconds().count(), tod.subseconds().count());
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t count, int& out) noexcept {
  if (pos + count > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

bool is_rfc3339(std::string_view s) noexcept {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day))
    return false;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  if (!digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second))
    return false;
  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                           std::chrono::day{static_cast<unsigned>(day)}};
  if (year < min_rfc3339_year || !ymd.ok() || hour > 23 || minute > 59 || second > 60) return false;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start || pos - start > max_fraction_digits) return false;
  }
  if (pos >= s.size()) return false;
  int offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    if (pos + 1 != s.size()) return false;
  } else {
    int off_h, off_m;
    if ((s[pos] != '+' && s[pos] != '-') || pos + 6 != s.size() || !digits(s, pos + 1, 2, off_h) || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, off_m) || off_h > 23 || off_m > 59)
      return false;
    offset_minutes = (s[pos] == '-' ? -1 : 1) * (off_h * 60 + off_m);
  }
  // A leap second is inserted at the end of a UTC day: 23:59:60 once the offset is applied.
  constexpr int minutes_per_day = 24 * 60;
  const int utc_minute = ((hour * 60 + minute - offset_minutes) % minutes_per_day + minutes_per_day) % minutes_per_day;
  return second < 60 || utc_minute == 23 * 60 + 59;
}

std::int64_t to_unix_millis(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::int64_t unix_millis_now() noexcept { return to_unix_millis(std::chrono::system_clock::now()); }

}  // namespace auditfwd
