// Rebuilding events from the job store's payloads.
#include "event/event.hpp"

#include <boost/json.hpp>
#include <stdexcept>

namespace auditfwd {

Event Event::from_json(std::string json_text) {
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
  Event event;
  event.id = text("id");
  event.action = text("action");
  event.outcome = text("outcome");
  event.occurred_at = text("occurred_at");
  event.json = std::move(json_text);
  return event;
}

}  // namespace auditfwd
