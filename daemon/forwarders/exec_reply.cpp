// Strict reading of reply lines: a line we cannot classify means the stream is out of sync.
#include "forwarders/exec_reply.hpp"

#include "common/printable_text.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

namespace auditfwd {

ExecReply parse_exec_reply(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  // At most 200 bytes of the line, counted by hand: fmt's "{:.200}" counts code
  // points, and a line of UTF-8 continuation bytes has none, so it was copied whole.
  const auto malformed = [line](std::string_view why) {
    constexpr std::size_t shown = 200;
    return ExecReply{ExecReply::Kind::malformed,
                     fmt::format("malformed reply from the child ({}): {}{}", why, printable_prefix(line, shown),
                                 line.size() > shown ? "…" : "")};
  };
  boost::system::error_code error;
  const auto value = boost::json::parse(line, error);
  if (error) return malformed("not JSON");
  const auto* object = value.if_object();
  if (!object) return malformed("not a JSON object");
  const auto* ok = object->if_contains("ok");
  if (!ok || !ok->is_bool()) return malformed("\"ok\" must be true or false");
  if (ok->get_bool()) return {ExecReply::Kind::ok, {}};

  std::string text = "the child refused the event";
  if (const auto* message = object->if_contains("error")) {
    if (!message->is_string()) return malformed("\"error\" must be a string");
    text = std::string(message->get_string());
  }
  bool retry = true;
  if (const auto* flag = object->if_contains("retry")) {
    if (!flag->is_bool()) return malformed("\"retry\" must be true or false");
    retry = flag->get_bool();
  }
  return {retry ? ExecReply::Kind::retry : ExecReply::Kind::permanent, std::move(text)};
}

}  // namespace auditfwd
