// RFC 3339 timestamps: formatting the daemon's own, validating the client's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace auditfwd {

using sys_micros = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

sys_micros now_micros() noexcept;

// "2026-11-26T19:25:30.123456Z": UTC with microseconds, as DESIGN.md stamps events.
std::string format_rfc3339(sys_micros t);

inline constexpr int min_rfc3339_year = 1970;          // four digits cap the year at 9999
inline constexpr std::size_t max_fraction_digits = 9;  // nanoseconds

// True when `text` is a complete RFC 3339 date-time with a valid calendar date
// (years 1970–9999), time of day and offset (Z or ±hh:mm), at most nine
// fraction digits, and second 60 only where a leap second can be: 23:59:60 UTC
// once the offset is applied.
bool is_rfc3339(std::string_view text) noexcept;

// Milliseconds since the Unix epoch: the store's unit for every timestamp.
std::int64_t to_unix_millis(std::chrono::system_clock::time_point t) noexcept;
std::int64_t unix_millis_now() noexcept;

}  // namespace auditfwd
