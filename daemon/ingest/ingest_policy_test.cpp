// Unit tests for the ingest policy: matching senders, first match decides, buckets per rule and uid.
#include "ingest/ingest_policy.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;
using namespace std::chrono_literals;

namespace {
const auto t0 = IngestPolicy::clock::time_point{} + 1000s;

SenderIdentity sender(uid_t uid, std::string user, gid_t gid = 100, std::string group = "users",
                      std::string exe = "/usr/bin/app", std::string unit = "") {
  SenderIdentity s;
  s.credentials = {uid, gid, 4242};
  s.user = std::move(user);
  s.group = std::move(group);
  s.exe = std::move(exe);
  s.unit = std::move(unit);
  return s;
}

AllowRule rule(std::vector<std::string> actions, std::size_t index) {
  AllowRule r;
  r.path = "ingest.allow[" + std::to_string(index) + "]";
  for (const auto& text : actions) r.actions.push_back(*ActionPattern::parse(text));
  return r;
}

errc code_of(IngestPolicy& policy, const SenderIdentity& who, std::string_view action,
             IngestPolicy::clock::time_point now = t0) {
  const auto refusal = policy.admit(policy.rules_for(who), action, now);
  return refusal ? refusal->rejection.code : errc::ok;
}
}  // namespace

TEST_CASE("without rules every sender may send any action") {
  IngestPolicy policy({});
  CHECK(policy.open());
  CHECK(code_of(policy, sender(65534, "nobody"), "anything.at_all") == errc::ok);
}

TEST_CASE("a rule matches by uid or user name, by gid or group name, by unit, by exe") {
  auto by_uid = rule({"*"}, 0);
  by_uid.uids = {1000};
  auto by_user = rule({"*"}, 1);
  by_user.users = {"bob"};
  auto by_group = rule({"*"}, 2);
  by_group.groups = {"audit"};
  auto by_gid = rule({"*"}, 3);
  by_gid.gids = {55};
  auto by_unit = rule({"*"}, 4);
  by_unit.units = {"webapp.service"};
  auto by_exe = rule({"*"}, 5);
  by_exe.exes = {"/usr/sbin/sshd"};
  IngestPolicy policy({by_uid, by_user, by_group, by_gid, by_unit, by_exe});
  CHECK(policy.rules_for(sender(1000, "alice")).rules == std::vector<std::size_t>{0});
  CHECK(policy.rules_for(sender(1001, "bob")).rules == std::vector<std::size_t>{1});
  CHECK(policy.rules_for(sender(1002, "carol", 77, "audit")).rules == std::vector<std::size_t>{2});
  CHECK(policy.rules_for(sender(1002, "carol", 55, "")).rules == std::vector<std::size_t>{3});
  CHECK(policy.rules_for(sender(1002, "carol", 100, "users", "/usr/bin/app", "webapp.service")).rules ==
        std::vector<std::size_t>{4});
  CHECK(policy.rules_for(sender(1002, "carol", 100, "users", "/usr/sbin/sshd")).rules == std::vector<std::size_t>{5});
  CHECK(policy.rules_for(sender(1002, "carol")).rules.empty());
  CHECK(code_of(policy, sender(1002, "carol"), "user.login") == errc::not_permitted);
  CHECK(code_of(policy, sender(1000, "alice"), "user.login") == errc::ok);
}

TEST_CASE("every criterion a rule sets must hold; uids and users are one criterion") {
  auto both = rule({"*"}, 0);
  both.uids = {1000};
  both.users = {"bob"};
  both.units = {"webapp.service"};
  IngestPolicy policy({both});
  CHECK(policy.rules_for(sender(1000, "alice", 1, "g", "/x", "webapp.service")).rules.size() == 1);
  CHECK(policy.rules_for(sender(1001, "bob", 1, "g", "/x", "webapp.service")).rules.size() == 1);
  CHECK(policy.rules_for(sender(1000, "alice", 1, "g", "/x", "other.service")).rules.empty());
  CHECK(policy.rules_for(sender(1000, "alice", 1, "g", "/x", "")).rules.empty());  // no unit: not webapp's
}

TEST_CASE("an unknown name (empty) never matches a listed name") {
  auto by_user = rule({"*"}, 0);
  by_user.users = {""};  // the loader refuses this; the matcher must not rely on it
  by_user.exes = {""};
  IngestPolicy policy({by_user});
  CHECK(policy.rules_for(sender(1000, "", 1, "", "")).rules.empty());
}

TEST_CASE("any_sender matches everyone, root included") {
  auto everyone = rule({"user.*"}, 0);
  everyone.any_sender = true;
  IngestPolicy policy({everyone});
  CHECK(code_of(policy, sender(0, "root"), "user.login") == errc::ok);
  CHECK(code_of(policy, sender(0, "root"), "admin.login") == errc::not_permitted);
}

