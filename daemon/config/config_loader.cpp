// TOML/JSON → one JSON tree → ${ENV} substitution → validated Config.
#include "config/config.hpp"

#include "config/config_problems.hpp"
#include "config/config_reader.hpp"
#include "config/source_positions.hpp"
#include "event/forbidden_keys.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

namespace auditfwd {
namespace json = boost::json;
namespace {

json::value toml_to_json(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    json::object out;
    for (const auto& [key, child] : *table) out[std::string(key.str())] = toml_to_json(child);
    return out;
  }
  if (const auto* array = node.as_array()) {
    json::array out;
    for (const auto& child : *array) out.push_back(toml_to_json(child));
    return out;
  }
  if (const auto* s = node.as_string()) return json::string(s->get());
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  std::ostringstream text;  // dates and times: kept as their TOML text
  node.visit([&](const auto& leaf) { text << leaf; });
  return json::string(text.str());
}

// Replaces ${NAME} in every string value. An unset variable is a problem,
// except below `forwarders` when `forwarders_optional` (the jobs and send
// commands, which need no secrets): there the text stays as it is.
void substitute_env(json::value& value, const std::string& path, ConfigProblems& problems, bool forwarders_optional) {
  if (auto* object = value.if_object()) {
    for (auto& [key, child] : *object)
      substitute_env(child, path.empty() ? std::string(key) : path + "." + std::string(key), problems,
                     forwarders_optional);
  } else if (auto* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i)
      substitute_env((*array)[i], fmt::format("{}[{}]", path, i), problems, forwarders_optional);
  } else if (auto* text = value.if_string()) {
    std::string_view in = *text;
    if (in.find("${") == std::string_view::npos) return;
    std::string out;
    std::size_t pos = 0;
    while (pos < in.size()) {
      const auto start = in.find("${", pos);
      if (start == std::string_view::npos) {
        out.append(in.substr(pos));
        break;
      }
      const auto end = in.find('}', start);
      if (end == std::string_view::npos) {
        problems.add(path, "unterminated ${ in string");
        return;
      }
      out.append(in.substr(pos, start - pos));
      const std::string name{in.substr(start + 2, end - start - 2)};
      const char* env = std::getenv(name.c_str());
      if (!env) {
        if (forwarders_optional && path.rfind("forwarders[", 0) == 0) return;  // left as written
        problems.add(path, fmt::format("environment variable {} is not set", name));
        return;
      }
      out.append(env);
      pos = end + 1;
    }
    *text = out;
  }
}

// "660" or "0660": three octal digits, optionally after a 0.
bool is_octal_mode(std::string_view mode) {
  if (mode.size() == 4 && mode.front() == '0') mode.remove_prefix(1);
  return mode.size() == 3 && std::all_of(mode.begin(), mode.end(), [](char c) { return c >= '0' && c <= '7'; });
}

