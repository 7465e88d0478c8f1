// The exec forwarder's reply protocol: one JSON line per event from the child.
#pragma once

#include <string>
#include <string_view>

namespace auditfwd {

// What one reply line says about its event.
struct ExecReply {
  enum class Kind { ok, retry, permanent, malformed };
  Kind kind = Kind::ok;
  std::string error;  // the child's "error" text, or why the line is malformed
};

// Parses `{"ok":true}` or `{"ok":false,"retry":true|false,"error":"…"}`
// (trailing '\r' or '\n' ignored). A refusal without "retry" is retried: only
// an explicit "retry":false cancels a job. Anything else is malformed.
ExecReply parse_exec_reply(std::string_view line);

}  // namespace auditfwd
