// Loki label checks and push bodies: pure functions, unit-tested.
#include "forwarders/loki_push.hpp"

#include "forwarders/event_fields.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cctype>
#include <vector>

namespace auditfwd {
namespace {

std::string quoted(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

constexpr std::string_view unbounded_fields[] = {
    "id",         "occurred_at", "received_at", "actor_id", "target_id", "organization_id", "effective_user_id",
    "ip_address", "user_agent",  "metadata",    "pid",      "uid",       "boot_id",         "machine_id",
};

}  // namespace

std::string loki_label_problem(std::string_view name) {
  const auto valid_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())) ||
      !std::all_of(name.begin(), name.end(), valid_char))
    return "is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)";
  if (name.starts_with("__")) return "names starting with __ are reserved by Loki";
  if (name == "host") return "is added by the forwarder (the event's host.hostname)";
  if (std::find(std::begin(unbounded_fields), std::end(unbounded_fields), name) != std::end(unbounded_fields))
    return "names a high-cardinality event field: every value would be a new stream; it is in the log line already";
  return {};
}

std::string loki_push_body(std::span<const Event> events, const std::map<std::string, std::string>& labels) {
  std::vector<std::string> hosts;
  std::vector<std::string> values;  // per host: the entries, comma-separated
  for (const auto& event : events) {
    const auto host = event_hostname(event);
    auto at = std::find(hosts.begin(), hosts.end(), host);
    if (at == hosts.end()) {
      hosts.push_back(host);
      values.emplace_back();
      at = hosts.end() - 1;
    }
    auto& entries = values[static_cast<std::size_t>(at - hosts.begin())];
    if (!entries.empty()) entries += ',';
    const auto nanos = rfc3339_to_unix_nanos(event.occurred_at).value_or(0);
    entries += "[\"" + std::to_string(nanos) + "\"," + quoted(event.json) + "]";
  }
  std::string out = R"({"streams":[)";
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (i > 0) out += ',';
    out += R"({"stream":{)";
    bool first = true;
    for (const auto& [name, value] : labels) {
      out += (first ? "" : ",") + quoted(name) + ":" + quoted(value);
      first = false;
    }
    if (!hosts[i].empty()) out += (first ? "" : ",") + std::string(R"("host":)") + quoted(hosts[i]);
    out += R"(},"values":[)" + values[i] + "]}";
  }
  out += "]}";
  return out;
}

}  // namespace auditfwd
