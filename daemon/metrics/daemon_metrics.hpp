// The daemon's metrics (DESIGN.md, Operations), one set per process, reachable from every subsystem.
#pragma once

#include "metrics/metrics_registry.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// One forwarder's delivery counters. A delivery is one call of the forwarder
// with a batch of events (one request, one write); its outcome is the batch's:
// ok when every event was delivered, else that of its first event that was not.
struct ForwarderMetrics {
  enum Outcome { ok, retry, permanent, timeout, outcome_count };
  std::array<Counter*, outcome_count> deliveries{};
  Counter* delivered_events = nullptr;  // events whose outcome was ok

  // For `auditfwd status`: whether the last delivery failed, and the last failure.
  struct LastError {
    std::string reason;  // as the job's error history holds it (secrets redacted)
    std::int64_t at_unix_ms = 0;
  };
  std::atomic<bool> last_delivery_failed{false};
  void record_failure(std::string reason, std::int64_t at_unix_ms);
  std::optional<LastError> last_error() const;

 private:
  mutable std::mutex mutex_;
  std::optional<LastError> last_error_;
};

// Every metric the daemon updates as it works, registered at 0 in one registry
// so that a scrape shows each series from the start. Metrics computed at scrape
// time (jobs per state, oldest pending job, process figures) are the admin
// endpoint's. Thread-safe; every update is a relaxed atomic add.
class DaemonMetrics {
 public:
  explicit DaemonMetrics(MetricsRegistry& registry);

  MetricsRegistry& registry() { return registry_; }

  Counter& events_received;
  Counter& events_accepted;
  // `code` is a wire error code of protocol v1 (invalid_json, …, rate_limited).
  Counter& events_refused(std::string_view code);
  Gauge& connections;
  Histogram& reply_seconds;
  Histogram& commit_seconds;
  Histogram& fsync_seconds;
  Counter& config_reloads_ok;
  Counter& config_reloads_failed;
  Counter& tap_dropped;

  // Registered on first use and kept (a forwarder removed by a reload keeps its counts).
  ForwarderMetrics& forwarder(const std::string& id);
  // The ids seen so far, sorted.
  std::vector<std::string> forwarder_ids();

  // auditfwd_build_info{version} = 1. Once, at start, before other threads read version().
  void set_build_info(std::string version);
  const std::string& version() const { return version_; }

  // Health inputs read by the admin endpoint.
  std::atomic<bool> ingest_listening{false};

 private:
  MetricsRegistry& registry_;
  std::string version_;
  std::map<std::string, Counter*, std::less<>> refused_;
  std::mutex forwarders_mutex_;
  std::map<std::string, std::unique_ptr<ForwarderMetrics>, std::less<>> forwarders_;
};

// The process's registry and metrics (created on first use).
MetricsRegistry& process_metrics_registry();
DaemonMetrics& daemon_metrics();

// The wire error codes a refused event can carry, in protocol v1's order.
const std::array<std::string_view, 8>& refusal_codes();

}  // namespace auditfwd