TEST_CASE("the refusal names the sender, the action and the rules that matched the sender") {
  auto web = rule({"user.*", "session.login"}, 0);
  web.name = "web app";
  web.users = {"www-data"};
  auto other = rule({"*"}, 1);
  other.uids = {0};
  IngestPolicy policy({web, other});
  const auto www = policy.rules_for(sender(33, "www-data", 33, "www-data", "/usr/bin/php"));
  CHECK(policy.admit(www, "user.login", t0) == std::nullopt);
  CHECK(policy.admit(www, "session.login", t0) == std::nullopt);
  const auto refused = policy.admit(www, "admin.delete", t0);
  REQUIRE(refused);
  CHECK(refused->rejection.code == errc::not_permitted);
  CHECK(refused->reason == "ingest.allow");
  CHECK(refused->rejection.detail ==
        "no [[ingest.allow]] rule grants action \"admin.delete\" to uid 33 (www-data), gid 33 (www-data), exe "
        "/usr/bin/php, unit none; ingest.allow[0] (\"web app\") matches this sender but not the action");
  const auto stranger =
      policy.admit(policy.rules_for(sender(1000, "alice", 100, "users", "/usr/bin/app", "x.scope")), "user.login", t0);
  REQUIRE(stranger);
  CHECK(stranger->rejection.detail ==
        "no [[ingest.allow]] rule matches the sender uid 1000 (alice), gid 100 (users), exe /usr/bin/app, unit "
        "x.scope; action \"user.login\" refused");
}

TEST_CASE("the first rule matching sender and action decides, even when it is over its rate") {
  auto narrow = rule({"user.login"}, 0);
  narrow.name = "logins";
  narrow.any_sender = true;
  narrow.max_events_per_second = 1;
  narrow.burst = 2;
  auto broad = rule({"user.*"}, 1);
  broad.any_sender = true;  // no rate
  IngestPolicy policy({narrow, broad});
  const auto alice = policy.rules_for(sender(1000, "alice"));
  CHECK(policy.admit(alice, "user.login", t0) == std::nullopt);
  CHECK(policy.admit(alice, "user.login", t0) == std::nullopt);
  const auto limited = policy.admit(alice, "user.login", t0);
  REQUIRE(limited);
  CHECK(limited->rejection.code == errc::rate_limited);
  CHECK(limited->reason == "ingest.allow[0].max_events_per_second");
  CHECK(limited->rejection.detail ==
        "uid 1000 is over the rate of ingest.allow[0] (\"logins\"): max_events_per_second = 1, burst = 2 (action "
        "\"user.login\"); not accepted, retry in 1000 ms");
  // The broader rule still lets other user.* actions through, unlimited.
  for (int i = 0; i < 100; ++i) CHECK(policy.admit(alice, "user.logout", t0) == std::nullopt);
  CHECK(policy.admit(alice, "user.login", t0 + 999ms).has_value());
  CHECK(policy.admit(alice, "user.login", t0 + 1s) == std::nullopt);
}

TEST_CASE("a rule's bucket is per sender uid: one uid cannot spend another's budget") {
  auto limited = rule({"*"}, 0);
  limited.any_sender = true;
  limited.max_events_per_second = 10;
  limited.burst = 3;
  IngestPolicy policy({limited});
  const auto alice = policy.rules_for(sender(1000, "alice"));
  const auto alice_again = policy.rules_for(sender(1000, "alice"));  // another connection of hers
  const auto bob = policy.rules_for(sender(1001, "bob"));
  CHECK(policy.admit(alice, "a.b", t0) == std::nullopt);
  CHECK(policy.admit(alice_again, "a.b", t0) == std::nullopt);
  CHECK(policy.admit(alice, "a.b", t0) == std::nullopt);
  CHECK(policy.admit(alice_again, "a.b", t0)->rejection.code == errc::rate_limited);
  for (int i = 0; i < 3; ++i) CHECK(policy.admit(bob, "a.b", t0) == std::nullopt);
  CHECK(policy.admit(bob, "a.b", t0)->rejection.code == errc::rate_limited);
  CHECK(policy.admit(alice, "a.b", t0 + 100ms) == std::nullopt);
}

TEST_CASE("a refused event spends no token") {
  auto limited = rule({"user.*"}, 0);
  limited.any_sender = true;
  limited.max_events_per_second = 1;
  limited.burst = 1;
  IngestPolicy policy({limited});
  const auto alice = policy.rules_for(sender(1000, "alice"));
  for (int i = 0; i < 10; ++i) CHECK(policy.admit(alice, "admin.x", t0)->rejection.code == errc::not_permitted);
  CHECK(policy.admit(alice, "user.x", t0) == std::nullopt);
}

TEST_CASE("refilled buckets are forgotten once many are kept") {
  auto limited = rule({"*"}, 0);
  limited.any_sender = true;
  limited.max_events_per_second = 100;
  IngestPolicy policy({limited});
  for (uid_t uid = 1; uid <= 4096; ++uid)
    CHECK(policy.admit(policy.rules_for(sender(uid, "")), "a.b", t0) == std::nullopt);
  CHECK(policy.bucket_count() == 4096);
  // One second later every bucket is full again: the next new one prunes them.
  CHECK(policy.admit(policy.rules_for(sender(5000, "")), "a.b", t0 + 1s) == std::nullopt);
  CHECK(policy.bucket_count() == 1);
}
