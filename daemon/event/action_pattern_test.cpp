// Unit tests for action patterns: the three forms match as documented, look-alike globs are refused.
#include "event/action_pattern.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("\"*\" matches every action") {
  const auto any = ActionPattern::parse("*");
  REQUIRE(any);
  CHECK(any->matches("user.login"));
  CHECK(any->matches("a.b.c"));
  CHECK(any->text() == "*");
}

TEST_CASE("an exact name matches itself only") {
  const auto exact = ActionPattern::parse("user.login");
  REQUIRE(exact);
  CHECK(exact->matches("user.login"));
  CHECK_FALSE(exact->matches("user.logout"));
  CHECK_FALSE(exact->matches("user.login.failed"));
  CHECK_FALSE(exact->matches("user.logi"));
}

TEST_CASE("\"prefix.*\" matches the prefix's descendants at any depth, not a longer first segment") {
  const auto user = ActionPattern::parse("user.*");
  REQUIRE(user);
  CHECK(user->matches("user.login"));
  CHECK(user->matches("user.mfa.enabled"));
  CHECK_FALSE(user->matches("username.set"));
  CHECK_FALSE(user->matches("user"));
  CHECK_FALSE(user->matches("user."));
  CHECK_FALSE(user->matches("admin.user.login"));
  const auto deep = ActionPattern::parse("user.mfa.*");
  REQUIRE(deep);
  CHECK(deep->matches("user.mfa.enabled"));
  CHECK_FALSE(deep->matches("user.login"));
  CHECK(deep->text() == "user.mfa.*");
}

TEST_CASE("anything else is refused") {
  for (const char* bad : {"", "a*b", "user*", "*.login", "user.**", "user.*.login", "User.*", "user", ".*", "user..*",
                          "user.*x", "**", "user.", "1user.*", "user.Login", " user.*", "user-x.*"}) {
    INFO(bad);
    CHECK_FALSE(ActionPattern::parse(bad));
  }
}