// 1-64 of [A-Za-z0-9_.-], starting with a letter or digit: safe in replies, logs and SQL.
bool is_forwarder_id(std::string_view id) {
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  return !id.empty() && id.size() <= 64 && alnum(id.front()) &&
         std::all_of(id.begin(), id.end(), [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

RetryPolicy read_retry(ConfigReader& reader) {
  RetryPolicy retry;
  retry.max_attempts = static_cast<int>(reader.integer("max_attempts", retry.max_attempts, 1, 1000));
  const auto backoff = reader.choice("backoff", {"sigra", "exponential", "fixed"}, "sigra");
  retry.backoff = backoff == "sigra"         ? BackoffKind::sigra
                  : backoff == "exponential" ? BackoffKind::exponential
                                             : BackoffKind::fixed;
  retry.backoff_min = reader.duration("backoff_min", retry.backoff_min);
  if (reader.contains("backoff_max")) {
    retry.backoff_max = reader.duration("backoff_max", retry.backoff_min);
    if (*retry.backoff_max < retry.backoff_min) {
      reader.report("backoff_max", "must not be below backoff_min");
      retry.backoff_max = retry.backoff_min;
    }
  } else {
    reader.accept("backoff_max");
  }
  return retry;
}

// Slots, timeouts and buffers of [ingest] (after max_connections and max_event_bytes).
void read_connection_limits(ConfigReader& r, IngestConfig& ingest) {
  const IngestConfig defaults;
  const auto max_connections = static_cast<std::int64_t>(ingest.max_connections);
  ingest.reserved_root_connections = static_cast<std::size_t>(
      r.integer("reserved_root_connections",
                std::min(static_cast<std::int64_t>(ingest.reserved_root_connections), max_connections - 1), 0,
                max_connections - 1));
  if (r.contains("max_connections_per_uid")) {
    ingest.max_connections_per_uid =
        static_cast<std::size_t>(r.integer("max_connections_per_uid", max_connections, 1, max_connections));
  } else {
    r.accept("max_connections_per_uid");
    ingest.max_connections_per_uid = std::min(ingest.max_connections_per_uid, ingest.max_connections);
  }
  constexpr milliseconds shortest_timeout{100};
  ingest.idle_timeout = r.duration("idle_timeout", ingest.idle_timeout);
  if (ingest.idle_timeout < shortest_timeout) {
    r.report("idle_timeout", "must be at least 100ms");
    ingest.idle_timeout = defaults.idle_timeout;
  }
  ingest.partial_line_timeout = r.duration("partial_line_timeout", ingest.partial_line_timeout);
  if (ingest.partial_line_timeout < shortest_timeout) {
    r.report("partial_line_timeout", "must be at least 100ms");
    ingest.partial_line_timeout = defaults.partial_line_timeout;
  }
  // A connection must hold a whole line plus one read (256 KiB), or a long line could never end.
  const std::uint64_t smallest_connection_buffer = ingest.max_event_bytes + 256 * 1024;
  // Unset, the limits grow with max_event_bytes; set, they are checked.
  ingest.max_connection_buffered_bytes =
      r.byte_size("max_connection_buffered_bytes",
                  std::max<std::uint64_t>(ingest.max_connection_buffered_bytes, smallest_connection_buffer));
  if (ingest.max_connection_buffered_bytes < smallest_connection_buffer ||
      ingest.max_connection_buffered_bytes > (std::uint64_t{1} << 30)) {
    r.report("max_connection_buffered_bytes",
             fmt::format("must be between max_event_bytes + 256KiB ({} bytes) and 1GiB", smallest_connection_buffer));
    ingest.max_connection_buffered_bytes = smallest_connection_buffer;
  }
  ingest.max_buffered_bytes = r.byte_size(
      "max_buffered_bytes", std::max<std::uint64_t>(ingest.max_buffered_bytes, ingest.max_connection_buffered_bytes));
  if (ingest.max_buffered_bytes < ingest.max_connection_buffered_bytes ||
      ingest.max_buffered_bytes > (std::uint64_t{1} << 40)) {
    r.report("max_buffered_bytes", fmt::format("must be between max_connection_buffered_bytes ({} bytes) and 1TiB",
                                               ingest.max_connection_buffered_bytes));
    ingest.max_buffered_bytes = ingest.max_connection_buffered_bytes;
  }
}

// A list of names, when given, holds at least one and none empty; `what` names one in the reason.
void check_names(ConfigReader& rule, const std::string& key, const std::vector<std::string>& names, const char* what) {
  if (names.empty() && rule.holds_list(key))
    rule.report(key, fmt::format("must list at least one {}; leave the key out not to match on it", what));
  for (const auto& name : names)
    if (name.empty()) {
      rule.report(key, fmt::format("an empty string is not a {}", what));
      return;
    }
}

// [[ingest.allow]]: sender criteria, action patterns and a rate, each checked here,
// so a rule that loads is one the policy can apply as written.
std::vector<AllowRule> read_allow_rules(ConfigReader& ingest, const json::object& table, ConfigProblems& problems) {
  std::vector<AllowRule> rules;
  ingest.accept("allow");
  const auto* allow = table.if_contains("allow");
  if (!allow) return rules;
  if (!allow->is_array()) {
    ingest.report("allow", "must be a list of tables ([[ingest.allow]])");
    return rules;
  }
  if (allow->get_array().empty()) {
    ingest.report("allow",
                  "is an empty list, which would let every sender send any action; remove the key for "
                  "that, or add a rule");
    return rules;
  }
  const auto& list = allow->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    AllowRule rule;
    rule.path = fmt::format("ingest.allow[{}]", i);
    if (!list[i].is_object()) {
      problems.add(rule.path, "must be a table");
      continue;
    }
    ConfigReader r(list[i].get_object(), ingest.file(), rule.path, &problems);
    if (auto name = r.optional_string("name")) {
      const bool printable = std::none_of(name->begin(), name->end(),
                                          [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
      if (name->empty() || name->size() > 64 || !printable)
        r.report("name", "must be 1-64 characters without control characters");
      for (const auto& other : rules)
        if (!name->empty() && other.name == *name)
          r.report("name", fmt::format("\"{}\" is used by {}", *name, other.path));
      rule.name = std::move(*name);
    }
    rule.any_sender = r.boolean("any_sender", false);
    constexpr std::int64_t largest_id = 4294967294;  // (uid_t)-1 means "no id"
    for (const auto id : r.integer_list("uids", 0, largest_id)) rule.uids.push_back(static_cast<uid_t>(id));
    if (rule.uids.empty() && r.holds_list("uids") && list[i].get_object().at("uids").get_array().empty())
      r.report("uids", "must list at least one uid; leave the key out not to match on it");
    rule.users = r.string_list("users");
    check_names(r, "users", rule.users, "user name");
    for (const auto id : r.integer_list("gids", 0, largest_id)) rule.gids.push_back(static_cast<gid_t>(id));
    if (rule.gids.empty() && r.holds_list("gids") && list[i].get_object().at("gids").get_array().empty())
      r.report("gids", "must list at least one gid; leave the key out not to match on it");
    rule.groups = r.string_list("groups");
    check_names(r, "groups", rule.groups, "group name");
    rule.units = r.string_list("units");
    check_names(r, "units", rule.units, "unit name");
    for (const auto& unit : rule.units)
      if (unit.find('/') != std::string::npos) {
        r.report("units", fmt::format("\"{}\" is not a unit name (like \"webapp.service\")", unit));
        break;
      }
    rule.exes = r.string_list("exes");
    check_names(r, "exes", rule.exes, "path");
    for (const auto& exe : rule.exes)
      if (!exe.empty() && exe.front() != '/') {
        r.report("exes", fmt::format("\"{}\" is not an absolute path", exe));
        break;
      }
    // Keys present count as criteria even when their values were refused: no second problem for them.
    const bool has_criteria = !rule.uids.empty() || !rule.users.empty() || !rule.gids.empty() || !rule.groups.empty() ||
                              !rule.units.empty() || !rule.exes.empty();
    const bool names_criteria = has_criteria || r.contains("uids") || r.contains("users") || r.contains("gids") ||
                                r.contains("groups") || r.contains("units") || r.contains("exes");
    if (rule.any_sender && has_criteria)
      r.report("any_sender",
               "matches every sender, so the rule's uids, users, gids, groups, units and exes would "
               "mean nothing; remove either");
    const bool any_sender_refused = r.contains("any_sender") && !list[i].get_object().at("any_sender").is_bool();
    if (!rule.any_sender && !names_criteria && !any_sender_refused)
      problems.add(rule.path,
                   "matches no sender: set uids, users, gids, groups, units or exes, or any_sender = true "
                   "to match every sender");
    if (!r.contains("actions")) {
      r.report("actions", "is required: the actions the rule grants (\"*\" for all)");
    } else {
      const auto actions = r.string_list("actions");
      if (actions.empty() && r.holds_list("actions"))
        r.report("actions", "must list at least one action pattern (\"*\" for all)");
      for (const auto& text : actions) {
        auto pattern = ActionPattern::parse(text);
        if (!pattern) {
          r.report("actions", fmt::format("{} is not an action pattern: use \"*\", an action name like "
                                          "\"user.login\" or a prefix like \"user.*\"",
                                          json::serialize(json::string(text))));
          continue;
        }
        rule.actions.push_back(std::move(*pattern));
      }
    }
    rule.max_events_per_second = r.optional_number("max_events_per_second", std::numeric_limits<double>::lowest(), 1e9);
    if (rule.max_events_per_second && *rule.max_events_per_second <= 0) {
      r.report("max_events_per_second", "must be above 0 (leave it out for no limit)");
      rule.max_events_per_second.reset();
    }
    if (r.contains("burst") && !r.contains("max_events_per_second"))
      r.report("burst", "needs max_events_per_second: a burst is the size of that rate's bucket");
    if (rule.max_events_per_second) {
      const auto rate_rounded_up = static_cast<std::int64_t>(std::ceil(*rule.max_events_per_second));
      rule.burst = r.integer("burst", std::max<std::int64_t>(1, rate_rounded_up), 1, 1'000'000'000);
    } else {
      r.accept("burst");
    }
    r.finish();
    rules.push_back(std::move(rule));
  }
  return rules;
}

Config build_config(json::value root, const std::string& file, ConfigProblems& problems, const LoadOptions& options) {
  Config config;
  config.file = file;
  if (!root.is_object()) {
    problems.add("(root)", "must be a table/object");
    return config;
  }
  substitute_env(root, "", problems, options.forwarder_secrets_optional);
  ConfigReader top(root.get_object(), file, "", &problems);

  {
    const auto table = top.table("ingest");
    ConfigReader r(table, file, "ingest", &problems);
    auto& ingest = config.ingest;
    ingest.socket = r.string_or("socket", ingest.socket);
    if (ingest.socket.empty()) {
      r.report("socket", "must not be empty");
      ingest.socket = IngestConfig{}.socket;
    }
    if (auto mode = r.optional_string("socket_mode")) {
      if (!is_octal_mode(*mode))
        r.report("socket_mode", "must be an octal mode string like \"0660\"");
      else
        ingest.socket_mode = static_cast<unsigned>(std::stoul(*mode, nullptr, 8));
    }
    ingest.max_event_bytes = r.byte_size("max_event_bytes", ingest.max_event_bytes);
    if (ingest.max_event_bytes < 256 || ingest.max_event_bytes > 16 * 1024 * 1024) {
      r.report("max_event_bytes", "must be between 256 bytes and 16MiB");
      ingest.max_event_bytes = IngestConfig{}.max_event_bytes;
    }
    ingest.max_metadata_bytes = r.byte_size("max_metadata_bytes", ingest.max_metadata_bytes);
    ingest.max_nesting_depth = static_cast<std::size_t>(
        r.integer("max_nesting_depth", static_cast<std::int64_t>(ingest.max_nesting_depth), 2, 256));
    ingest.max_connections = static_cast<std::size_t>(
        r.integer("max_connections", static_cast<std::int64_t>(ingest.max_connections), 1, 1'000'000));
    ingest.forbidden_keys = r.string_list("forbidden_keys");
    for (const auto& key : ingest.forbidden_keys)
      if (normalize_key(key).empty()) {
        r.report("forbidden_keys", fmt::format("{} is empty once normalized (only separators, spaces or controls)",
                                               json::serialize(json::string(key))));
        break;
      }
    read_connection_limits(r, ingest);
    ingest.allow = read_allow_rules(r, table, problems);
    r.finish();
  }
  {
    const auto table = top.table("store");
    ConfigReader r(table, file, "store", &problems);
    auto& s = config.store;
    s.enabled = r.boolean("enabled", s.enabled);
    s.path = r.string_or("path", s.path);
    if (s.path.empty()) {
      r.report("path", "must not be empty");
      s.path = StoreConfig{}.path;
    }
    s.durability_fsync = r.choice("durability", {"fsync", "os"}, "fsync") == "fsync";
    s.max_pending_jobs = static_cast<std::uint64_t>(
        r.integer("max_pending_jobs", static_cast<std::int64_t>(s.max_pending_jobs), 1, INT64_MAX));
    s.max_bytes = r.byte_size("max_bytes", s.max_bytes);
    s.completed_retention = r.duration("completed_retention", s.completed_retention);
    if (r.contains("dead_retention")) s.dead_retention = r.duration("dead_retention", {});
    s.idempotency_window = r.duration("idempotency_window", s.idempotency_window);
    s.commit_delay = r.duration("commit_delay", s.commit_delay);
    if (s.commit_delay > std::chrono::seconds(1)) {
      r.report("commit_delay", "must be at most 1s");
      s.commit_delay = StoreConfig{}.commit_delay;
    }
    r.finish();
  }
  {
    const auto table = top.table("workers");
    ConfigReader r(table, file, "workers", &problems);
    auto& w = config.workers;
    w.threads = static_cast<int>(r.integer("threads", w.threads, 1, 256));
    w.poll_interval = r.duration("poll_interval", w.poll_interval);
    if (w.poll_interval.count() < 10) {
      r.report("poll_interval", "must be at least 10ms");
      w.poll_interval = WorkersConfig{}.poll_interval;
    }
    w.shutdown_grace = r.duration("shutdown_grace", w.shutdown_grace);
    w.claim_batch = static_cast<int>(r.integer("claim_batch", w.claim_batch, 1, 10000));
    r.finish();
  }
  {
    const auto table = top.table("log");
    ConfigReader r(table, file, "log", &problems);
    config.log.level = r.choice("level", {"info", "trace", "debug", "warn", "error", "critical", "off"}, "info");
    config.log.format = r.choice("format", {"text", "json"}, "text") == "json" ? LogFormat::json : LogFormat::text;
    r.finish();
  }
  {
    const auto table = top.table("admin");
    ConfigReader r(table, file, "admin", &problems);
    if (r.contains("listen")) {
      const auto listen = r.required_string("listen");
      if (r.holds_string("listen")) {
        auto parsed = parse_admin_address(listen);
        if (parsed.address)
          config.admin.listen = std::move(parsed.address);
        else
          r.report("listen", parsed.problem);
      }
    }
    r.finish();
  }

  top.accept("forwarders");
  const auto* forwarders = root.get_object().if_contains("forwarders");
  if (forwarders && !forwarders->is_array()) {
    problems.add("forwarders", "must be a list of tables ([[forwarders]])");
  } else if (!forwarders || forwarders->get_array().empty()) {
    problems.add("forwarders", "at least one forwarder is required");
  } else {
    const auto& list = forwarders->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = fmt::format("forwarders[{}]", i);
      if (!list[i].is_object()) {
        problems.add(path, "must be a table");
        continue;
      }
      ConfigReader r(list[i].get_object(), file, path, &problems);
      ForwarderConfig f;
      f.file = file;
      f.path = path;
      f.id = r.required_string("id");
      if (r.contains("id") && list[i].get_object().at("id").is_string() && !is_forwarder_id(f.id))
        r.report("id", "must be 1-64 characters of letters, digits, '_', '.', '-', starting with a letter or digit");
      for (const auto& other : config.forwarders)
        if (!f.id.empty() && other.id == f.id) r.report("id", fmt::format("\"{}\" is used by {}", f.id, other.path));
      f.type = r.required_string("type");
      const auto dispatch = r.choice("dispatch", {"auto", "async", "sync"}, "auto");
      f.dispatch = dispatch == "auto"    ? DispatchMode::automatic
                   : dispatch == "async" ? DispatchMode::async
                                         : DispatchMode::sync;
      f.timeout = r.duration("timeout", f.timeout);
      if (f.timeout.count() <= 0) {
        r.report("timeout", "must be above zero");
        f.timeout = ForwarderConfig{}.timeout;
      }
      f.concurrency = static_cast<int>(r.integer("concurrency", f.concurrency, 1, 1024));
      f.retry = read_retry(r);
      for (const auto& [key, value] : list[i].get_object()) {
        static const std::set<std::string> canonical{"id",      "type",        "dispatch",
                                                     "timeout", "concurrency", "max_attempts",
                                                     "backoff", "backoff_min", "backoff_max"};
        if (!canonical.contains(std::string(key))) f.options[key] = value;
      }
      config.forwarders.push_back(std::move(f));
    }
  }
  top.finish();
  return config;
}

// Parses TOML into the JSON tree every check reads, noting where each key is.
std::optional<json::value> parse_toml(const std::string& text, const std::string& file, SourcePositions& positions,
                                      ConfigProblems& problems) {
  toml::table table;
  try {
    table = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    ConfigProblem problem{ConfigProblem::Kind::malformed,
                          file,
                          "(syntax)",
                          "not valid TOML: " + std::string(e.description()),
                          static_cast<int>(std::max<toml::source_index>(e.source().begin.line, 1)),
                          static_cast<int>(std::max<toml::source_index>(e.source().begin.column, 1))};
    problems.add(problem);
    return std::nullopt;
  }
  // Keys at their own position; list items (including [[tables]]) at theirs.
  auto walk = [&](auto& self, const toml::node& node, const std::string& path) -> void {
    if (const auto* t = node.as_table()) {
      for (const auto& [key, child] : *t) {
        const std::string child_path = path.empty() ? std::string(key.str()) : path + "." + std::string(key.str());
        const auto& where = key.source().begin;
        positions.add(child_path, {static_cast<int>(where.line), static_cast<int>(where.column)});
        self(self, child, child_path);
      }
    } else if (const auto* a = node.as_array()) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        const std::string child_path = fmt::format("{}[{}]", path, i);
        const auto& where = (*a)[i].source().begin;
        if (where.line > 0) positions.add(child_path, {static_cast<int>(where.line), static_cast<int>(where.column)});
        self(self, (*a)[i], child_path);
      }
    }
  };
  walk(walk, table, "");
  return toml_to_json(table);
}

// Parses JSON, placing a syntax error at the byte the parser stopped at.
std::optional<json::value> parse_json(const std::string& text, const std::string& file, SourcePositions& positions,
                                      ConfigProblems& problems) {
  json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    // A whole document, then more: point at what follows it.
    consumed = text.find_first_not_of(" \t\r\n", consumed);
    if (consumed != std::string::npos)
      ec = json::error::extra_data;
    else
      consumed = text.size();
  }
  if (!ec) parser.finish(ec);
  if (ec) {
    const auto where = position_at(text, consumed);
    problems.add(ConfigProblem{ConfigProblem::Kind::malformed, file, "(syntax)", "not valid JSON: " + ec.message(),
                               where.line, where.column});
    return std::nullopt;
  }
  positions = json_positions(text);
  return parser.release();
}

}  // namespace

