// Unit tests for config loading: both formats, every error naming file, key and reason.
#include "config/config.hpp"
#include "config/config_error.hpp"

#include <doctest/doctest.h>
#include <cstdlib>
#include <string>
#include <vector>

using namespace auditfwd;

namespace {
// The problems as "file: key: reason", one a line: positions are tested on their own below.
std::string error_of(const std::string& text, const std::string& format = "toml") {
  try {
    load_config_text(text, format, "test.toml");
  } catch (const ConfigError& e) {
    std::string out;
    for (const auto& p : e.problems()) out += (out.empty() ? "" : "\n") + p.file + ": " + p.key + ": " + p.reason;
    return out;
  }
  return "";
}
const std::string one_forwarder = "[[forwarders]]\nid = \"f\"\ntype = \"stdout\"\n";
}  // namespace

TEST_CASE("the embedded default loads") {
  const auto config = load_config_text(embedded_default_config(), "toml", "<embedded default>");
  CHECK(config.ingest.socket == "./var/auditfwd.sock");
  CHECK(config.store.enabled);
  CHECK(config.forwarders.size() == 2);
  CHECK(config.ingest.socket_mode == 0660u);
}

TEST_CASE("TOML and JSON give the same structure") {
  const auto toml = load_config_text(R"(
[store]
durability = "os"
completed_retention = "5m"
[[forwarders]]
id = "a"
type = "file"
dispatch = "async"
timeout = 2.5
backoff = "exponential"
backoff_min = "500ms"
backoff_max = "10m"
path = "/tmp/x"
)",
                                     "toml", "t.toml");
  const auto json = load_config_text(R"({"store":{"durability":"os","completed_retention":"5m"},
    "forwarders":[{"id":"a","type":"file","dispatch":"async","timeout":2.5,"backoff":"exponential",
                   "backoff_min":"500ms","backoff_max":"10m","path":"/tmp/x"}]})",
                                     "json", "t.json");
  for (const auto* config : {&toml, &json}) {
    CHECK_FALSE(config->store.durability_fsync);
    CHECK(config->store.completed_retention == std::chrono::minutes(5));
    REQUIRE(config->forwarders.size() == 1);
    const auto& f = config->forwarders[0];
    CHECK(f.dispatch == DispatchMode::async);
    CHECK(f.timeout == std::chrono::milliseconds(2500));
    CHECK(f.retry.backoff == BackoffKind::exponential);
    CHECK(f.retry.backoff_min == std::chrono::milliseconds(500));
    CHECK(f.retry.backoff_max == std::chrono::minutes(10));
    CHECK(f.options.at("path") == "/tmp/x");
    CHECK_FALSE(f.options.contains("timeout"));
  }
}

TEST_CASE("errors name the file, the key and the reason") {
  CHECK(error_of("[ingest]\nsokcet = \"/x\"\n" + one_forwarder) == "test.toml: ingest.sokcet: unknown key");
  CHECK(error_of("[store]\ndurability = \"sometimes\"\n" + one_forwarder) ==
        "test.toml: store.durability: must be one of fsync, os, not \"sometimes\"");
  CHECK(error_of("[workers]\nshutdown_grace = \"soon\"\n" + one_forwarder)
            .find("test.toml: workers.shutdown_grace: must be a duration") == 0);
  CHECK(error_of("[[forwarders]]\ntype = \"stdout\"\n") == "test.toml: forwarders[0].id: is required");
  CHECK(error_of(one_forwarder + "dispatch = \"later\"\n").find("forwarders[0].dispatch") != std::string::npos);
  CHECK(error_of(one_forwarder + one_forwarder).find("forwarders[1].id: \"f\" is used by forwarders[0]") !=
        std::string::npos);
  CHECK(error_of(one_forwarder + "max_attempts = 0\n").find("forwarders[0].max_attempts: must be between 1") !=
        std::string::npos);
  CHECK(error_of("").find("forwarders: at least one forwarder") != std::string::npos);
  CHECK(error_of("[store\n").find("test.toml: (syntax): not valid TOML") == 0);
  CHECK(error_of("{\"forwarders\": 3}", "json").find("forwarders") != std::string::npos);
  CHECK(error_of("[ingest]\nsocket_mode = \"rw\"\n" + one_forwarder).find("ingest.socket_mode") != std::string::npos);
  CHECK(error_of("[store]\ncommit_delay = \"2s\"\n" + one_forwarder) ==
        "test.toml: store.commit_delay: must be at most 1s");
  CHECK(error_of("[ingest]\nmax_nesting_depth = 1\n" + one_forwarder).find("ingest.max_nesting_depth") !=
        std::string::npos);
}

