// Config reloads since start: what auditfwd_config_reloads_total{result} reports.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace auditfwd {

// Counted by the reloader, read by whoever reports them (the admin
// endpoint's /metrics). Thread-safe.
class ReloadCounters {
 public:
  enum class Result { ok, failed };

  struct Snapshot {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;  // invalid file, refused change (socket or store path), forwarder that cannot be built
    bool any = false;          // false until the first reload
    Result last = Result::ok;
    std::string last_reason;      // empty for ok; for failed, the log's reason (never a secret: the loader's words)
    std::int64_t last_at_ms = 0;  // Unix time of the last reload
  };

  void record(Result result, std::string reason, std::int64_t at_ms) {
    std::lock_guard lock(mutex_);
    (result == Result::ok ? counts_.ok : counts_.failed) += 1;
    counts_.any = true;
    counts_.last = result;
    counts_.last_reason = std::move(reason);
    counts_.last_at_ms = at_ms;
  }

  Snapshot snapshot() const {
    std::lock_guard lock(mutex_);
    return counts_;
  }

  // The label value of `result` in auditfwd_config_reloads_total{result}.
  static const char* label(Result result) noexcept { return result == Result::ok ? "ok" : "failed"; }

 private:
  mutable std::mutex mutex_;
  Snapshot counts_;
};

}  // namespace auditfwd
