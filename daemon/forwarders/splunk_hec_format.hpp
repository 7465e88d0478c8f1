// The Splunk HTTP Event Collector protocol, pure: event envelopes, the default channel, and what its
// replies (event and ack endpoints) mean for a delivery.
#pragma once

#include "event/event.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/secret_redactor.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace auditfwd {

// Where every event of a forwarder goes: the envelope keys besides time, host and event.
struct HecEnvelope {
  std::string source;
  std::string sourcetype;
  std::optional<std::string> index;  // none: the token's default index
};

// Epoch seconds with the fraction that `nanos` has, trailing zeros dropped: "1764444330.1234".
std::string hec_time(std::int64_t nanos);

// One event as HEC wants it: {"time":…,"host":…,"source":…,"sourcetype":…,"index":…,"event":<the stamped event>}.
// "host" is the event's host.hostname (left out when unknown), "index" only when configured.
std::string hec_event(const Event& event, const HecEnvelope& envelope);

// A batch: the envelopes concatenated, one per line (HEC reads a stream of JSON objects).
std::string hec_batch(std::span<const Event> events, const HecEnvelope& envelope);

// The default X-Splunk-Request-Channel: a UUID (RFC 9562 version 8) from
// SHA-256 of the machine id and the forwarder id, so it stays the same across
// restarts and reloads of one forwarder on one machine and differs between them.
std::string hec_default_channel(std::string_view machine_id, std::string_view forwarder_id);

// What an answer of the event endpoint means for a batch of `events` events:
//  - 2xx with code 0 (or no code): every event ok; `ack_id` when indexer acknowledgement is on;
//  - codes 1–4 (token disabled, required, invalid authorization, invalid token): retry (an
//    operator fixes the token and nothing is lost; max_attempts still ends it);
//  - 8 (internal error), 9 (server busy), 18–19 (unhealthy) and HTTP 408/429/5xx: retry,
//    after Retry-After when given;
//  - 10/11 (channel missing/invalid), 14 (ack disabled): retry (configuration, fixable);
//  - 5, 6, 7, 12, 13, 15 (no data, invalid data format, incorrect index, event field required or
//    blank, indexed fields): permanent. With "invalid-event-number" N, only event N is
//    permanent and the others are retried (HEC may have indexed those before N: a retry can
//    repeat them, never lose them).
// Reasons read "HEC code <n> (HTTP <status>): <text>", redacted by `redactor`.
struct HecReply {
  BatchOutcome outcomes;
  std::optional<std::uint64_t> ack_id;
};
HecReply classify_hec_reply(std::size_t events, unsigned status, std::string_view phrase, std::string_view body,
                            std::optional<std::string_view> retry_after, std::chrono::system_clock::time_point now,
                            const SecretRedactor& redactor);

// The request body polling one ack id: {"acks":[id]}.
std::string hec_ack_request(std::uint64_t ack_id);

// The ack endpoint's answer {"acks":{"<id>":true|false}}: whether `ack_id` is
// confirmed; empty when the body says nothing about it.
std::optional<bool> hec_ack_confirmed(std::string_view body, std::uint64_t ack_id);

}  // namespace auditfwd