TEST_CASE("${ENV} is substituted; an unset variable is an error naming the key") {
  ::setenv("AUDITFWD_TEST_DIR", "/srv/audit", 1);
  const auto config =
      load_config_text("[store]\npath = \"${AUDITFWD_TEST_DIR}/jobs.db\"\n" + one_forwarder, "toml", "e.toml");
  CHECK(config.store.path == "/srv/audit/jobs.db");
  ::unsetenv("AUDITFWD_TEST_UNSET");
  CHECK(error_of("[store]\npath = \"${AUDITFWD_TEST_UNSET}\"\n" + one_forwarder) ==
        "test.toml: store.path: environment variable AUDITFWD_TEST_UNSET is not set");
}

TEST_CASE("async without a store is refused with the three fixes") {
  const auto config =
      load_config_text("[store]\nenabled = false\n" + one_forwarder + "dispatch = \"async\"\n", "toml", "s.toml");
  try {
    check_dispatch_safety(config);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    CHECK(message.find("s.toml:6:1: forwarders[0].dispatch") == 0);
    CHECK(message.find("\"f\"") != std::string::npos);
    CHECK(message.find("enable the store") != std::string::npos);
    CHECK(message.find("\"auto\"") != std::string::npos);
    CHECK(message.find("remove") != std::string::npos);
  }
  const auto fine =
      load_config_text("[store]\nenabled = false\n" + one_forwarder + "dispatch = \"auto\"\n", "toml", "s.toml");
  CHECK_NOTHROW(check_dispatch_safety(fine));
}

TEST_CASE("ingest.forbidden_keys is a list of keys, none empty once normalized") {
  const auto config =
      load_config_text("[ingest]\nforbidden_keys = [\"ssn\", \"Card-Number\"]\n" + one_forwarder, "toml", "test.toml");
  CHECK(config.ingest.forbidden_keys == std::vector<std::string>{"ssn", "Card-Number"});
  CHECK(load_config_text(one_forwarder, "toml", "test.toml").ingest.forbidden_keys.empty());
  CHECK(error_of("[ingest]\nforbidden_keys = \"ssn\"\n" + one_forwarder).find("ingest.forbidden_keys") !=
        std::string::npos);
  CHECK(error_of("[ingest]\nforbidden_keys = [\"-_ \"]\n" + one_forwarder).find("ingest.forbidden_keys") !=
        std::string::npos);
}

