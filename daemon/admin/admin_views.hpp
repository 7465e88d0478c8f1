// What the admin endpoint answers, computed from plain inputs (no sockets): health, scrape families, rates, status.
#pragma once

#include "admin/process_stats.hpp"
#include "metrics/metrics_registry.hpp"
#include "store/job_admin.hpp"

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace auditfwd {

// /health: failing while the ingest socket does not listen or the last store commit failed.
struct HealthVerdict {
  bool ok = true;
  std::string reason;  // when failing
};
HealthVerdict judge_health(bool ingest_listening, bool store_enabled, bool store_healthy);
// {"status":"ok"} or {"status":"failing","reason":"…"}.
std::string health_json(const HealthVerdict& verdict);

// What a scrape adds to the registry's live metrics.
struct ScrapeInputs {
  ProcessStats process;
  bool store_enabled = false;
  std::uint64_t store_bytes = 0;
  std::uint64_t store_limit_bytes = 0;  // 0: no limit
  std::optional<StoreBacklog> backlog;  // none: the store could not be read (or is disabled)
  std::int64_t now_unix_ms = 0;
};
std::vector<CollectedFamily> scrape_families(const ScrapeInputs& inputs);

// Counter totals sampled about once a second; rates over the last `span`.
class RateWindow {
 public:
  using clock = std::chrono::steady_clock;
  explicit RateWindow(clock::duration span = std::chrono::seconds(10)) : span_(span) {}

  void add(clock::time_point at, std::map<std::string, std::uint64_t> totals);
  // Per second between the oldest sample within the span and the newest; 0 with fewer than two.
  double rate(const std::string& key) const;

 private:
  struct Sample {
    clock::time_point at;
    std::map<std::string, std::uint64_t> totals;
  };
  clock::duration span_;
  std::deque<Sample> samples_;
};

}  // namespace auditfwd
