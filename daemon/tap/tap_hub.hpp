// Live copies of accepted events for `auditfwd tap`, each tap behind its own bounded buffer.
#pragma once

#include "event/action_pattern.hpp"
#include "metrics/metric_types.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// Which accepted events a tap wants: an action pattern ("user.*"), a forwarder
// that took the event (delivered or queued it); each unset matches every event.
struct TapFilter {
  std::optional<ActionPattern> action;
  std::string forwarder;
};

// One tap's queue. The publisher never waits for the reader: an event that
// does not fit the buffer is dropped and counted, here and in tap_dropped_total.
class TapSubscription {
 public:
  TapSubscription(TapFilter filter, std::size_t max_buffered_bytes)
      : filter_(std::move(filter)), max_bytes_(max_buffered_bytes) {}

  const TapFilter& filter() const { return filter_; }

  // Publisher side: queues `line` (an event's JSON) or counts it dropped.
  void offer(std::string_view line, Counter& dropped_total);

  // Reader side: takes every queued line, and how many were dropped in all so far.
  struct Taken {
    std::vector<std::string> lines;
    std::uint64_t dropped = 0;
  };
  Taken take();

 private:
  TapFilter filter_;
  std::size_t max_bytes_;
  std::mutex mutex_;
  std::deque<std::string> lines_;
  std::size_t bytes_ = 0;
  std::uint64_t dropped_ = 0;
};

// Thread-safe. Sessions ask active() per chunk (one relaxed load) and, only
// while a tap is connected, copy what they publish.
class TapHub {
 public:
  explicit TapHub(Counter& dropped_total) : dropped_total_(dropped_total) {}

  bool active() const noexcept { return subscribers_.load(std::memory_order_relaxed) > 0; }

  std::shared_ptr<TapSubscription> subscribe(TapFilter filter, std::size_t max_buffered_bytes);
  void unsubscribe(const std::shared_ptr<TapSubscription>& subscription);

  // One accepted event: its action, the forwarders that took it, its JSON.
  void publish(std::string_view action, const std::vector<std::string_view>& taken_by, std::string_view json);

 private:
  Counter& dropped_total_;
  std::atomic<int> subscribers_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<TapSubscription>> subscriptions_;
};

// The process's hub (its drops count in daemon_metrics().tap_dropped).
TapHub& event_tap();

}  // namespace auditfwd
