// Counters, gauges and histograms cheap enough for the ingest path: one relaxed atomic add each.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace auditfwd {

// Only goes up. add() is a relaxed atomic add: no lock, no ordering with other memory.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (open connections), or is set (bytes used).
class Gauge {
 public:
  void add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Durations in fixed buckets (upper bounds in seconds, increasing; +Inf is implied).
// observe() finds the bucket by a short linear search and makes three relaxed
// atomic adds; a scrape may see a sum and counts of slightly different moments,
// as Prometheus client libraries allow.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  // `count` observations of the same duration (a chunk's replies, written together).
  void observe(std::chrono::nanoseconds duration, std::uint64_t count = 1) noexcept;

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf last
    double sum_seconds = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> upper_bounds_;
  std::vector<std::int64_t> upper_bounds_ns_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bound, then +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Bounds from 50 µs to 10 s: a commit, an fdatasync or a reply on a local disk.
std::vector<double> latency_buckets();

}  // namespace auditfwd
