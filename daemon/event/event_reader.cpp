// A Boost.JSON SAX handler over one client line: numbers are copied as text, never
// converted, so nothing accepted can change on its way to a receiver.
#include "event/event_reader.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <charconv>
#include <cmath>
#include <functional>
#include <vector>

namespace auditfwd {
namespace json = boost::json;
using boost::system::error_code;

namespace {

constexpr std::array<std::string_view, event_field_count> field_names = {
    "id",          "action",          "outcome",           "occurred_at", "actor_id",   "actor_type", "target_id",
    "target_type", "organization_id", "effective_user_id", "ip_address",  "user_agent", "metadata"};

Rejection reject(errc code, std::string detail) { return Rejection{code, std::move(detail)}; }

// True when the JSON number `text` rounds to a finite double.
bool fits_double(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size() && std::isfinite(value);
}

// For details only: allocates.
std::string quoted(std::string_view text) { return json::serialize(json::string_view(text.data(), text.size())); }

// The handler stops the parser by failing with this code; the rejection it
// keeps says why.
const error_code& stopped() {
  static const error_code code = make_error_code(errc::invalid_event);
  return code;
}

class LineHandler {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  LineHandler(ReadLine& line, const ReadLimits& limits)
      : line_(line),
        limits_(limits),
        forbidden_keys_(limits.forbidden_keys ? *limits.forbidden_keys : ForbiddenKeys::defaults()) {}

  std::optional<Rejection> rejection;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

  bool on_object_begin(error_code& ec) { return begin_container(false, ec); }
  bool on_array_begin(error_code& ec) { return begin_container(true, ec); }
  bool on_object_end(std::size_t, error_code&) { return end_container('}'); }
  bool on_array_end(std::size_t, error_code&) { return end_container(']'); }

  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code& ec) {
    key_.append(s.data(), s.size());
    const bool ok = depth_ == 1 ? top_level_key(ec) : capturing() ? metadata_key(ec) : true;
    key_.clear();
    return ok;
  }

  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    string_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code& ec) {
    string_.append(s.data(), s.size());
    bool ok = true;
    if (depth_ == 0) {
      ok = fail(ec, errc::invalid_json, "the line must be one JSON object");
    } else if (depth_ == 1) {
      top_field().kind = ReadField::Kind::string;
      top_field().text = string_;
    } else if (capturing()) {
      begin_value();
      append_quoted(string_);
      ok = within_size(ec);
    }
    string_.clear();
    return ok;
  }

  bool on_number_part(json::string_view s, error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t, json::string_view s, error_code& ec) { return number(s, true, ec); }
  bool on_uint64(std::uint64_t, json::string_view s, error_code& ec) { return number(s, true, ec); }
  bool on_double(double d, json::string_view s, error_code& ec) { return number(s, std::isfinite(d), ec); }

  bool on_bool(bool b, error_code& ec) { return literal(b ? "true" : "false", ReadField::Kind::boolean, ec); }
  bool on_null(error_code& ec) { return literal("null", ReadField::Kind::null, ec); }

 private:
  // An open object or array inside metadata.
  struct Frame {
    bool array;
    bool first = true;
    std::size_t index = 0;       // the next element's, for arrays
    std::size_t path_size = 0;   // path_ up to this container
    std::size_t keys_begin = 0;  // this object's keys in keys_
  };
  // A key already written in an open object: where its quoted text is in the output.
  struct WrittenKey {
    std::size_t hash;
    std::size_t offset;
    std::size_t size;
  };

  bool capturing() const { return !frames_.empty(); }
  ReadField& top_field() { return line_.fields[static_cast<std::size_t>(field_)]; }

  bool fail(error_code& ec, errc code, std::string detail) {
    rejection = reject(code, std::move(detail));
    ec = stopped();
    return false;
  }

  bool begin_container(bool array, error_code& ec) {
    const auto kind = array ? ReadField::Kind::array : ReadField::Kind::object;
    if (depth_ == 0) {
      ++depth_;
      if (array) return fail(ec, errc::invalid_json, "the line must be one JSON object");
      return true;
    }
    if (depth_ == 1) {
      top_field().kind = kind;
      if (field_ == EventField::metadata && !array) {
        path_ = "metadata";
        frames_.push_back(Frame{false, true, 0, path_.size(), keys_.size()});
        out().push_back('{');
      }
    } else if (capturing()) {
      begin_value();
      frames_.push_back(Frame{array, true, 0, path_.size(), keys_.size()});
      out().push_back(array ? '[' : '{');
    }
    ++depth_;
    return true;
  }

  bool end_container(char close) {
    --depth_;
    if (capturing() && depth_ >= 1) {
      keys_.resize(frames_.back().keys_begin);
      frames_.pop_back();
      out().push_back(close);
    }
    return true;
  }

  bool top_level_key(error_code& ec) {
    if (key_ == "source" || key_ == "host" || key_ == "received_at")
      return fail(ec, errc::invalid_event, fmt::format("{} is set by the daemon and cannot be supplied", key_));
    const auto found = std::find(field_names.begin(), field_names.end(), std::string_view(key_));
    if (found == field_names.end()) return fail(ec, errc::invalid_event, fmt::format("unknown field {}", quoted(key_)));
    field_ = static_cast<EventField>(found - field_names.begin());
    if (top_field().kind != ReadField::Kind::absent)
      return fail(ec, errc::invalid_event, fmt::format("field {} appears more than once", key_));
    return true;
  }

