// An audit event as the daemon hands it to forwarders: validated, stamped, serialized once.
#pragma once

#include <sys/types.h>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace auditfwd {

// Who sent an event, as the kernel reports the peer of the Unix socket (SO_PEERCRED).
struct PeerCredentials {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

// The sending process beyond SO_PEERCRED, read from the system (never from what
// the client writes) once per connection. An empty string is unknown: null.
struct SenderIdentity {
  PeerCredentials credentials;
  std::string user;   // the uid's name (passwd)
  std::string group;  // the gid's name (group)
  std::string exe;    // the executable's path when the connection was accepted (/proc/PID/exe)
  std::string comm;   // the process name (/proc/PID/comm)
  std::string unit;   // its systemd unit (/proc/PID/cgroup)
};

// The machine that received the event, read once at start. Empty: unknown (null).
struct HostIdentity {
  std::string hostname;
  std::string machine_id;  // /etc/machine-id
  std::string boot_id;     // /proc/sys/kernel/random/boot_id
};

// A connection's sender and host serialized once: the `source` and `host`
// members validate_event appends to each event of the connection, so stamping
// costs an append per event. Names that are not valid UTF-8 (a path is any
// bytes) are written with U+FFFD in place of each invalid byte.
class SenderStamp {
 public:
  SenderStamp() : SenderStamp(SenderIdentity{}, HostIdentity{}) {}
  SenderStamp(const SenderIdentity& sender, const HostIdentity& host);

  const PeerCredentials& credentials() const noexcept { return credentials_; }
  // `,"source":{…},"host":{…}`: members to append after received_at.
  std::string_view json() const noexcept { return json_; }

 private:
  PeerCredentials credentials_;
  std::string json_;
};

// A digest of what the client sent (the stamped event less received_at,
// source and a defaulted occurred_at): the same id must come with the same content.
using ContentDigest = std::array<unsigned char, 16>;

// The fields forwarders need to route and format an event, plus the stamped
// event serialized once as JSON (`json`), which is what every forwarder sends
// and what the job store persists.
struct Event {
  std::string id;  // lower-case UUID; the receivers' idempotency key
  bool client_supplied_id = false;
  uid_t sender_uid = 0;            // the idempotency key's scope
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
