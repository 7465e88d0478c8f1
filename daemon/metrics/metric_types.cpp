// The histogram's buckets; counters and gauges are inline.
#include "metrics/metric_types.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace auditfwd {

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {
  if (!std::is_sorted(upper_bounds_.begin(), upper_bounds_.end()) ||
      std::adjacent_find(upper_bounds_.begin(), upper_bounds_.end()) != upper_bounds_.end())
    throw std::invalid_argument("histogram bounds must increase");
  for (double bound : upper_bounds_) upper_bounds_ns_.push_back(std::llround(bound * 1e9));
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(std::chrono::nanoseconds duration, std::uint64_t count) noexcept {
  const std::int64_t ns = std::max<std::int64_t>(0, duration.count());
  std::size_t bucket = 0;
  while (bucket < upper_bounds_ns_.size() && ns > upper_bounds_ns_[bucket]) ++bucket;
  buckets_[bucket].fetch_add(count, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns) * count, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.upper_bounds = upper_bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = running;
  snapshot.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return snapshot;
}

std::vector<double> latency_buckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace auditfwd
