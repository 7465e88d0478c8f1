// Refusals and forced closes, logged at most once per second per reason, with a count.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace auditfwd {

// The counting behind RefusalLog, without a clock or a logger. For each reason:
// the first occurrence is reported at once; later ones within `period` of the
// last report are counted and reported together by due() once the period has
// passed, so a reason makes at most one report per period and none is lost.
class RateLimitedCounter {
 public:
  using clock = std::chrono::steady_clock;

  struct Report {
    std::string reason;
    std::string message;  // the last occurrence's
    std::size_t count;
  };

  explicit RateLimitedCounter(clock::duration period = std::chrono::seconds(1)) : period_(period) {}

  // One occurrence; returns the report to make now, if any.
  std::optional<Report> note(const std::string& reason, std::string message, clock::time_point now);
  // The counts held back whose period has ended.
  std::vector<Report> due(clock::time_point now);

 private:
  struct Entry {
    clock::time_point quiet_until{};
    std::size_t held = 0;
    std::string message;
  };
  clock::duration period_;
  std::map<std::string, Entry> entries_;
};

// Thread-safe: sessions (on their strands) and the acceptor note refusals; the
// server calls flush() about once a second.
class RefusalLog {
 public:
  explicit RefusalLog(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

  // `reason` groups occurrences (a config key, e.g. "ingest.max_connections_per_uid");
  // `message` says what happened this time.
  void note(const std::string& reason, std::string message);
  void flush();
  // Every occurrence so far, per reason: what the log lines add up to.
  std::map<std::string, std::size_t> totals() const;

 private:
  void write(const RateLimitedCounter::Report& report);

  std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex mutex_;
  RateLimitedCounter counter_;
  std::map<std::string, std::size_t> totals_;
};

}  // namespace auditfwd
