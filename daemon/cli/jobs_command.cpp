// `auditfwd jobs list|retry|purge`: the dead-letter view and its actions.
#include "cli/commands.hpp"

#include "common/time_format.hpp"
#include "store/job_admin.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>

namespace auditfwd {
namespace {

std::string millis_text(std::int64_t ms) { return format_rfc3339(sys_micros{std::chrono::microseconds{ms * 1000}}); }

std::optional<JobState> state_option(const JobsOptions& options) {
  if (!options.state) return std::nullopt;
  auto state = parse_job_state(*options.state);
  if (!state)
    throw std::invalid_argument("unknown state \"" + *options.state +
                                "\" (available, executing, retryable, completed, discarded, cancelled)");
  return state;
}

// The last error of a job's error list, for the table view.
std::string last_error(const std::string& errors) {
  boost::system::error_code ec;
  auto value = boost::json::parse(errors, ec);
  if (ec || !value.is_array() || value.get_array().empty()) return "";
  const auto& last = value.get_array().back();
  if (const auto* error = last.is_object() ? last.get_object().if_contains("error") : nullptr)
    if (error->is_string()) return std::string(error->get_string());
  return "";
}

// One job as `jobs list --json` and `jobs export` show it.
boost::json::object job_json(const JobRow& row) {
  boost::json::object out{{"id", row.id},
                          {"forwarder", row.forwarder},
                          {"event_id", row.event_id},
                          {"state", row.state},
                          {"attempt", row.attempt},
                          {"max_attempts", row.max_attempts},
                          {"inserted_at", millis_text(row.inserted_at_ms)},
                          {"scheduled_at", millis_text(row.scheduled_at_ms)}};
  out["finished_at"] = row.finished_at_ms ? boost::json::value(millis_text(*row.finished_at_ms)) : nullptr;
  out["errors"] = boost::json::parse(row.errors);
  return out;
}

}  // namespace

int jobs_list_command(const JobsOptions& options) {
  const auto rows = list_jobs(options.db_path, state_option(options), options.forwarder, options.limit);
  if (options.json) {
    for (const auto& row : rows) std::cout << boost::json::serialize(job_json(row)) << '\n';
    return 0;
  }
  std::cout << fmt::format("{:>8}  {:<16}  {:<9}  {:>7}  {:<27}  {}\n", "ID", "FORWARDER", "STATE", "ATTEMPT",
                           "SCHEDULED", "LAST ERROR");
  for (const auto& row : rows)
    std::cout << fmt::format("{:>8}  {:<16}  {:<9}  {:>3}/{:<3}  {:<27}  {}\n", row.id, row.forwarder, row.state,
                             row.attempt, row.max_attempts, millis_text(row.scheduled_at_ms), last_error(row.errors));
  std::cout << rows.size() << " job(s)\n";
  return 0;
}

int jobs_retry_command(const JobsOptions& options) {
  std::size_t changed = 0;
  if (options.all_discarded) changed += retry_all_in_state(options.db_path, JobState::discarded, options.forwarder);
  if (options.all_cancelled) changed += retry_all_in_state(options.db_path, JobState::cancelled, options.forwarder);
  if (!options.ids.empty()) changed += retry_jobs(options.db_path, options.ids);
  if (options.ids.empty() && !options.all_discarded && !options.all_cancelled) {
    std::cerr << "auditfwd jobs retry: give job ids, --all-discarded or --all-cancelled\n";
    return 64;
  }
  std::cout << changed << " job(s) made available for delivery\n";
  return 0;
}

int jobs_export_command(const JobsOptions& options) {
  const auto state = state_option(options);
  if (!state) {
    std::cerr << "auditfwd jobs export: --state is required (discarded, cancelled or completed)\n";
    return 64;
  }
  int fd = STDOUT_FILENO;
  if (options.output) {
    // A new file only: an export must not overwrite an earlier one.
    fd = ::open(options.output->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      std::cerr << "auditfwd jobs export: cannot create " << *options.output << ": " << std::strerror(errno) << "\n";
      return 1;
    }
  }
  std::string failure;
  std::string pending;  // written a few hundred KiB at a time
  auto flush = [&] {
    std::size_t done = 0;
    while (failure.empty() && done < pending.size()) {
      const ssize_t n = ::write(fd, pending.data() + done, pending.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        failure = std::strerror(n < 0 ? errno : EIO);
      else
        done += static_cast<std::size_t>(n);
    }
    pending.clear();
  };
  // The event goes in as it is stored, never re-serialized: its numbers keep the client's text.
  const auto count =
      export_jobs(options.db_path, *state, options.forwarder, [&](const JobRow& row, const std::string& event) {
        auto line = boost::json::serialize(job_json(row));
        line.pop_back();  // the closing brace
        pending += line;
        pending += ",\"event\":";
        pending += event;
        pending += "}\n";
        if (pending.size() >= 256 * 1024) flush();
      });
  flush();
  if (failure.empty() && options.output && ::fdatasync(fd) != 0) failure = std::strerror(errno);
  if (options.output && ::close(fd) != 0 && failure.empty()) failure = std::strerror(errno);
  const std::string where = options.output ? *options.output : std::string("standard output");
  if (!failure.empty()) {
    std::cerr << "auditfwd jobs export: writing to " << where << " failed: " << failure
              << "; the export is incomplete, do not purge\n";
    return 1;
  }
  std::cerr << count << " job(s) exported to " << where << "\n";
  return 0;
}

int jobs_purge_command(const JobsOptions& options) {
  if (!options.state && options.forwarder) {
    // Every state, pending ones too: only for a forwarder the daemon no longer delivers.
    const auto& configured = options.configured_forwarders;
    if (std::find(configured.begin(), configured.end(), *options.forwarder) != configured.end()) {
      std::cerr << "auditfwd jobs purge: forwarder " << *options.forwarder
                << " is in the config: its pending jobs are still delivered. Remove it from the config and reload "
                   "(SIGHUP) first, or purge finished jobs only with --state\n";
      return 64;
    }
    std::cout << purge_forwarder_jobs(options.db_path, *options.forwarder) << " job(s) of forwarder "
              << *options.forwarder << " purged\n";
    return 0;
  }
  const auto state = state_option(options);
  if (!state) {
    std::cerr << "auditfwd jobs purge: --state is required (completed, discarded or cancelled), or --forwarder "
                 "alone for a forwarder removed from the config\n";
    return 64;
  }
  std::cout << purge_jobs(options.db_path, *state, options.forwarder) << " job(s) purged\n";
  return 0;
}

}  // namespace auditfwd

namespace auditfwd {

std::optional<std::int64_t> parse_utc_timestamp_millis(std::string_view text) {
  // The daemon's own "2026-11-29T17:00:00.123456Z".
  std::tm parts{};
  int fraction_start = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &parts.tm_year, &parts.tm_mon, &parts.tm_mday,
                  &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &fraction_start) != 6)
    return std::nullopt;
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  std::int64_t millis = static_cast<std::int64_t>(::timegm(&parts)) * 1000;
  if (copy.size() > static_cast<std::size_t>(fraction_start) + 3 &&
      copy[static_cast<std::size_t>(fraction_start)] == '.')
    millis += std::stoll(copy.substr(static_cast<std::size_t>(fraction_start) + 1, 3));
  return millis;
}

