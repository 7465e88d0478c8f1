// auditfwd's command line: run (default), check-config, send, jobs.
#include "app/daemon.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "config/config_error.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <spdlog/spdlog.h>

namespace {

struct LoadedConfig {
  auditfwd::Config config;
  std::string path;  // empty for the embedded default
};

// --config, else $AUDITFWD_CONFIG, else the embedded default.
LoadedConfig load(const std::string& option) {
  std::string path = option;
  if (path.empty())
    if (const char* env = std::getenv("AUDITFWD_CONFIG"); env && *env) path = env;
  if (path.empty()) return {auditfwd::load_config_text(auditfwd::embedded_default_config(), "toml", "<embedded default>"), ""};
  return {auditfwd::load_config_file(path), path};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"auditfwd: a durable audit-event forwarding daemon"};
  app.set_version_flag("--version", "auditfwd 0.1.0");
  std::string config_path;
  app.add_option("--config,-c", config_path, "config file (.toml or .json); default: $AUDITFWD_CONFIG or the embedded default");

  auto* check = app.add_subcommand("check-config", "validate the configuration and exit 0, or 78 with the reason");
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
  purge->add_option("--state", jobs_options.state, "completed|discarded|cancelled")->required();
  purge->add_option("--forwarder", jobs_options.forwarder, "only this forwarder's jobs");
  purge->fallthrough();

  auto* exporter = jobs->add_subcommand("export", "write finished jobs with their events as NDJSON (before a purge)");
  exporter->add_option("--state", jobs_options.state, "discarded|cancelled|completed")->required();
  exporter->add_option("--forwarder", jobs_options.forwarder, "only this forwarder's jobs");
  exporter->add_option("--output,-o", jobs_options.output, "a new file to write (0600, synced), instead of stdout");
  exporter->fallthrough();

  auto* stats = jobs->add_subcommand("stats", "jobs per forwarder and state, and the daemon's counters");
  stats->add_flag("--json", jobs_options.json, "one JSON object");
  stats->fallthrough();

  CLI11_PARSE(app, argc, argv);

  LoadedConfig loaded;
  try {
    loaded = load(config_path);
  } catch (const auditfwd::ConfigError& e) {
    std::cerr << "auditfwd: configuration refused: " << e.what() << "\n";
    return auditfwd::exit_config_error;
  }

  try {
    if (*check) {
      auditfwd::check_dispatch_safety(loaded.config);
      auditfwd::validate_forwarders(loaded.config);
      std::cout << (loaded.path.empty() ? "<embedded default>" : loaded.path) << ": ok ("
                << loaded.config.forwarders.size() << " forwarder(s))\n";
      return 0;
    }
    if (*send) return auditfwd::send_command(socket_path.empty() ? loaded.config.ingest.socket : socket_path);
    if (*jobs) {
      jobs_options.db_path = loaded.config.store.path;
      if (*list) return auditfwd::jobs_list_command(jobs_options);
      if (*retry) return auditfwd::jobs_retry_command(jobs_options);
      if (*purge) return auditfwd::jobs_purge_command(jobs_options);
      if (*stats) return auditfwd::jobs_stats_command(jobs_options);
      if (*exporter) return auditfwd::jobs_export_command(jobs_options);
    }
    auditfwd::setup_logging(loaded.config.log.level);
    return auditfwd::run_daemon(loaded.config, loaded.path);
  } catch (const auditfwd::ConfigError& e) {
    std::cerr << "auditfwd: configuration refused: " << e.what() << "\n";
    return auditfwd::exit_config_error;
  } catch (const std::exception& e) {
    std::cerr << "auditfwd: " << e.what() << "\n";
    return 1;
  }
}
