// Action patterns: the three forms, and nothing that looks like a glob but is not one.
#include "event/action_pattern.hpp"

#include "event/event_validator.hpp"

namespace auditfwd {
namespace {

// One or more `[a-z][a-z0-9_]*` segments joined by dots.
bool is_action_prefix(std::string_view text) noexcept {
  bool segment_start = true;
  for (const char c : text) {
    if (segment_start) {
      if (c < 'a' || c > 'z') return false;
      segment_start = false;
    } else if (c == '.') {
      segment_start = true;
    } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return !segment_start;  // not empty, no trailing dot
}

}  // namespace

std::optional<ActionPattern> ActionPattern::parse(std::string_view text) {
  if (text == "*") return ActionPattern(Kind::any, std::string(text), "");
  if (text.ends_with(".*")) {
    const auto prefix = text.substr(0, text.size() - 2);
    // An action is at most 255 bytes and has a segment after the prefix's dot.
    if (!is_action_prefix(prefix) || prefix.size() > 253) return std::nullopt;
    return ActionPattern(Kind::prefix, std::string(text), std::string(text.substr(0, text.size() - 1)));
  }
  if (!is_valid_action(text)) return std::nullopt;
  return ActionPattern(Kind::exact, std::string(text), std::string(text));
}

bool ActionPattern::matches(std::string_view action) const noexcept {
  switch (kind_) {
    case Kind::any: return true;
    case Kind::exact: return action == match_;
    case Kind::prefix: return action.size() > match_.size() && action.starts_with(match_);
  }
  return false;
}

}  // namespace auditfwd
