// Fields of a stamped event that destinations index on: its time and its host, read from the stored JSON.
#pragma once

#include "event/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace auditfwd {

// Nanoseconds since the Unix epoch (UTC) of an RFC 3339 timestamp as the
// validator accepts it (offset Z or ±hh:mm, up to nine fraction digits; a
// leap second :60 counts as the first instant of the next minute). Empty when
// `text` is not such a timestamp.
std::optional<std::int64_t> rfc3339_to_unix_nanos(std::string_view text);

// The `host.hostname` the daemon stamped on the event; empty when it is null or absent.
std::string event_hostname(const Event& event);

}  // namespace auditfwd
