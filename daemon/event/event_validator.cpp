// Event validation and stamping, field by field as DESIGN.md's event table states.
#include "event/event_validator.hpp"

#include "common/uuid.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <fmt/format.h>
#include <optional>
#include <stdexcept>

namespace auditfwd {
namespace json = boost::json;

void throw_exception_from_error(const Rejection& rejection, const boost::source_location&) {
  throw std::runtime_error(rejection.detail);
}

namespace {

constexpr std::array<std::string_view, 15> forbidden_keys = {
    "password",      "password_hash", "password_confirmation", "totp_code",     "totp_secret",
    "backup_code",   "session_token", "bearer_token",          "api_key",       "token",
    "access_token",  "refresh_token", "oauth_secret",          "client_secret", "secret"};

constexpr std::array<std::string_view, 13> known_fields = {
    "id",        "action",      "outcome",         "occurred_at",       "actor_id",
    "actor_type", "target_id",  "target_type",     "organization_id",   "effective_user_id",
    "ip_address", "user_agent", "metadata"};

Rejection reject(errc code, std::string detail) { return Rejection{code, std::move(detail)}; }

// Finds a forbidden key at any depth, through objects and arrays; returns its path.
std::optional<std::string> find_forbidden_key(const json::value& value, const std::string& path) {
  if (const auto* object = value.if_object()) {
    for (const auto& [key, child] : *object) {
      std::string child_path = path + "." + std::string(key);
      if (is_forbidden_metadata_key(key)) return child_path;
      if (auto found = find_forbidden_key(child, child_path)) return found;
    }
  } else if (const auto* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (auto found = find_forbidden_key((*array)[i], fmt::format("{}[{}]", path, i))) return found;
    }
  }
  return std::nullopt;
}

// Validates an optional string field; nullopt means valid (value may be absent or null).
std::optional<Rejection> check_optional_string(const json::object& event, std::string_view field,
                                               std::size_t max_bytes) {
  const auto* value = event.if_contains(field);
  if (!value || value->is_null()) return std::nullopt;
  if (!value->is_string()) return reject(errc::invalid_event, fmt::format("{} must be a string or null", field));
  if (value->get_string().size() > max_bytes)
    return reject(errc::invalid_event, fmt::format("{} exceeds {} bytes", field, max_bytes));
  return std::nullopt;
}

std::optional<Rejection> check_optional_uuid(const json::object& event, std::string_view field) {
  const auto* value = event.if_contains(field);
  if (!value || value->is_null()) return std::nullopt;
  if (!value->is_string() || !is_uuid(value->get_string()))
    return reject(errc::invalid_event, fmt::format("{} must be a UUID or null", field));
  return std::nullopt;
}

std::string lower(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

bool is_forbidden_metadata_key(std::string_view key) noexcept {
  return std::any_of(forbidden_keys.begin(), forbidden_keys.end(), [&](std::string_view forbidden) {
    return key.size() == forbidden.size() &&
           std::equal(key.begin(), key.end(), forbidden.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  });
}

bool is_valid_action(std::string_view action) noexcept {
  if (action.empty() || action.size() > 255) return false;
  bool segment_start = true;
  int segments = 1;
  for (char c : action) {
    if (segment_start) {
      if (c < 'a' || c > 'z') return false;
      segment_start = false;
    } else if (c == '.') {
      segment_start = true;
      ++segments;
    } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return !segment_start && segments >= 2;
}

boost::system::result<Event, Rejection> validate_event(std::string_view line,
                                                       const ValidationLimits& limits,
                                                       const PeerCredentials& peer,
                                                       sys_micros received_at) {
  // Every node of this event lives in one arena freed at return: no malloc per node.
  unsigned char arena[8192];
  json::monotonic_resource resource(arena, sizeof arena);
  boost::system::error_code ec;
  json::value parsed = json::parse(line, ec, &resource);
  if (ec) return reject(errc::invalid_json, fmt::format("not valid JSON: {}", ec.message()));
  auto* input = parsed.if_object();
  if (!input) return reject(errc::invalid_json, "the line must be one JSON object");

  for (const auto& [key, _] : *input) {
    if (key == "source" || key == "received_at")
      return reject(errc::invalid_event, fmt::format("{} is set by the daemon and cannot be supplied", std::string_view(key)));
    if (std::find(known_fields.begin(), known_fields.end(), std::string_view(key)) == known_fields.end())
      return reject(errc::invalid_event, fmt::format("unknown field {}", json::serialize(json::string(key))));
  }

  Event event;
  const auto* action = input->if_contains("action");
  if (!action) return reject(errc::invalid_event, "action is required");
  if (!action->is_string() || !is_valid_action(action->get_string()))
    return reject(errc::invalid_event,
                  "action must match ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$ and be at most 255 bytes");
  event.action = std::string(action->get_string());

  event.outcome = "success";
  if (const auto* outcome = input->if_contains("outcome")) {
    if (!outcome->is_string() || (outcome->get_string() != "success" && outcome->get_string() != "failure" &&
                                  outcome->get_string() != "error"))
      return reject(errc::invalid_event, "outcome must be \"success\", \"failure\" or \"error\"");
    event.outcome = std::string(outcome->get_string());
  }

  if (const auto* id = input->if_contains("id"); id && !id->is_null()) {
    if (!id->is_string() || !is_uuid(id->get_string())) return reject(errc::invalid_event, "id must be a UUID");
    event.id = lower(id->get_string());
    event.client_supplied_id = true;
  } else {
    event.id = new_uuid_v7();
  }

  if (const auto* occurred = input->if_contains("occurred_at"); occurred && !occurred->is_null()) {
    if (!occurred->is_string() || !is_rfc3339(occurred->get_string()))
      return reject(errc::invalid_event, "occurred_at must be an RFC 3339 date-time");
    event.occurred_at = std::string(occurred->get_string());
  } else {
    event.occurred_at = format_rfc3339(received_at);
  }

  for (auto field : {"actor_id", "target_id", "organization_id", "effective_user_id"})
    if (auto rejection = check_optional_uuid(*input, field)) return *rejection;
  for (auto [field, max] : {std::pair{"actor_type", 64}, {"target_type", 64}, {"user_agent", 512}})
    if (auto rejection = check_optional_string(*input, field, static_cast<std::size_t>(max))) return *rejection;

  if (const auto* ip = input->if_contains("ip_address"); ip && !ip->is_null()) {
    boost::system::error_code ip_ec;
    if (!ip->is_string()) return reject(errc::invalid_event, "ip_address must be an IPv4 or IPv6 address or null");
    (void)boost::asio::ip::make_address(std::string_view(ip->get_string()), ip_ec);
    if (ip_ec) return reject(errc::invalid_event, "ip_address must be an IPv4 or IPv6 address or null");
  }

  json::value metadata(json::object_kind, parsed.storage());
  if (auto* given = input->if_contains("metadata"); given && !given->is_null()) {
    if (!given->is_object()) return reject(errc::invalid_event, "metadata must be a JSON object");
    if (auto path = find_forbidden_key(*given, "metadata"))
      return reject(errc::forbidden_key, fmt::format("{} is a secret-bearing key and is not accepted", *path));
    const auto size = json::serialize(*given).size();
    if (size > limits.max_metadata_bytes)
      return reject(errc::too_large,
                    fmt::format("metadata is {} bytes serialized; the limit is {}", size, limits.max_metadata_bytes));
    metadata = std::move(*given);  // same arena: a pointer swap, not a copy
  }

  auto field_or_null = [&](std::string_view field) -> json::value {
    const auto* value = input->if_contains(field);
    return value ? *value : json::value(nullptr);
  };
  json::object stamped(parsed.storage());
  stamped.reserve(16);
  stamped["id"] = event.id;
  stamped["action"] = event.action;
  stamped["outcome"] = event.outcome;
  stamped["occurred_at"] = event.occurred_at;
  stamped["received_at"] = format_rfc3339(received_at);
  stamped["actor_id"] = field_or_null("actor_id");
  const auto* actor_type = input->if_contains("actor_type");
  stamped["actor_type"] = actor_type && !actor_type->is_null() ? *actor_type : json::value("user");
  stamped["target_id"] = field_or_null("target_id");
  stamped["target_type"] = field_or_null("target_type");
  stamped["organization_id"] = field_or_null("organization_id");
  stamped["effective_user_id"] = field_or_null("effective_user_id");
  stamped["ip_address"] = field_or_null("ip_address");
  stamped["user_agent"] = field_or_null("user_agent");
  stamped["metadata"] = std::move(metadata);
  json::object source(parsed.storage());
  source["uid"] = peer.uid;
  source["gid"] = peer.gid;
  source["pid"] = peer.pid;
  stamped["source"] = std::move(source);
  event.json = json::serialize(stamped);
  return event;
}

}  // namespace auditfwd
