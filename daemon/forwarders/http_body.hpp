// Request bodies of the `http` forwarder: the batch formats and gzip.
#pragma once

#include "event/event.hpp"
#include "forwarders/http_config.hpp"

#include <span>
#include <string>
#include <string_view>

namespace auditfwd {

// "json": the single event's JSON (callers pass one event); "ndjson": one event
// per line, each ending in '\n'; "json_array": "[e1,e2,…]".
std::string build_body(HttpBodyFormat format, std::span<const Event> events);

// `data` as a gzip member (RFC 1952), default compression level.
// Throws std::runtime_error only when zlib cannot allocate.
std::string gzip_compress(std::string_view data);

}  // namespace auditfwd
