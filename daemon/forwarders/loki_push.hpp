// The Loki push API, pure: the label set a forwarder may use and the JSON push body.
#pragma once

#include "event/event.hpp"

#include <map>
#include <span>
#include <string>
#include <string_view>

namespace auditfwd {

// Why `name` cannot be a configured label, or empty when it can: a Prometheus
// label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading "__"), not "host" (the
// forwarder adds it), and not an event field whose values are unbounded (id,
// occurred_at, received_at, actor_id, target_id, organization_id,
// effective_user_id, ip_address, user_agent, metadata, pid, uid, boot_id,
// machine_id): each of its values would make a new stream, and Loki's index is
// built for a few.
std::string loki_label_problem(std::string_view name);

// {"streams":[{"stream":{<labels>,"host":"<host.hostname>"},"values":[["<occurred_at in ns>","<event JSON>"],…]},…]}:
// one stream per distinct host in the batch (in the order first seen), "host"
// left out when the event has none. The event line and its timestamp are the
// same on every attempt, so Loki drops a retried entry it already has.
std::string loki_push_body(std::span<const Event> events, const std::map<std::string, std::string>& labels);

}  // namespace auditfwd