void sort_by_position(std::vector<ConfigProblem>& problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const ConfigProblem& a, const ConfigProblem& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
}

ConfigLoad check_config_text(const std::string& text, const std::string& format, const std::string& file,
                             const LoadOptions& options) {
  auto positions = std::make_shared<SourcePositions>();
  ConfigLoad load;
  load.config.file = file;
  if (format != "toml" && format != "json") {
    load.problems.push_back(
        ConfigProblem{ConfigProblem::Kind::invalid, file, "(file name)", "the extension must be .toml or .json", 0, 0});
    return load;
  }
  ConfigProblems problems(file, positions.get());
  auto root =
      format == "toml" ? parse_toml(text, file, *positions, problems) : parse_json(text, file, *positions, problems);
  if (root) {
    load.config = build_config(std::move(*root), file, problems, options);
    load.config.positions = positions;
  }
  load.problems = problems.list();
  sort_by_position(load.problems);
  return load;
}

ConfigLoad check_config_file(const std::string& path, const LoadOptions& options) {
  ConfigLoad load;
  load.config.file = path;
  auto refuse = [&](ConfigProblem::Kind kind, std::string reason) {
    load.problems.push_back(ConfigProblem{kind, path, "(file)", std::move(reason), 0, 0});
    return load;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) return refuse(ConfigProblem::Kind::missing, "does not exist");
    return refuse(ConfigProblem::Kind::unreadable, std::string("cannot be read: ") + std::strerror(error));
  }
  std::string text;
  struct stat status {};
  if (::fstat(fd, &status) == 0 && S_ISDIR(status.st_mode)) {
    ::close(fd);
    return refuse(ConfigProblem::Kind::unreadable, "is a directory, not a file");
  }
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int error = errno;
      ::close(fd);
      return refuse(ConfigProblem::Kind::unreadable, std::string("cannot be read: ") + std::strerror(error));
    }
    if (got == 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > 16 * 1024 * 1024) {
      ::close(fd);
      return refuse(ConfigProblem::Kind::invalid, "is larger than 16MiB: not a config file");
    }
  }
  ::close(fd);
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  const std::string extension =
      dot == std::string::npos || (slash != std::string::npos && dot < slash) ? "" : path.substr(dot + 1);
  return check_config_text(text, extension, path, options);
}

