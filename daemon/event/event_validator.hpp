// The event rules of DESIGN.md: one client line in, a stamped Event or a rejection out.
#pragma once

#include "common/error.hpp"
#include "common/time_format.hpp"
#include "event/event.hpp"
#include "event/forbidden_keys.hpp"

#include <boost/system/result.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace auditfwd {

struct ValidationLimits {
  std::size_t max_metadata_bytes = 8192;
  std::size_t max_nesting_depth = 32;             // levels of the whole line; the event object is level 1
  const ForbiddenKeys* forbidden_keys = nullptr;  // null: DESIGN.md's list only (ForbiddenKeys::defaults())
};

// Why a line was refused: the wire error code and a detail naming the field.
struct Rejection {
  errc code;
  std::string detail;
};

// Parses and validates one NDJSON line (without its newline). On success the
// event carries its id (assigned UUIDv7 when absent), defaults, `received_at`,
// and `source` and `host` as `sender` holds them (its connection's, resolved
// from the kernel and the system); a client can set none of these.
boost::system::result<Event, Rejection> validate_event(std::string_view line, const ValidationLimits& limits,
                                                       const SenderStamp& sender, sys_micros received_at);

// True for keys DESIGN.md's list forbids anywhere in metadata (compared after
// normalize_key: NFKC case folding, without '-', '_', spaces and controls).
bool is_forbidden_metadata_key(std::string_view key);

// True for `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`.
bool is_valid_action(std::string_view action) noexcept;

}  // namespace auditfwd

namespace auditfwd {
// Lets result<Event, Rejection>::value() throw when misused.
[[noreturn]] void throw_exception_from_error(const Rejection& rejection, const boost::source_location& location);
}  // namespace auditfwd