TEST_CASE("ingest slots, timeouts and buffers: defaults, values and refusals") {
  const auto defaults = load_config_text(one_forwarder, "toml", "d.toml").ingest;
  CHECK(defaults.max_connections == 1024);
  CHECK(defaults.max_connections_per_uid == 256);
  CHECK(defaults.reserved_root_connections == 4);
  CHECK(defaults.idle_timeout == std::chrono::minutes(5));
  CHECK(defaults.partial_line_timeout == std::chrono::seconds(30));
  CHECK(defaults.max_buffered_bytes == 16u * 1024 * 1024);
  CHECK(defaults.max_connection_buffered_bytes == 1024u * 1024);

  const auto set = load_config_text(
                       "[ingest]\nmax_connections = 50\nmax_connections_per_uid = 10\n"
                       "reserved_root_connections = 2\nidle_timeout = \"2s\"\n"
                       "partial_line_timeout = \"500ms\"\nmax_buffered_bytes = \"4MiB\"\n"
                       "max_connection_buffered_bytes = \"512KiB\"\n" +
                           one_forwarder,
                       "toml", "s.toml")
                       .ingest;
  CHECK(set.max_connections_per_uid == 10);
  CHECK(set.reserved_root_connections == 2);
  CHECK(set.idle_timeout == std::chrono::seconds(2));
  CHECK(set.partial_line_timeout == std::chrono::milliseconds(500));
  CHECK(set.max_buffered_bytes == 4u * 1024 * 1024);
  CHECK(set.max_connection_buffered_bytes == 512u * 1024);

  // A small max_connections lowers the defaults that would not fit it.
  const auto small = load_config_text("[ingest]\nmax_connections = 3\n" + one_forwarder, "toml", "m.toml").ingest;
  CHECK(small.max_connections_per_uid == 3);
  CHECK(small.reserved_root_connections == 2);
  // A large max_event_bytes raises the buffer defaults with it.
  const auto large =
      load_config_text("[ingest]\nmax_event_bytes = \"8MiB\"\n" + one_forwarder, "toml", "l.toml").ingest;
  CHECK(large.max_connection_buffered_bytes == 8u * 1024 * 1024 + 256 * 1024);
  CHECK(large.max_buffered_bytes == 16u * 1024 * 1024);

  CHECK(error_of("[ingest]\nmax_connections = 10\nmax_connections_per_uid = 11\n" + one_forwarder) ==
        "test.toml: ingest.max_connections_per_uid: must be between 1 and 10");
  CHECK(error_of("[ingest]\nmax_connections_per_uid = 0\n" + one_forwarder) ==
        "test.toml: ingest.max_connections_per_uid: must be between 1 and 1024");
  CHECK(error_of("[ingest]\nmax_connections = 10\nreserved_root_connections = 10\n" + one_forwarder) ==
        "test.toml: ingest.reserved_root_connections: must be between 0 and 9");
  CHECK(error_of("[ingest]\nidle_timeout = \"50ms\"\n" + one_forwarder) ==
        "test.toml: ingest.idle_timeout: must be at least 100ms");
  CHECK(error_of("[ingest]\nidle_timeout = \"later\"\n" + one_forwarder)
            .find("test.toml: ingest.idle_timeout: must be a duration") == 0);
  CHECK(error_of("[ingest]\npartial_line_timeout = 0\n" + one_forwarder) ==
        "test.toml: ingest.partial_line_timeout: must be at least 100ms");
  CHECK(error_of("[ingest]\nmax_connection_buffered_bytes = \"64KiB\"\n" + one_forwarder) ==
        "test.toml: ingest.max_connection_buffered_bytes: must be between max_event_bytes + 256KiB (327680 bytes) and "
        "1GiB");
  CHECK(error_of("[ingest]\nmax_buffered_bytes = \"512KiB\"\n" + one_forwarder) ==
        "test.toml: ingest.max_buffered_bytes: must be between max_connection_buffered_bytes (1048576 bytes) and 1TiB");
  CHECK(error_of("[ingest]\nmax_buffered_bytes = \"lots\"\n" + one_forwarder)
            .find("test.toml: ingest.max_buffered_bytes: must be a size") == 0);
}

TEST_CASE("store.dead_retention: dead letters stay until purged unless a retention is set") {
  const std::string one_forwarder = "[[forwarders]]\nid = \"out\"\ntype = \"stdout\"\n";
  const auto unset = load_config_text("[store]\npath = \"x.db\"\n" + one_forwarder, "toml", "test.toml");
  CHECK_FALSE(unset.store.dead_retention.has_value());
  const auto set = load_config_text("[store]\ndead_retention = \"30d\"\n" + one_forwarder, "toml", "test.toml");
  REQUIRE(set.store.dead_retention.has_value());
  CHECK(*set.store.dead_retention == std::chrono::hours(24 * 30));
}

