// Unit tests for a reload's decisions: which forwarders start, change, stop; which keys need a restart.
#include "app/reload_plan.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

namespace {

ForwarderConfig forwarder(std::string id, std::string path) {
  ForwarderConfig f;
  f.id = std::move(id);
  f.type = "file";
  f.options["path"] = std::move(path);
  return f;
}

}  // namespace

TEST_CASE("reload plan: forwarders added, changed, removed and unchanged, by id") {
  std::vector<ForwarderConfig> running{forwarder("a", "/a"), forwarder("b", "/b"), forwarder("c", "/c")};
  std::vector<ForwarderConfig> wanted{forwarder("d", "/d"), forwarder("b", "/b2"), forwarder("a", "/a")};
  wanted[2].file = "elsewhere.toml";  // where it is written does not count
  wanted[2].path = "forwarders[2]";
  const auto changes = diff_forwarders(running, wanted);
  CHECK(changes.added == std::vector<std::string>{"d"});
  CHECK(changes.changed == std::vector<std::string>{"b"});
  CHECK(changes.removed == std::vector<std::string>{"c"});
  CHECK(changes.unchanged == std::vector<std::string>{"a"});
}

TEST_CASE("reload plan: every canonical key is a change") {
  const auto base = forwarder("a", "/a");
  auto other = base;
  CHECK(same_forwarder(base, other));
  other.dispatch = DispatchMode::sync;
  CHECK_FALSE(same_forwarder(base, other));
  other = base;
  other.timeout = std::chrono::seconds(9);
  CHECK_FALSE(same_forwarder(base, other));
  other = base;
  other.concurrency = 3;
  CHECK_FALSE(same_forwarder(base, other));
  other = base;
  other.retry.max_attempts = 2;
  CHECK_FALSE(same_forwarder(base, other));
  other = base;
  other.retry.backoff_max = std::chrono::seconds(5);
  CHECK_FALSE(same_forwarder(base, other));
  other = base;
  other.type = "stdout";
  CHECK_FALSE(same_forwarder(base, other));
}

TEST_CASE("reload plan: the socket, the store's path and store.enabled need a restart, named with both values") {
  Config running, wanted;
  CHECK(restart_only_changes(running, wanted).empty());
  wanted.ingest.socket = "/run/other.sock";
  wanted.store.path = "/var/lib/other.db";
  const auto changes = restart_only_changes(running, wanted);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0] == "ingest.socket (./var/auditfwd.sock → /run/other.sock)");
  CHECK(changes[1] == "store.path (./var/auditfwd.db → /var/lib/other.db)");
  wanted = running;
  wanted.ingest.max_connections = 3;  // applied live: not a restart key
  wanted.log.level = "debug";
  CHECK(restart_only_changes(running, wanted).empty());
  CHECK(deferred_changes(running, wanted).empty());
}

TEST_CASE("reload plan: keys kept until the next restart are named") {
  Config running, wanted;
  wanted.workers.threads = 4;
  wanted.store.max_pending_jobs = 10;
  wanted.log.format = LogFormat::json;
  const auto deferred = deferred_changes(running, wanted);
  REQUIRE(deferred.size() == 3);
  CHECK(deferred[0] == "store.max_pending_jobs (10000000 → 10)");
  CHECK(deferred[1] == "workers.threads (2 → 4)");
  CHECK(deferred[2] == "log.format (text → json)");
}
