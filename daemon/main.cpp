// auditfwd's command line: run (default), check-config, send, jobs.
#include "app/build_version.hpp"
#include "app/daemon.hpp"
#include "app/logging.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "config/config_error.hpp"
#include "config/config_location.hpp"
#include "metrics/daemon_metrics.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

namespace {

using auditfwd::ConfigProblem;

// Every problem on stderr, one a line ("file:line:column: key: reason"), then
// a summary naming the file and how it was chosen.
void print_problems(const std::vector<ConfigProblem>& problems, const auditfwd::ConfigLocation& location,
                    bool summary = true) {
  for (const auto& problem : problems) std::cerr << problem.text() << "\n";
  if (summary)
    std::cerr << "auditfwd: configuration refused: " << problems.size() << " problem(s) in " << location.name() << " ("
              << location.origin << ")\n";
}

// The config at `location`, with every problem the loader finds and, when
// `with_forwarders`, those of the forwarders' type keys and the dispatch rule.
auditfwd::ConfigLoad check_location(const auditfwd::ConfigLocation& location, const auditfwd::LoadOptions& options,
                                    bool with_forwarders) {
  auto load = location.path.empty()
                  ? auditfwd::check_config_text(auditfwd::embedded_default_config(), "toml", location.name(), options)
                  : auditfwd::check_config_file(location.path, options);
  const bool parsed = load.config.positions != nullptr;
  if (!with_forwarders || !parsed) return load;
  for (auto& problem : auditfwd::dispatch_safety_problems(load.config)) load.problems.push_back(std::move(problem));
  // A forwarder whose type was refused has no type keys to check: its problem is already told.
  auditfwd::Config checkable = load.config;
  std::erase_if(checkable.forwarders, [&](const auditfwd::ForwarderConfig& f) {
    return std::any_of(load.problems.begin(), load.problems.end(),
                       [&](const ConfigProblem& p) { return p.key == f.path + ".type"; });
  });
  for (auto& problem : auditfwd::forwarder_problems(checkable)) load.problems.push_back(std::move(problem));
  auditfwd::sort_by_position(load.problems);
  return load;
}

// check-config's one JSON object: the file, how it was chosen, and every problem.
std::string check_report_json(const auditfwd::ConfigLocation& location, const auditfwd::ConfigLoad& load) {
  boost::json::array problems;
  for (const auto& problem : load.problems) {
    boost::json::object item{{"kind", auditfwd::to_string(problem.kind)},
                             {"file", problem.file},
                             {"key", problem.key},
                             {"reason", problem.reason}};
    item["line"] = problem.line > 0 ? boost::json::value(problem.line) : nullptr;
    item["column"] = problem.line > 0 ? boost::json::value(problem.column) : nullptr;
    problems.push_back(std::move(item));
  }
  boost::json::object out{{"file", location.name()}, {"origin", location.origin}, {"valid", load.problems.empty()}};
  out["forwarders"] = load.problems.empty() ? boost::json::value(load.config.forwarders.size()) : nullptr;
  out["problems"] = std::move(problems);
  return boost::json::serialize(out);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"auditfwd: a durable audit-event forwarding daemon"};
  app.set_version_flag("--version", "auditfwd " + std::string(auditfwd::build_version()));
  std::string config_path;
  app.add_option("--config,-c", config_path,
                 "config file (.toml or .json); default: $AUDITFWD_CONFIG, else /etc/auditfwd/auditfwd.toml when it "
                 "exists, else the embedded development default");

  auto* check = app.add_subcommand("check-config", "validate the configuration: exit 0, or 78 naming every problem");
  bool check_quiet = false, check_json = false;
  check->add_flag("--quiet,-q", check_quiet, "print nothing when valid; only the problems (stderr) when not");
  check->add_flag("--json", check_json,
                  "one JSON object on stdout: file, origin, valid, problems (kind, file, line, column, key, reason)");
  check->fallthrough();

  auto* send = app.add_subcommand("send", "send NDJSON events from stdin and print the replies");
  std::string socket_path;
  send->add_option("--socket,-s", socket_path, "socket path (default: ingest.socket of the config)");
  send->fallthrough();

  auto* jobs = app.add_subcommand("jobs", "inspect and act on the job store");
  jobs->require_subcommand(1);
  jobs->fallthrough();
  auditfwd::JobsOptions jobs_options;
  auto* list = jobs->add_subcommand("list", "list jobs");
  list->add_option("--state", jobs_options.state, "available|executing|retryable|completed|discarded|cancelled");
  list->add_option("--forwarder", jobs_options.forwarder, "only this forwarder's jobs");
  list->add_option("--limit", jobs_options.limit, "at most this many rows (default 100)");
  list->add_flag("--json", jobs_options.json, "one JSON object per line, with the full error history");
  list->fallthrough();
  auto* retry = jobs->add_subcommand("retry", "make jobs available again");
  retry->add_option("ids", jobs_options.ids, "job ids");
  retry->add_flag("--all-discarded", jobs_options.all_discarded, "every discarded job");
  retry->add_flag("--all-cancelled", jobs_options.all_cancelled, "every cancelled job");
  retry->add_option("--forwarder", jobs_options.forwarder, "with --all-*: only this forwarder's jobs");
  retry->fallthrough();
  auto* purge = jobs->add_subcommand("purge", "delete finished jobs");
  purge->add_option("--state", jobs_options.state,
                    "completed|discarded|cancelled; required unless --forwarder names a forwarder no longer in the "
                    "config");
  purge->add_option(
      "--forwarder", jobs_options.forwarder,
      "only this forwarder's jobs; alone: every job of a forwarder removed from the config, in any state");
  purge->fallthrough();