TEST_CASE("[[ingest.allow]]: TOML and JSON give the same rules, with defaults") {
  const auto toml = load_config_text(R"(
[[ingest.allow]]
name = "web app"
users = ["www-data"]
uids = [33]
groups = ["audit"]
actions = ["user.*", "session.login"]
max_events_per_second = 2.5

[[ingest.allow]]
units = ["cron.service"]
exes = ["/usr/bin/backup"]
gids = [0]
actions = ["*"]

[[ingest.allow]]
any_sender = true
actions = ["health.ping"]
max_events_per_second = 1
burst = 10
)" + one_forwarder,
                                     "toml", "t.toml");
  const auto json = load_config_text(R"({"ingest":{"allow":[
    {"name":"web app","users":["www-data"],"uids":[33],"groups":["audit"],"actions":["user.*","session.login"],
     "max_events_per_second":2.5},
    {"units":["cron.service"],"exes":["/usr/bin/backup"],"gids":[0],"actions":["*"]},
    {"any_sender":true,"actions":["health.ping"],"max_events_per_second":1,"burst":10}]},
    "forwarders":[{"id":"f","type":"stdout"}]})",
                                     "json", "t.json");
  for (const auto* config : {&toml, &json}) {
    const auto& rules = config->ingest.allow;
    REQUIRE(rules.size() == 3);
    CHECK(rules[0].path == "ingest.allow[0]");
    CHECK(rules[0].name == "web app");
    CHECK(rules[0].users == std::vector<std::string>{"www-data"});
    CHECK(rules[0].uids == std::vector<uid_t>{33});
    CHECK(rules[0].groups == std::vector<std::string>{"audit"});
    REQUIRE(rules[0].actions.size() == 2);
    CHECK(rules[0].actions[0].text() == "user.*");
    CHECK(rules[0].max_events_per_second == 2.5);
    CHECK(rules[0].burst == 3);  // default: the rate, rounded up
    CHECK_FALSE(rules[0].any_sender);
    CHECK(rules[1].units == std::vector<std::string>{"cron.service"});
    CHECK(rules[1].exes == std::vector<std::string>{"/usr/bin/backup"});
    CHECK(rules[1].gids == std::vector<gid_t>{0});
    CHECK_FALSE(rules[1].max_events_per_second);
    CHECK(rules[2].any_sender);
    CHECK(rules[2].burst == 10);
  }
  CHECK(load_config_text(one_forwarder, "toml", "t.toml").ingest.allow.empty());
}

TEST_CASE("[[ingest.allow]]: a bad rule is refused naming the file, the rule's key and the reason") {
  const auto with_rule = [](const std::string& rule) {
    return error_of("[[ingest.allow]]\n" + rule + "\n" + one_forwarder);
  };
  CHECK(with_rule("uids = [1000]\nactions = [\"*\"]\nactoins = [\"a.b\"]") ==
        "test.toml: ingest.allow[0].actoins: unknown key");
  CHECK(with_rule("actions = [\"*\"]") ==
        "test.toml: ingest.allow[0]: matches no sender: set uids, users, gids, groups, units or exes, or "
        "any_sender = true to match every sender");
  CHECK(with_rule("any_sender = false\nactions = [\"*\"]").find("ingest.allow[0]: matches no sender") !=
        std::string::npos);
  CHECK(with_rule("any_sender = true\nuids = [0]\nactions = [\"*\"]")
            .find("ingest.allow[0].any_sender: matches every "
                  "sender") != std::string::npos);
  CHECK(with_rule("uids = [1000]\nactions = [\"a*b\"]") ==
        "test.toml: ingest.allow[0].actions: \"a*b\" is not an action pattern: use \"*\", an action name like "
        "\"user.login\" or a prefix like \"user.*\"");
  CHECK(with_rule("uids = [1000]\nactions = [\"user\"]").find("\"user\" is not an action pattern") !=
        std::string::npos);
  CHECK(with_rule("uids = [1000]").find("ingest.allow[0].actions: is required") != std::string::npos);
  CHECK(with_rule("uids = [1000]\nactions = []").find("ingest.allow[0].actions: must list at least one") !=
        std::string::npos);
  CHECK(with_rule("uids = [1000]\nactions = [\"*\"]\nmax_events_per_second = 0") ==
        "test.toml: ingest.allow[0].max_events_per_second: must be above 0 (leave it out for no limit)");
  CHECK(with_rule("uids = [1000]\nactions = [\"*\"]\nmax_events_per_second = -5").find("must be above 0") !=
        std::string::npos);
  CHECK(with_rule("uids = [1000]\nactions = [\"*\"]\nmax_events_per_second = inf") ==
        "test.toml: ingest.allow[0].max_events_per_second: must be a finite number");
  CHECK(with_rule("uids = [1000]\nactions = [\"*\"]\nmax_events_per_second = \"fast\"")
            .find("ingest.allow[0].max_events_per_second: must be a number") != std::string::npos);
  CHECK(with_rule("uids = [1000]\nactions = [\"*\"]\nburst = 5")
            .find("ingest.allow[0].burst: needs "
                  "max_events_per_second") != std::string::npos);
  CHECK(with_rule("uids = [1000]\nactions = [\"*\"]\nmax_events_per_second = 5\nburst = 0")
            .find("ingest.allow[0].burst: must be between 1 and") != std::string::npos);
  CHECK(with_rule("uids = [-1]\nactions = [\"*\"]").find("ingest.allow[0].uids: each must be between 0 and") !=
        std::string::npos);
  CHECK(with_rule("uids = [\"root\"]\nactions = [\"*\"]").find("ingest.allow[0].uids: must be a list of integers") !=
        std::string::npos);
  CHECK(with_rule("uids = []\nactions = [\"*\"]").find("ingest.allow[0].uids: must list at least one uid") !=
        std::string::npos);
  CHECK(with_rule("users = [\"\"]\nactions = [\"*\"]").find("ingest.allow[0].users: an empty string") !=
        std::string::npos);
  CHECK(with_rule("exes = [\"python3\"]\nactions = [\"*\"]") ==
        "test.toml: ingest.allow[0].exes: \"python3\" is not an absolute path");
  CHECK(with_rule("units = [\"system.slice/cron.service\"]\nactions = [\"*\"]").find("ingest.allow[0].units") !=
        std::string::npos);
  CHECK(with_rule("uids = [0]\nactions = [\"*\"]\nname = \"\"").find("ingest.allow[0].name: must be 1-64") !=
        std::string::npos);
  CHECK(error_of("[[ingest.allow]]\nuids = [0]\nactions = [\"*\"]\nname = \"x\"\n[[ingest.allow]]\nuids = [1]\n"
                 "actions = [\"*\"]\nname = \"x\"\n" +
                 one_forwarder) == "test.toml: ingest.allow[1].name: \"x\" is used by ingest.allow[0]");
  // The second rule is named by its own index.
  CHECK(
      error_of("[[ingest.allow]]\nuids = [0]\nactions = [\"*\"]\n[[ingest.allow]]\nactions = [\"*\"]\n" + one_forwarder)
          .find("ingest.allow[1]: matches no sender") != std::string::npos);
  CHECK(error_of("[ingest]\nallow = []\n" + one_forwarder).find("ingest.allow: is an empty list") != std::string::npos);
  CHECK(error_of("[ingest]\nallow = \"everyone\"\n" + one_forwarder).find("ingest.allow: must be a list of tables") !=
        std::string::npos);
  CHECK(error_of(R"({"ingest":{"allow":[{"uids":[1],"actions":["a*b"]}]},"forwarders":[{"id":"f","type":"stdout"}]})",
                 "json")
            .find("ingest.allow[0].actions: \"a*b\" is not an action pattern") != std::string::npos);
}