void mark_stale_counters(boost::json::object& counters, std::int64_t now_unix_ms) {
  const auto* updated = counters.if_contains("updated_at");
  const auto updated_ms = updated && updated->is_string() ? parse_utc_timestamp_millis(updated->get_string())
                                                          : std::optional<std::int64_t>();
  const auto stale_ms = std::chrono::duration_cast<std::chrono::milliseconds>(counters_stale_after).count();
  if (updated_ms && now_unix_ms - *updated_ms < stale_ms) return;
  const auto age = updated_ms ? (now_unix_ms - *updated_ms) / 1000 : -1;
  counters["healthy"] = false;
  counters["stale"] = true;
  counters["reason"] = fmt::format(
      "the daemon last published its counters {} s ago (it rewrites them every {} s): it is stopped, or it cannot "
      "write the job store (a full or failing disk)",
      age, counters_heartbeat.count());
}

int jobs_stats_command(const JobsOptions& options) {
  auto stats = store_stats(options.db_path);
  boost::json::value daemon = nullptr;
  if (!stats.daemon_counters.empty()) {
    daemon = boost::json::parse(stats.daemon_counters);
    if (daemon.is_object()) mark_stale_counters(daemon.as_object(), unix_millis_now());
    stats.daemon_counters = boost::json::serialize(daemon);
  }
  if (options.json) {
    boost::json::object out;
    boost::json::object jobs;
    for (const auto& [forwarder, state, count] : stats.jobs_by_state) {
      auto& per_state = jobs[forwarder];
      if (!per_state.is_object()) per_state.emplace_object();
      per_state.as_object()[state] = count;
    }
    out["jobs"] = std::move(jobs);
    out["daemon"] = daemon;
    std::cout << boost::json::serialize(out) << '\n';
    return 0;
  }
  std::cout << fmt::format("{:<16}  {:<9}  {:>10}\n", "FORWARDER", "STATE", "JOBS");
  for (const auto& [forwarder, state, count] : stats.jobs_by_state)
    std::cout << fmt::format("{:<16}  {:<9}  {:>10}\n", forwarder, state, count);
  std::cout << "daemon counters: " << (stats.daemon_counters.empty() ? "(none published yet)" : stats.daemon_counters)
            << '\n';
  return 0;
}

}  // namespace auditfwd
