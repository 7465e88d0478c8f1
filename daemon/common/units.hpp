// Durations ("10s", "5m", 2.5) and byte sizes ("64KiB", 1048576) as config values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace auditfwd {

// "250ms", "10s", "5m", "2h", "7d", or a bare number of seconds as text.
// Empty when the text is not such a duration or is negative.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;

// "512", "64KiB", "10MiB", "2GiB", "1KB" (KB, MB, GB are decimal). Empty when malformed.
std::optional<std::uint64_t> parse_byte_size(std::string_view text) noexcept;

}  // namespace auditfwd