TEST_CASE("log.format: text by default, json on request, anything else refused") {
  CHECK(load_config_text(one_forwarder, "toml", "test.toml").log.format == LogFormat::text);
  CHECK(load_config_text("[log]\nformat = \"json\"\n" + one_forwarder, "toml", "test.toml").log.format ==
        LogFormat::json);
  CHECK(load_config_text("[log]\nformat = \"text\"\n" + one_forwarder, "toml", "test.toml").log.format ==
        LogFormat::text);
  CHECK(load_config_text(R"({"log": {"format": "json"}, "forwarders": [{"id": "f", "type": "stdout"}]})", "json",
                         "test.json")
            .log.format == LogFormat::json);
  CHECK(error_of("[log]\nformat = \"xml\"\n" + one_forwarder) ==
        "test.toml: log.format: must be one of text, json, not \"xml\"");
  CHECK(error_of("[log]\nformat = 1\n" + one_forwarder).find("test.toml: log.format: must be a string") == 0);
}

TEST_CASE("every problem of a file is reported at once, each at its line and column") {
  const std::string toml =
      "[ingest]\nsokcet = \"/x\"\nmax_connections = 0\n\n[store]\n  durability = \"maybe\"\n"
      "[[forwarders]]\ntype = \"stdout\"\n[[forwarders]]\nid = \"b\"\ntype = \"file\"\ntimeout = \"x\"\n";
  const auto load = check_config_text(toml, "toml", "c.toml");
  std::vector<std::string> texts;
  for (const auto& p : load.problems) texts.push_back(p.text());
  CHECK(texts == std::vector<std::string>{
                     "c.toml:2:1: ingest.sokcet: unknown key",
                     "c.toml:3:1: ingest.max_connections: must be between 1 and 1000000",
                     "c.toml:6:3: store.durability: must be one of fsync, os, not \"maybe\"",
                     "c.toml:7:1: forwarders[0].id: is required",  // absent: where its table starts
                     "c.toml:12:1: forwarders[1].timeout: must be a duration: seconds as a number, or a string like "
                     "\"500ms\", \"10s\", \"5m\", \"2h\", \"7d\"",
                 });
  for (const auto& p : load.problems) CHECK(p.kind == ConfigProblem::Kind::invalid);

  const std::string json =
      "{\n  \"store\": {\"durability\": \"maybe\"},\n  \"forwarders\": [\n    {\"id\": \"a\", "
      "\"type\": \"file\", \"fsnyc\": true},\n    {\"id\": \"a\", \"type\": \"stdout\"}\n  ],\n  "
      "\"wrokers\": {}\n}\n";
  texts.clear();
  for (const auto& p : check_config_text(json, "json", "c.json").problems) texts.push_back(p.text());
  CHECK(texts == std::vector<std::string>{
                     "c.json:2:13: store.durability: must be one of fsync, os, not \"maybe\"",
                     "c.json:5:6: forwarders[1].id: \"a\" is used by forwarders[0]",
                     "c.json:7:3: wrokers: unknown key",
                 });
}

