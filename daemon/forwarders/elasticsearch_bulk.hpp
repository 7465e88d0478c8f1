// The Elasticsearch/OpenSearch _bulk API, pure: index names from a date pattern, the NDJSON body of
// `create` actions keyed by event id, and the per-item results read back into one outcome per event.
#pragma once

#include "event/event.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/secret_redactor.hpp"

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace auditfwd {

// Why an index pattern is unusable ("%Q is not a supported conversion",
// "must be lower case", …), or empty when it is fine. Conversions: %Y (year),
// %m (month), %d (day), %H (hour), %% (a '%'), all UTC; the result must be a
// valid index name (lower case, none of \ / * ? " < > | , # : or space, not
// starting with - _ +, at most 255 bytes).
std::string index_pattern_problem(std::string_view pattern);

// The index for an event that occurred at `unix_nanos` (UTC).
std::string expand_index_pattern(std::string_view pattern, std::int64_t unix_nanos);

// Where the events of a forwarder go: a dated index per event, or one data stream.
struct BulkTarget {
  std::string index_pattern = "audit-%Y.%m.%d";
  std::optional<std::string> data_stream;  // set: every event goes there, with "@timestamp" = occurred_at
};

// The _bulk body: per event, {"create":{"_index":…,"_id":"<event id>"}} and the
// event's JSON, each line ending in '\n'. A create with the event id as _id is
// what makes a retried event land at most once.
std::string bulk_body(std::span<const Event> events, const BulkTarget& target);

// One outcome per event from the _bulk answer:
//  - a non-2xx answer: every event as the `http` forwarder classifies it;
//  - per item: 2xx ok; 409 version_conflict_engine_exception ok (the id is
//    stored already: an earlier attempt got through); 429, 408 and 5xx retry
//    (after Retry-After when the answer gave one); any other status permanent
//    for that event alone (a mapping or parse error);
//  - an answer that cannot be read item by item (not JSON, a count or _id that
//    does not match the request): every event retried.
// Reasons quote the item's error type and reason, redacted by `redactor`.
BatchOutcome classify_bulk_response(std::span<const Event> events, unsigned status, std::string_view phrase,
                                    std::string_view body, std::optional<std::string_view> retry_after,
                                    std::chrono::system_clock::time_point now, const SecretRedactor& redactor);

}  // namespace auditfwd