  auto* exporter = jobs->add_subcommand("export", "write finished jobs with their events as NDJSON (before a purge)");
  exporter->add_option("--state", jobs_options.state, "discarded|cancelled|completed")->required();
  exporter->add_option("--forwarder", jobs_options.forwarder, "only this forwarder's jobs");
  exporter->add_option("--output,-o", jobs_options.output, "a new file to write (0600, synced), instead of stdout");
  exporter->fallthrough();

  auto* stats = jobs->add_subcommand("stats", "jobs per forwarder and state, and the daemon's counters");
  stats->add_flag("--json", jobs_options.json, "one JSON object");
  stats->fallthrough();

  auto* status = app.add_subcommand("status",
                                    "one screen from the admin endpoint: exit 0 healthy, 1 degraded, 2 "
                                    "unreachable");
  std::string admin_address;
  bool status_json = false;
  status->add_option("--admin", admin_address,
                     "the admin endpoint (\"127.0.0.1:9880\", \"unix:/run/auditfwd/admin.sock\"); default: [admin] "
                     "listen of the config");
  status->add_flag("--json", status_json, "the endpoint's /status object as it is");
  status->fallthrough();
  auto* tap = app.add_subcommand("tap", "stream accepted events live as NDJSON from the admin endpoint");
  std::string tap_action, tap_forwarder;
  tap->add_option("--admin", admin_address, "the admin endpoint; default: [admin] listen of the config");
  tap->add_option("--action", tap_action, "only actions matching this pattern (\"user.*\", \"user.login\")");
  tap->add_option("--forwarder", tap_forwarder, "only events this forwarder took");
  tap->fallthrough();

  CLI11_PARSE(app, argc, argv);

  auto admin_command = [&](const auditfwd::AdminAddress& address) {
    return *status ? auditfwd::status_command(address, status_json)
                   : auditfwd::tap_command(address, tap_action, tap_forwarder);
  };
  if ((*status || *tap) && !admin_address.empty()) {  // no config needed
    auto parsed = auditfwd::parse_admin_address(admin_address);
    if (!parsed.address) {
      std::cerr << "auditfwd: --admin: " << parsed.problem << "\n";
      return 64;
    }
    return admin_command(*parsed.address);
  }

  if (*send && !socket_path.empty()) return auditfwd::send_command(socket_path);  // no config needed

  const auto location = auditfwd::resolve_config(config_path);
  if (*check) {
    const auto load = check_location(location, {}, true);
    if (check_json)
      std::cout << check_report_json(location, load) << "\n";
    else if (!load.problems.empty())
      print_problems(load.problems, location, !check_quiet);
    else if (!check_quiet)
      std::cout << location.name() << ": ok, " << load.config.forwarders.size() << " forwarder(s) (" << location.origin
                << ")\n";
    return load.problems.empty() ? 0 : auditfwd::exit_config_error;
  }

  // jobs, send, status and tap read only the socket, store and admin addresses: the forwarders' secrets may be absent.
  const bool client_command = *jobs || *send || *status || *tap;
  auditfwd::LoadOptions options;
  options.forwarder_secrets_optional = client_command;
  auto load = check_location(location, options, !client_command);
  if (!load.problems.empty()) {
    print_problems(load.problems, location);
    return auditfwd::exit_config_error;
  }
  const auditfwd::Config config = std::move(load.config);
  if (client_command) std::cerr << "auditfwd: config " << location.name() << " (" << location.origin << ")\n";

  try {
    if (*send) return auditfwd::send_command(socket_path.empty() ? config.ingest.socket : socket_path);
    if (*status || *tap) {
      if (!config.admin.listen) {
        std::cerr << "auditfwd: " << location.name()
                  << " has no admin endpoint: set [admin] listen there (and restart the daemon), or pass --admin\n";
        return 2;
      }
      return admin_command(*config.admin.listen);
    }
    if (*jobs) {
      jobs_options.db_path = config.store.path;
      for (const auto& f : config.forwarders) jobs_options.configured_forwarders.push_back(f.id);
      if (*list) return auditfwd::jobs_list_command(jobs_options);
      if (*retry) return auditfwd::jobs_retry_command(jobs_options);
      if (*purge) return auditfwd::jobs_purge_command(jobs_options);
      if (*stats) return auditfwd::jobs_stats_command(jobs_options);
      if (*exporter) return auditfwd::jobs_export_command(jobs_options);
    }
    auditfwd::daemon_metrics().set_build_info(std::string(auditfwd::build_version()));
    auditfwd::setup_logging(config.log);
    spdlog::info("config: {} ({})", location.name(), location.origin);
    return auditfwd::run_daemon(config, location.path);
  } catch (const auditfwd::ConfigError& e) {
    print_problems(e.problems(), location);
    return auditfwd::exit_config_error;
  } catch (const std::exception& e) {
    std::cerr << "auditfwd: " << e.what() << "\n";
    return 1;
  }
}
