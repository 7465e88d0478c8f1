// Names and help texts of the daemon's metrics, in one place.
#include "metrics/daemon_metrics.hpp"

namespace auditfwd {

const std::array<std::string_view, 8>& refusal_codes() {
  static const std::array<std::string_view, 8> codes{"invalid_json", "invalid_event", "too_large",     "forbidden_key",
                                                     "unavailable",  "id_conflict",   "not_permitted", "rate_limited"};
  return codes;
}

DaemonMetrics::DaemonMetrics(MetricsRegistry& registry)
    : events_received(registry.counter("auditfwd_events_received_total", "Event lines read from clients.")),
      events_accepted(registry.counter("auditfwd_events_accepted_total",
                                       "Events answered ok:true (every forwarder took them, or a duplicate id).")),
      connections(registry.gauge("auditfwd_connections", "Open client connections on the ingest socket.")),
      reply_seconds(registry.histogram(
          "auditfwd_reply_seconds", "From reading an event line to writing its reply, in seconds.", latency_buckets())),
      commit_seconds(registry.histogram(
          "auditfwd_commit_seconds", "Job store transactions, from BEGIN to COMMIT, in seconds.", latency_buckets())),
      fsync_seconds(registry.histogram("auditfwd_fsync_seconds", "fdatasync of the job store's WAL, in seconds.",
                                       latency_buckets())),
      config_reloads_ok(
          registry.counter("auditfwd_config_reloads_total", "Config reloads (SIGHUP) by result.", {{"result", "ok"}})),
      config_reloads_failed(registry.counter("auditfwd_config_reloads_total", "Config reloads (SIGHUP) by result.",
                                             {{"result", "failed"}})),
      tap_dropped(registry.counter("auditfwd_tap_dropped_total",
                                   "Events a tap client did not get because its buffer was full.")),
      registry_(registry) {
  for (auto code : refusal_codes())
    refused_.emplace(code, &registry.counter("auditfwd_events_refused_total", "Events refused, by error code.",
                                             {{"error", std::string(code)}}));
}

Counter& DaemonMetrics::events_refused(std::string_view code) {
  if (auto it = refused_.find(code); it != refused_.end()) return *it->second;
  return registry_.counter("auditfwd_events_refused_total", "Events refused, by error code.",
                           {{"error", std::string(code)}});
}

void ForwarderMetrics::record_failure(std::string reason, std::int64_t at_unix_ms) {
  std::lock_guard lock(mutex_);
  last_error_ = LastError{std::move(reason), at_unix_ms};
}

std::optional<ForwarderMetrics::LastError> ForwarderMetrics::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::vector<std::string> DaemonMetrics::forwarder_ids() {
  std::lock_guard lock(forwarders_mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, metrics] : forwarders_) ids.push_back(id);
  return ids;
}

ForwarderMetrics& DaemonMetrics::forwarder(const std::string& id) {
  std::lock_guard lock(forwarders_mutex_);
  if (auto it = forwarders_.find(id); it != forwarders_.end()) return *it->second;
  auto created = std::make_unique<ForwarderMetrics>();
  auto& metrics = *created;
  static constexpr std::array<const char*, ForwarderMetrics::outcome_count> names{"ok", "retry", "permanent",
                                                                                  "timeout"};
  for (int i = 0; i < ForwarderMetrics::outcome_count; ++i)
    metrics.deliveries[static_cast<std::size_t>(i)] = &registry_.counter(
        "auditfwd_deliveries_total",
        "Deliveries (one call of a forwarder with a batch) by outcome: ok, retry, permanent, timeout.",
        {{"forwarder", id}, {"outcome", names[static_cast<std::size_t>(i)]}});
  metrics.delivered_events = &registry_.counter("auditfwd_delivered_events_total",
                                                "Events a forwarder delivered (outcome ok).", {{"forwarder", id}});
  return *forwarders_.emplace(id, std::move(created)).first->second;
}

void DaemonMetrics::set_build_info(std::string version) {
  version_ = std::move(version);
  registry_
      .gauge("auditfwd_build_info", "The running build: its version in the label, value 1.", {{"version", version_}})
      .set(1);
}

MetricsRegistry& process_metrics_registry() {
  static MetricsRegistry registry;
  return registry;
}

DaemonMetrics& daemon_metrics() {
  static DaemonMetrics metrics(process_metrics_registry());
  return metrics;
}

}  // namespace auditfwd
