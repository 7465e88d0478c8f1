// A flood of refusals makes one log line per second per reason, not one per connection.
#include "ingest/refusal_log.hpp"

#include <spdlog/logger.h>

namespace auditfwd {

std::optional<RateLimitedCounter::Report> RateLimitedCounter::note(const std::string& reason, std::string message,
                                                                   clock::time_point now) {
  auto& entry = entries_[reason];
  if (now >= entry.quiet_until && entry.held == 0) {
    entry.quiet_until = now + period_;
    return Report{reason, std::move(message), 1};
  }
  ++entry.held;
  entry.message = std::move(message);
  return std::nullopt;
}

std::vector<RateLimitedCounter::Report> RateLimitedCounter::due(clock::time_point now) {
  std::vector<Report> reports;
  for (auto& [reason, entry] : entries_) {
    if (entry.held == 0 || now < entry.quiet_until) continue;
    reports.push_back({reason, std::move(entry.message), entry.held});
    entry.held = 0;
    entry.message.clear();
    entry.quiet_until = now + period_;  // this report counts as the period's line
  }
  return reports;
}

void RefusalLog::note(const std::string& reason, std::string message) {
  std::optional<RateLimitedCounter::Report> report;
  {
    std::lock_guard lock(mutex_);
    ++totals_[reason];
    report = counter_.note(reason, std::move(message), RateLimitedCounter::clock::now());
  }
  if (report) write(*report);
}

void RefusalLog::flush() {
  std::vector<RateLimitedCounter::Report> reports;
  {
    std::lock_guard lock(mutex_);
    reports = counter_.due(RateLimitedCounter::clock::now());
  }
  for (const auto& report : reports) write(report);
}

std::map<std::string, std::size_t> RefusalLog::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

void RefusalLog::write(const RateLimitedCounter::Report& report) {
  std::size_t total;
  {
    std::lock_guard lock(mutex_);
    total = totals_[report.reason];
  }
  if (report.count == 1)
    log_->warn("{} ({}; {} in all)", report.message, report.reason, total);
  else
    log_->warn("{} more like this within a second: {} ({}; {} in all)", report.count, report.message, report.reason,
               total);
}

}  // namespace auditfwd
