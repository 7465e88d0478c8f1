// Event validation and stamping, field by field as DESIGN.md's event table states.
#include "event/event_validator.hpp"

#include "common/uuid.hpp"
#include "event/event_reader.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <memory>
#include <optional>
#include <stdexcept>

namespace auditfwd {
namespace json = boost::json;

void throw_exception_from_error(const Rejection& rejection, const boost::source_location&) {
  throw std::runtime_error(rejection.detail);
}

namespace {

Rejection reject(errc code, std::string detail) { return Rejection{code, std::move(detail)}; }

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

// SHA-256 over the parts, cut to Event::content_digest's size: what "the same
// content" means for an idempotency key.
ContentDigest content_digest(std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char full[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!context || !EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr))
    throw std::runtime_error("SHA-256 unavailable");
  for (auto part : parts) EVP_DigestUpdate(context.get(), part.data(), part.size());
  EVP_DigestFinal_ex(context.get(), full, &size);
  ContentDigest digest;
  std::copy_n(full, digest.size(), digest.begin());
  return digest;
}

std::string lower(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

bool is_forbidden_metadata_key(std::string_view key) { return ForbiddenKeys::defaults().matches(key); }

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

boost::system::result<Event, Rejection> validate_event(std::string_view line, const ValidationLimits& limits,
                                                       const SenderStamp& sender, sys_micros received_at) {
  auto read =
      read_event_line(line, ReadLimits{limits.max_metadata_bytes, limits.max_nesting_depth, limits.forbidden_keys});
  if (!read) return read.error();
  const ReadLine& input = *read;
  using Kind = ReadField::Kind;
  auto given = [&](EventField field) -> const ReadField* {
    const auto& value = input[field];
    return value.kind == Kind::absent || value.kind == Kind::null ? nullptr : &value;
  };

  Event event;
  event.sender_uid = sender.credentials().uid;
  const auto* action = given(EventField::action);
  if (!action) return reject(errc::invalid_event, "action is required");
  if (action->kind != Kind::string || !is_valid_action(action->text))
    return reject(errc::invalid_event,
                  "action must match ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$ and be at most 255 bytes");
  event.action = action->text;

  event.outcome = "success";
  if (input[EventField::outcome].kind != Kind::absent) {
    const auto& outcome = input[EventField::outcome];
    if (outcome.kind != Kind::string ||
        (outcome.text != "success" && outcome.text != "failure" && outcome.text != "error"))
      return reject(errc::invalid_event, "outcome must be \"success\", \"failure\" or \"error\"");
    event.outcome = outcome.text;
  }

  if (const auto* id = given(EventField::id)) {
    if (id->kind != Kind::string || !is_uuid(id->text)) return reject(errc::invalid_event, "id must be a UUID");
    event.id = lower(id->text);
    event.client_supplied_id = true;
  } else {
    event.id = new_uuid_v7();
  }

  const auto* occurred = given(EventField::occurred_at);
  if (occurred) {
    if (occurred->kind != Kind::string || !is_rfc3339(occurred->text))
      return reject(errc::invalid_event,
                    "occurred_at must be an RFC 3339 date-time: years 1970-9999, at most 9 fraction digits, "
                    "second 60 only at 23:59:60 UTC");
    event.occurred_at = occurred->text;
  } else {
    event.occurred_at = received_at_text(received_at);
  }

  for (auto field :
       {EventField::actor_id, EventField::target_id, EventField::organization_id, EventField::effective_user_id}) {
    const auto* value = given(field);
    if (value && (value->kind != Kind::string || !is_uuid(value->text)))
      return reject(errc::invalid_event, fmt::format("{} must be a UUID or null", event_field_name(field)));
  }
  for (auto [field, max] : {std::pair{EventField::actor_type, std::size_t{64}},
                            {EventField::target_type, std::size_t{64}},
                            {EventField::user_agent, std::size_t{512}}}) {
    const auto* value = given(field);
    if (!value) continue;
    if (value->kind != Kind::string)
      return reject(errc::invalid_event, fmt::format("{} must be a string or null", event_field_name(field)));
    if (value->text.size() > max)
      return reject(errc::invalid_event, fmt::format("{} exceeds {} bytes", event_field_name(field), max));
  }

  if (const auto* ip = given(EventField::ip_address)) {
    boost::system::error_code ip_ec;
    if (ip->kind == Kind::string) (void)boost::asio::ip::make_address(ip->text, ip_ec);
    // A zone id ("fe80::1%eth0") names an interface of the sender's host: not an address to audit.
    if (ip->kind != Kind::string || ip_ec || ip->text.find('%') != std::string::npos)
      return reject(errc::invalid_event, "ip_address must be an IPv4 or IPv6 address (without a zone id) or null");
  }

  const auto* metadata = given(EventField::metadata);
  if (metadata && metadata->kind != Kind::object) return reject(errc::invalid_event, "metadata must be a JSON object");
  if (input.forbidden_key_path)
    return reject(errc::forbidden_key,
                  fmt::format("{} is a secret-bearing key and is not accepted", *input.forbidden_key_path));

  // The stamped event in DESIGN.md's order: first what the client sent (with
  // its defaults), then what the daemon adds. The first part, less a
  // defaulted occurred_at, is the content an idempotency key stands for.
  std::string& out = event.json;
  out.reserve(line.size() + 320 + sender.json().size());
  JsonAppender writer(out);
  writer.raw("{\"id\":");
  writer.string(event.id);
  writer.key("action");
  writer.string(event.action);
  writer.key("outcome");
  writer.string(event.outcome);
  const auto occurred_begin = out.size();
  writer.key("occurred_at");
  writer.string(event.occurred_at);
  const auto occurred_end = out.size();
  auto string_or_null = [&](EventField field) {
    writer.key(event_field_name(field));
    if (const auto* value = given(field))
      writer.string(value->text);
    else
      writer.raw("null");
  };
  auto uuid_or_null = [&](EventField field) {
    writer.key(event_field_name(field));
    if (const auto* value = given(field))
      writer.string(lower(value->text));
    else
      writer.raw("null");
  };
  uuid_or_null(EventField::actor_id);
  writer.key("actor_type");
  if (const auto* actor_type = given(EventField::actor_type))
    writer.string(actor_type->text);
  else
    writer.raw("\"user\"");
  uuid_or_null(EventField::target_id);
  string_or_null(EventField::target_type);
  uuid_or_null(EventField::organization_id);
  uuid_or_null(EventField::effective_user_id);
  string_or_null(EventField::ip_address);
  string_or_null(EventField::user_agent);
  writer.key("metadata");
  writer.raw(metadata ? std::string_view(input.metadata_json) : std::string_view("{}"));
  const auto content_end = out.size();
  if (event.client_supplied_id) {
    const std::string_view text(out);
    event.content_digest =
        content_digest({text.substr(0, occurred_begin),
                        occurred ? text.substr(occurred_begin, occurred_end - occurred_begin) : std::string_view(),
                        text.substr(occurred_end, content_end - occurred_end)});
  }
  writer.key("received_at");
  writer.string(received_at_text(received_at));
  writer.raw(sender.json());
  writer.raw("}");
  return event;
}

}  // namespace auditfwd