  // Writes the key, refuses a repeat within the same object (receivers would
  // disagree on which value counts) and notes the first secret-bearing key.
  bool metadata_key(error_code& ec) {
    auto& frame = frames_.back();
    if (!frame.first) out().push_back(',');
    frame.first = false;
    const auto offset = out().size();
    append_quoted(key_);
    const WrittenKey written{std::hash<std::string_view>{}(key_), offset, out().size() - offset};
    const std::string_view text(out().data() + offset, written.size);
    for (auto k = frame.keys_begin; k < keys_.size(); ++k) {
      if (keys_[k].hash == written.hash && std::string_view(out().data() + keys_[k].offset, keys_[k].size) == text)
        return fail(ec, errc::invalid_event,
                    fmt::format("{} has the key {} more than once", path_.substr(0, frame.path_size), quoted(key_)));
    }
    keys_.push_back(written);
    out().push_back(':');
    path_.resize(frame.path_size);
    path_ += '.';
    path_ += key_;
    if (!line_.forbidden_key_path && forbidden_keys_.matches(key_)) line_.forbidden_key_path = path_;
    return within_size(ec);
  }

  // Before each value inside metadata: the comma and path of an array element.
  void begin_value() {
    auto& frame = frames_.back();
    if (!frame.array) return;
    if (!frame.first) out().push_back(',');
    frame.first = false;
    path_.resize(frame.path_size);
    fmt::format_to(std::back_inserter(path_), "[{}]", frame.index++);
  }

  bool number(json::string_view last_part, bool finite, error_code& ec) {
    number_.append(last_part.data(), last_part.size());
    // Boost.JSON's default reading of a double is not correctly rounded: it reads
    // 1.7976931348623158e308, which is DBL_MAX, as infinite. Before refusing a
    // number as out of range, ask from_chars, which is.
    if (!finite) finite = fits_double(number_);
    if (depth_ == 0) return fail(ec, errc::invalid_json, "the line must be one JSON object");
    bool ok = true;
    if (depth_ == 1) {
      top_field().kind = ReadField::Kind::number;
    } else if (capturing()) {
      begin_value();
      out().append(number_);
      ok = within_size(ec);
    }
    if (ok && !finite) {
      const auto where = capturing() ? path_ : std::string(event_field_name(field_));
      ok = fail(ec, errc::invalid_event,
                fmt::format("{} is out of range: {} does not fit a 64-bit floating-point number", where, number_));
    }
    number_.clear();
    return ok;
  }

  bool literal(std::string_view text, ReadField::Kind kind, error_code& ec) {
    if (depth_ == 0) return fail(ec, errc::invalid_json, "the line must be one JSON object");
    if (depth_ == 1) {
      top_field().kind = kind;
    } else if (capturing()) {
      begin_value();
      out().append(text);
      return within_size(ec);
    }
    return true;
  }

  bool within_size(error_code& ec) {
    if (out().size() <= limits_.max_metadata_bytes) return true;
    return fail(
        ec, errc::too_large,
        fmt::format("metadata exceeds {} bytes serialized (ingest.max_metadata_bytes)", limits_.max_metadata_bytes));
  }

  void append_quoted(std::string_view text) {
    serializer_.reset(text);
    char buffer[512];
    while (!serializer_.done()) {
      const auto part = serializer_.read(buffer);
      out().append(part.data(), part.size());
    }
  }

  std::string& out() { return line_.metadata_json; }

  ReadLine& line_;
  const ReadLimits& limits_;
  const ForbiddenKeys& forbidden_keys_;
  std::size_t depth_ = 0;              // open containers; the event object is depth 1
  EventField field_ = EventField::id;  // the top-level field being read
  std::vector<Frame> frames_;          // open containers of metadata
  std::vector<WrittenKey> keys_;
  std::string path_;  // of the current metadata value: metadata.a.b[2]
  std::string key_, string_, number_;
  json::serializer serializer_;
};

bool only_blanks(std::string_view rest) {
  return std::all_of(rest.begin(), rest.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

std::string_view event_field_name(EventField field) noexcept { return field_names[static_cast<std::size_t>(field)]; }

boost::system::result<ReadLine, Rejection> read_event_line(std::string_view line, const ReadLimits& limits) {
  ReadLine read;
  json::parse_options options;
  options.max_depth = limits.max_depth;
  json::basic_parser<LineHandler> parser(options, read, limits);
  error_code ec;
  const auto consumed = parser.write_some(false, line.data(), line.size(), ec);
  if (auto& rejection = parser.handler().rejection) return std::move(*rejection);
  if (ec == json::error::too_deep)
    return reject(errc::invalid_event,
                  fmt::format("the event nests deeper than {} levels (ingest.max_nesting_depth)", limits.max_depth));
  if (ec) return reject(errc::invalid_json, fmt::format("not valid JSON: {}", ec.message()));
  if (!only_blanks(line.substr(consumed))) return reject(errc::invalid_json, "not valid JSON: data after the object");
  return read;
}

}  // namespace auditfwd
