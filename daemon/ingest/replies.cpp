// Formatting reply lines without a JSON document per line.
#include "ingest/replies.hpp"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <iterator>

namespace auditfwd {

namespace {
std::string json_quoted(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }
}  // namespace

void ReplyBuilder::append_rejection(std::string& out, const Rejection& rejection) {
  fmt::format_to(std::back_inserter(out), "{{\"ok\":false,\"error\":\"{}\",\"detail\":{}}}\n",
                 error_name(rejection.code), json_quoted(rejection.detail));
}

void ReplyBuilder::append_duplicate(std::string& out, std::string_view id) {
  fmt::format_to(std::back_inserter(out), "{{\"ok\":true,\"id\":\"{}\",\"duplicate\":true}}\n", id);
}

void ReplyBuilder::append_chunk(std::string& out, const ChunkOutcome& chunk) const {
  out.reserve(out.size() + chunk.lines.size() * 128);
  for (std::size_t i = 0; i < chunk.lines.size(); ++i) {
    switch (chunk.verdicts[i]) {
      case Verdict::refused: append_rejection(out, *chunk.rejections[i]); break;
      case Verdict::duplicate: append_duplicate(out, chunk.lines[i]->id); break;
      case Verdict::accepted:
        out += "{\"ok\":true,\"id\":\"";
        out += chunk.lines[i]->id;
        out += '"';
        append_results(out, chunk, i);
        out += "}\n";
        break;
      case Verdict::not_taken:
        append_not_taken(out, chunk, i);
        append_results(out, chunk, i);
        out += "}\n";
        break;
    }
  }
}

void ReplyBuilder::append_not_taken(std::string& out, const ChunkOutcome& chunk, std::size_t line) {
  const auto& ids = chunk.forwarders->ids;
  const std::string_view id = chunk.lines[line]->id;
  std::vector<std::string> failures;
  for (std::size_t s = 0; s < ids.size(); ++s) {
    const auto& r = chunk.results.at(line, s);
    if (r.failed()) failures.push_back(fmt::format("{}: {}", ids[s], r.reason.empty() ? "not dispatched" : r.reason));
  }
  fmt::format_to(std::back_inserter(out), "{{\"ok\":false,\"error\":\"unavailable\",\"detail\":{},\"id\":\"{}\"",
                 json_quoted(fmt::format("{} of {} forwarders did not take the event; send it again (same id) to "
                                         "retry: {}",
                                         failures.size(), ids.size(), fmt::join(failures, "; "))),
                 id);
}

void ReplyBuilder::append_results(std::string& out, const ChunkOutcome& chunk, std::size_t line) {
  const auto& quoted_ids = chunk.forwarders->quoted_ids;
  auto to = std::back_inserter(out);
  out += ",\"results\":{";
  for (std::size_t s = 0; s < quoted_ids.size(); ++s) {
    const auto& r = chunk.results.at(line, s);
    if (s) out += ',';
    out += quoted_ids[s];
    switch (r.status) {
      case ForwarderResult::Status::ok: out += ":{\"status\":\"ok\"}"; break;
      case ForwarderResult::Status::enqueued:
        fmt::format_to(to, ":{{\"status\":\"enqueued\",\"job\":{}}}", r.job);
        break;
      case ForwarderResult::Status::error:
      case ForwarderResult::Status::none:
        fmt::format_to(to, ":{{\"status\":\"error\",\"error\":{},\"reason\":{}}}",
                       json_quoted(r.error.empty() ? "internal" : r.error),
                       json_quoted(r.reason.empty() ? "not dispatched" : r.reason));
        break;
    }
  }
  out += '}';
}

}  // namespace auditfwd
