// Which actions an [[ingest.allow]] rule grants: "*", an exact name, or "prefix.*".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace auditfwd {

// One action pattern, parsed once:
// - "*" matches every action;
// - an exact action name ("user.login", DESIGN.md's action syntax) matches itself;
// - "prefix.*" matches every action that starts with "prefix." at any depth
//   ("user.*" matches "user.login" and "user.mfa.enabled", not "username.set");
//   the prefix is one or more segments of `[a-z][a-z0-9_]*` joined by dots.
// Nothing else is a pattern: "a*b", "user*", "*.login", "user.**" are refused.
class ActionPattern {
 public:
  // The pattern, or nullopt when `text` is none of the forms above.
  static std::optional<ActionPattern> parse(std::string_view text);

  bool matches(std::string_view action) const noexcept;
  // As written in the config.
  const std::string& text() const noexcept { return text_; }

 private:
  enum class Kind { any, exact, prefix };
  ActionPattern(Kind kind, std::string text, std::string match)
      : kind_(kind), text_(std::move(text)), match_(std::move(match)) {}

  Kind kind_;
  std::string text_;
  std::string match_;  // exact: the name; prefix: "prefix." with its dot
};

}  // namespace auditfwd
