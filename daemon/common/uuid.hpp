// Event identifiers: UUIDv7 generation and UUID validation.
#pragma once

#include <string>
#include <string_view>

namespace auditfwd {

// A new RFC 9562 UUIDv7 (48-bit Unix milliseconds, then randomness), lower-case,
// so ids sort by time of receipt. Thread-safe.
std::string new_uuid_v7();

// True for the canonical 8-4-4-4-12 hexadecimal form, any version, either case.
bool is_uuid(std::string_view text) noexcept;

}  // namespace auditfwd