TEST_CASE("malformed text is told apart and placed where the parser stopped") {
  const auto toml = check_config_text("[store]\npath = \"x\"\ndurability = fsync\n", "toml", "m.toml");
  REQUIRE(toml.problems.size() == 1);
  CHECK(toml.problems[0].kind == ConfigProblem::Kind::malformed);
  CHECK(toml.problems[0].text().find("m.toml:3:15: (syntax): not valid TOML: ") == 0);
  const auto json = check_config_text("{\"store\": {\n  \"path\": \"x\",,\n}}", "json", "m.json");
  REQUIRE(json.problems.size() == 1);
  CHECK(json.problems[0].kind == ConfigProblem::Kind::malformed);
  CHECK(json.problems[0].text() == "m.json:2:15: (syntax): not valid JSON: syntax error");
  const auto extra = check_config_text("{}\n{}", "json", "e.json");
  REQUIRE(extra.problems.size() == 1);
  CHECK(extra.problems[0].text().find("e.json:2:1: (syntax): not valid JSON: ") == 0);
}

TEST_CASE("a missing file, an unreadable one and a directory are told apart") {
  const auto missing = check_config_file("/nonexistent/auditfwd.toml");
  REQUIRE(missing.problems.size() == 1);
  CHECK(missing.problems[0].kind == ConfigProblem::Kind::missing);
  CHECK(missing.problems[0].text() == "/nonexistent/auditfwd.toml: (file): does not exist");
  const auto directory = check_config_file("/tmp");
  REQUIRE(directory.problems.size() == 1);
  CHECK(directory.problems[0].kind == ConfigProblem::Kind::unreadable);
  CHECK(directory.problems[0].text() == "/tmp: (file): is a directory, not a file");
}

TEST_CASE("jobs and send load a config whose forwarders' secrets are unset") {
  ::unsetenv("AUDITFWD_TEST_SECRET");
  const std::string text =
      "[store]\npath = \"j.db\"\n[[forwarders]]\nid = \"h\"\ntype = \"http\"\n"
      "url = \"http://x/\"\nbearer_token = \"${AUDITFWD_TEST_SECRET}\"\n";
  CHECK(error_of(text) ==
        "test.toml: forwarders[0].bearer_token: environment variable AUDITFWD_TEST_SECRET is not set");
  LoadOptions options;
  options.forwarder_secrets_optional = true;
  const auto config = load_config_text(text, "toml", "t.toml", options);
  CHECK(config.store.path == "j.db");
  // Only below forwarders: the paths the commands need must resolve.
  CHECK_THROWS_AS(
      load_config_text("[store]\npath = \"${AUDITFWD_TEST_SECRET}\"\n" + one_forwarder, "toml", "t.toml", options),
      ConfigError);
}

TEST_CASE("an empty key is named \"\" in its problem (found by the config fuzzers)") {
  CHECK(error_of("\"\" = 0\n" + one_forwarder) == "test.toml: \"\": unknown key");
  CHECK(error_of("{\"\":2}", "json") ==
        "test.toml: forwarders: at least one forwarder is required\ntest.toml: \"\": unknown key");
}
