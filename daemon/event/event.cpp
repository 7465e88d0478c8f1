// Rebuilding events from the job store's payloads.
#include "event/event.hpp"

#include <fmt/format.h>
#include <utf8proc.h>
#include <boost/json.hpp>
#include <stdexcept>

namespace auditfwd {

namespace {

// The validator writes every stored event with the same four fields first,
// none of which can hold an escape: {"id":"…","action":"…","outcome":"…","occurred_at":"…",
// Reading them in place costs a scan instead of a parse per delivery.
bool read_stamped_prefix(const std::string& text, Event& event) {
  std::string_view rest(text);
  auto field = [&](std::string_view opening, std::string& out) {
    if (rest.substr(0, opening.size()) != opening) return false;
    rest.remove_prefix(opening.size());
    const auto end = rest.find('"');
    if (end == std::string_view::npos || rest.substr(0, end).find('\\') != std::string_view::npos) return false;
    out.assign(rest.substr(0, end));
    rest.remove_prefix(end + 1);
    return true;
  };
  return field("{\"id\":\"", event.id) && field(",\"action\":\"", event.action) &&
         field(",\"outcome\":\"", event.outcome) && field(",\"occurred_at\":\"", event.occurred_at) && !rest.empty() &&
         (rest.front() == ',' || rest.front() == '}');
}

// `text` as valid UTF-8: each byte that starts no valid sequence becomes U+FFFD.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    utf8proc_int32_t code_point = 0;
    const auto size = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                       static_cast<utf8proc_ssize_t>(text.size()), &code_point);
    if (size > 0) {
      out.append(text.substr(0, static_cast<std::size_t>(size)));
      text.remove_prefix(static_cast<std::size_t>(size));
    } else {
      out.append("\xEF\xBF\xBD");
      text.remove_prefix(1);
    }
  }
  return out;
}

// A JSON string, or null for an empty (unknown) value.
std::string string_or_null(std::string_view text) {
  if (text.empty()) return "null";
  const auto valid = valid_utf8(text);
  return boost::json::serialize(boost::json::string_view(valid.data(), valid.size()));
}

}  // namespace

SenderStamp::SenderStamp(const SenderIdentity& sender, const HostIdentity& host) : credentials_(sender.credentials) {
  json_ = fmt::format(R"(,"source":{{"uid":{},"gid":{},"pid":{},"user":{},"group":{},"exe":{},"comm":{},"unit":{}}})"
                      R"(,"host":{{"hostname":{},"machine_id":{},"boot_id":{}}})",
                      sender.credentials.uid, sender.credentials.gid, sender.credentials.pid,
                      string_or_null(sender.user), string_or_null(sender.group), string_or_null(sender.exe),
                      string_or_null(sender.comm), string_or_null(sender.unit), string_or_null(host.hostname),
                      string_or_null(host.machine_id), string_or_null(host.boot_id));
}

Event Event::from_json(std::string json_text) {
  Event event;
  if (read_stamped_prefix(json_text, event)) {
    event.json = std::move(json_text);
    return event;
  }
  unsigned char arena[4096];
  boost::json::monotonic_resource resource(arena, sizeof arena);
  boost::system::error_code ec;
  const auto value = boost::json::parse(json_text, ec, &resource);
  if (ec || !value.is_object()) throw std::runtime_error("stored event is not a JSON object");
  const auto& object = value.get_object();
  auto text = [&](std::string_view key) -> std::string {
    const auto* field = object.if_contains(key);
    if (!field || !field->is_string()) throw std::runtime_error("stored event lacks " + std::string(key));
    return std::string(field->get_string());
  };
  event.id = text("id");
  event.action = text("action");
  event.outcome = text("outcome");
  event.occurred_at = text("occurred_at");
  event.json = std::move(json_text);
  return event;
}

}  // namespace auditfwd