Config load_config_text(const std::string& text, const std::string& format, const std::string& file,
                        const LoadOptions& options) {
  auto load = check_config_text(text, format, file, options);
  if (!load.problems.empty()) throw ConfigError(std::move(load.problems));
  return std::move(load.config);
}

Config load_config_file(const std::string& path, const LoadOptions& options) {
  auto load = check_config_file(path, options);
  if (!load.problems.empty()) throw ConfigError(std::move(load.problems));
  return std::move(load.config);
}

std::vector<ConfigProblem> dispatch_safety_problems(const Config& config) {
  ConfigProblems problems(config.file, config.positions.get());
  if (config.store.enabled) return {};
  for (const auto& f : config.forwarders) {
    if (f.dispatch == DispatchMode::async)
      problems.add(f.path + ".dispatch",
                   fmt::format("forwarder \"{}\" has dispatch = \"async\" but the job store is disabled "
                               "(store.enabled = false). Fix one of: enable the store (store.enabled = true); "
                               "switch the forwarder to dispatch = \"auto\"; or remove the forwarder entry",
                               f.id));
  }
  return problems.list();
}

void check_dispatch_safety(const Config& config) {
  auto problems = dispatch_safety_problems(config);
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

const std::string& embedded_default_config() {
  static const std::string text = R"(# auditfwd embedded default: runs from a checkout, everything under ./var.
[ingest]
socket = "./var/auditfwd.sock"
socket_mode = "0660"

[store]
enabled = true
path = "./var/auditfwd.db"
durability = "fsync"

[[forwarders]]
id = "stdout"
type = "stdout"
dispatch = "sync"

[[forwarders]]
id = "audit-log"
type = "file"
dispatch = "auto"
path = "./var/audit.log"
)";
  return text;
}

}  // namespace auditfwd
