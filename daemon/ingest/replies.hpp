// Wire protocol v1's reply lines: the one place they are written.
#pragma once

#include "dispatch/chunk_outcome.hpp"
#include "event/event_validator.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// Appends reply lines ('\n'-terminated) to a caller's buffer, so a chunk's
// replies take one string and no allocation per line in the common cases.
//   refused:   {"ok":false,"error":"<code>","detail":"<text>"}
//   duplicate: {"ok":true,"id":"<id>","duplicate":true}
//   accepted:  {"ok":true,"id":"<id>","results":{"<forwarder>":{"status":"ok"|"enqueued","job":N},…}}
//   not taken: {"ok":false,"error":"unavailable","detail":"<which and why>","id":"<id>","results":{…}}
// where a forwarder that did not take the event reads {"status":"error","error":"<code>","reason":"<text>"}.
class ReplyBuilder {
 public:
  // One line per line of the chunk, in order; its results keyed by the ids of
  // the forwarders the chunk was dispatched to.
  void append_chunk(std::string& out, const ChunkOutcome& chunk) const;

  static void append_rejection(std::string& out, const Rejection& rejection);
  static void append_duplicate(std::string& out, std::string_view id);

 private:
  static void append_results(std::string& out, const ChunkOutcome& chunk, std::size_t line);
  static void append_not_taken(std::string& out, const ChunkOutcome& chunk, std::size_t line);
};

}  // namespace auditfwd
