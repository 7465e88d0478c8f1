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

// Finds a forbidden key at any depth, through objects and arrays; returns its
// path below `value` (".a.b[2].c"), built only when one is found.
std::optional<std::string> find_forbidden_key(const json::value& value) {
  if (const auto* object = value.if_object()) {
    for (const auto& [key, child] : *object) {
      if (is_forbidden_metadata_key(key)) return "." + std::string(key);
      if (auto found = find_forbidden_key(child)) return "." + std::string(key) + *found;
    }
  } else if (const auto* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (auto found = find_forbidden_key((*array)[i])) return fmt::format("[{}]{}", i, *found);
    }
  }
  return std::nullopt;
}

// Appends JSON text to one output string through one serializer: no
// intermediate DOM and no string per field.
class JsonAppender {
 public:
  explicit JsonAppender(std::string& out) : out_(out) {}
  void raw(std::string_view text) { out_.append(text); }
  void string(std::string_view text) {
    serializer_.reset(text);
    drain();
  }
  void value(const json::value& value) {
    serializer_.reset(&value);
    drain();
  }
  // `"name":` then the field's value, or null when absent.
  void field_or_null(std::string_view name, const json::value* value) {
    key(name);
    if (value) this->value(*value);
    else raw("null");
  }
  void key(std::string_view name) {
    out_ += ',';
    out_ += '"';
    out_.append(name);
    out_.append("\":");
  }
  std::size_t size() const { return out_.size(); }

 private:
  void drain() {
    char buffer[1024];
    while (!serializer_.done()) out_.append(serializer_.read(buffer));
  }
  std::string& out_;
  json::serializer serializer_;
};

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

// The events of one read share their received_at: format it once per thread and value.
const std::string& received_at_text(sys_micros received_at) {
  thread_local sys_micros cached_time{};
  thread_local std::string cached_text;
  if (cached_text.empty() || cached_time != received_at) {
    cached_text = format_rfc3339(received_at);
    cached_time = received_at;
  }
  return cached_text;
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
    event.occurred_at = received_at_text(received_at);
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

  const json::value* metadata = nullptr;
  if (const auto* given = input->if_contains("metadata"); given && !given->is_null()) {
    if (!given->is_object()) return reject(errc::invalid_event, "metadata must be a JSON object");
    if (auto path = find_forbidden_key(*given))
      return reject(errc::forbidden_key, fmt::format("metadata{} is a secret-bearing key and is not accepted", *path));
    metadata = given;
  }

  // The stamped event, field by field in DESIGN.md's order, written straight
  // from the parsed input.
  std::string& out = event.json;
  out.reserve(line.size() + 320);
  JsonAppender writer(out);
  writer.raw("{\"id\":");
  writer.string(event.id);
  writer.key("action");
  writer.string(event.action);
  writer.key("outcome");
  writer.string(event.outcome);
  writer.key("occurred_at");
  writer.string(event.occurred_at);
  writer.key("received_at");
  writer.string(received_at_text(received_at));
  writer.field_or_null("actor_id", input->if_contains("actor_id"));
  writer.key("actor_type");
  if (const auto* actor_type = input->if_contains("actor_type"); actor_type && !actor_type->is_null())
    writer.value(*actor_type);
  else
    writer.raw("\"user\"");
  for (auto field : {"target_id", "target_type", "organization_id", "effective_user_id", "ip_address", "user_agent"})
    writer.field_or_null(field, input->if_contains(field));
  writer.key("metadata");
  if (metadata) {
    const auto start = writer.size();
    writer.value(*metadata);
    const auto size = writer.size() - start;
    if (size > limits.max_metadata_bytes)
      return reject(errc::too_large,
                    fmt::format("metadata is {} bytes serialized; the limit is {}", size, limits.max_metadata_bytes));
  } else {
    writer.raw("{}");
  }
  writer.raw(fmt::format(R"(,"source":{{"uid":{},"gid":{},"pid":{}}}}})", peer.uid, peer.gid, peer.pid));
  return event;
}

}  // namespace auditfwd
