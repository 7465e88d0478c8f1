// One pass over a client line: its top-level fields, and its metadata re-serialized with
// every number as the exact text the client sent.
#pragma once

#include "event/event_validator.hpp"

#include <array>
#include <boost/system/result.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace auditfwd {

// The top-level fields a client may send, in DESIGN.md's order.
enum class EventField : unsigned char {
  id,
  action,
  outcome,
  occurred_at,
  actor_id,
  actor_type,
  target_id,
  target_type,
  organization_id,
  effective_user_id,
  ip_address,
  user_agent,
  metadata,
};
inline constexpr std::size_t event_field_count = 13;

// A field's wire name ("actor_id").
std::string_view event_field_name(EventField field) noexcept;

// What a top-level field held. Only a string's value is kept: every field but
// metadata must be a string or null, so any other kind is already an error.
struct ReadField {
  enum class Kind : unsigned char { absent, null, string, number, boolean, object, array } kind = Kind::absent;
  std::string text;  // the unescaped value, for Kind::string
};

struct ReadLimits {
  std::size_t max_metadata_bytes = 8192;
  std::size_t max_depth = 32;                     // nesting of the whole line; the event object is level 1
  const ForbiddenKeys* forbidden_keys = nullptr;  // null: ForbiddenKeys::defaults()
};

struct ReadLine {
  std::array<ReadField, event_field_count> fields;
  // The metadata object as compact JSON, numbers as sent (Kind::object only).
  std::string metadata_json;
  // The first secret-bearing key in metadata (".a.b[2].c"), left for the
  // validator to refuse after the field rules, as DESIGN.md lists them.
  std::optional<std::string> forbidden_key_path;

  const ReadField& operator[](EventField field) const { return fields[static_cast<std::size_t>(field)]; }
};

// Parses one line (without its newline). Refuses with invalid_json what is not
// one JSON object; with invalid_event an unknown, daemon-owned or repeated
// field, a repeated metadata key, nesting beyond limits.max_depth, and a number
// that a 64-bit float cannot hold (1e309, -1e999), naming its path; with
// too_large metadata over limits.max_metadata_bytes. Numbers are never
// converted: what is accepted is delivered digit for digit.
boost::system::result<ReadLine, Rejection> read_event_line(std::string_view line, const ReadLimits& limits);

}  // namespace auditfwd
