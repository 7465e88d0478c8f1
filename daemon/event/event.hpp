// An audit event as the daemon hands it to forwarders: validated, stamped, serialized once.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace auditfwd {

// Who sent an event, as the kernel reports the peer of the Unix socket (SO_PEERCRED).
struct PeerCredentials {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

// A digest of what the client sent (the stamped event less received_at,
// source and a defaulted occurred_at): the same id must come with the same content.
using ContentDigest = std::array<unsigned char, 16>;

// The fields forwarders need to route and format an event, plus the stamped
// event serialized once as JSON (`json`), which is what every forwarder sends
// and what the job store persists.
struct Event {
  std::string id;           // lower-case UUID; the receivers' idempotency key
  bool client_supplied_id = false;
  uid_t sender_uid = 0;          // the idempotency key's scope
  ContentDigest content_digest{};  // set when client_supplied_id
  std::string action;
  std::string outcome;      // success | failure | error
  std::string occurred_at;  // RFC 3339
  std::string json;         // the whole stamped event, one line, no newline

  // Rebuilds an Event from its stored `json` (as written by the validator).
  // Throws std::runtime_error if the text is not such an event.
  static Event from_json(std::string json_text);
};

}  // namespace auditfwd
