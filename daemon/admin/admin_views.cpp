// Health, the scraped metric families and event rates.
#include "admin/admin_views.hpp"

#include <boost/json/serialize.hpp>

namespace auditfwd {

HealthVerdict judge_health(bool ingest_listening, bool store_enabled, bool store_healthy) {
  if (!ingest_listening) return {false, "the ingest socket is not listening"};
  if (store_enabled && !store_healthy)
    return {false, "the last job store commit failed (disk full or I/O error?): async delivery is paused"};
  return {true, {}};
}

std::string health_json(const HealthVerdict& verdict) {
  boost::json::object body{{"status", verdict.ok ? "ok" : "failing"}};
  if (!verdict.ok) body["reason"] = verdict.reason;
  return boost::json::serialize(body);
}

std::vector<CollectedFamily> scrape_families(const ScrapeInputs& inputs) {
  std::vector<CollectedFamily> families;
  families.push_back({"process_resident_memory_bytes",
                      "Resident memory size in bytes.",
                      MetricType::gauge,
                      {{{}, static_cast<double>(inputs.process.resident_memory_bytes)}}});
  families.push_back({"process_cpu_seconds_total",
                      "Total user and system CPU time spent in seconds.",
                      MetricType::counter,
                      {{{}, inputs.process.cpu_seconds}}});
  families.push_back({"process_open_fds",
                      "Number of open file descriptors.",
                      MetricType::gauge,
                      {{{}, static_cast<double>(inputs.process.open_fds)}}});
  families.push_back({"process_start_time_seconds",
                      "Start time of the process since the Unix epoch in seconds.",
                      MetricType::gauge,
                      {{{}, inputs.process.start_time_seconds}}});
  if (!inputs.store_enabled) return families;
  families.push_back({"auditfwd_store_bytes",
                      "Size of the job store (database and WAL) in bytes.",
                      MetricType::gauge,
                      {{{}, static_cast<double>(inputs.store_bytes)}}});
  families.push_back({"auditfwd_store_limit_bytes",
                      "store.max_bytes (0: no limit but the disk).",
                      MetricType::gauge,
                      {{{}, static_cast<double>(inputs.store_limit_bytes)}}});
  if (!inputs.backlog) return families;
  CollectedFamily jobs{"auditfwd_jobs", "Jobs in the store by forwarder and state.", MetricType::gauge, {}};
  for (const auto& [forwarder, state, count] : inputs.backlog->jobs_by_state)
    jobs.samples.push_back({{{"forwarder", forwarder}, {"state", state}}, static_cast<double>(count)});
  families.push_back(std::move(jobs));
  CollectedFamily oldest{"auditfwd_oldest_pending_seconds",
                         "Age of the oldest job not yet delivered, per forwarder with pending jobs.",
                         MetricType::gauge,
                         {}};
  for (const auto& [forwarder, inserted_ms] : inputs.backlog->oldest_pending_ms)
    oldest.samples.push_back(
        {{{"forwarder", forwarder}},
         static_cast<double>(std::max<std::int64_t>(0, inputs.now_unix_ms - inserted_ms)) / 1000.0});
  families.push_back(std::move(oldest));
  return families;
}

void RateWindow::add(clock::time_point at, std::map<std::string, std::uint64_t> totals) {
  samples_.push_back({at, std::move(totals)});
  // Keep one sample at or before the span's start, so the rate covers the whole span.
  while (samples_.size() > 2 && samples_[1].at <= at - span_) samples_.pop_front();
}

double RateWindow::rate(const std::string& key) const {
  if (samples_.size() < 2) return 0;
  const auto& first = samples_.front();
  const auto& last = samples_.back();
  const double seconds = std::chrono::duration<double>(last.at - first.at).count();
  if (seconds <= 0) return 0;
  auto value = [&](const Sample& sample) -> double {
    const auto it = sample.totals.find(key);
    return it == sample.totals.end() ? 0.0 : static_cast<double>(it->second);
  };
  return std::max(0.0, value(last) - value(first)) / seconds;
}

}  // namespace auditfwd
