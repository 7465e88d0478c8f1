// Fan-out to taps without back-pressure: a full buffer drops, it never blocks ingest.
#include "tap/tap_hub.hpp"

#include "metrics/daemon_metrics.hpp"

#include <algorithm>

namespace auditfwd {

void TapSubscription::offer(std::string_view line, Counter& dropped_total) {
  std::lock_guard lock(mutex_);
  if (bytes_ + line.size() > max_bytes_) {
    ++dropped_;
    dropped_total.add();
    return;
  }
  bytes_ += line.size();
  lines_.emplace_back(line);
}

TapSubscription::Taken TapSubscription::take() {
  std::lock_guard lock(mutex_);
  Taken taken{{std::make_move_iterator(lines_.begin()), std::make_move_iterator(lines_.end())}, dropped_};
  lines_.clear();
  bytes_ = 0;
  return taken;
}

std::shared_ptr<TapSubscription> TapHub::subscribe(TapFilter filter, std::size_t max_buffered_bytes) {
  auto subscription = std::make_shared<TapSubscription>(std::move(filter), max_buffered_bytes);
  std::lock_guard lock(mutex_);
  subscriptions_.push_back(subscription);
  subscribers_.store(static_cast<int>(subscriptions_.size()), std::memory_order_relaxed);
  return subscription;
}

void TapHub::unsubscribe(const std::shared_ptr<TapSubscription>& subscription) {
  std::lock_guard lock(mutex_);
  std::erase(subscriptions_, subscription);
  subscribers_.store(static_cast<int>(subscriptions_.size()), std::memory_order_relaxed);
}

void TapHub::publish(std::string_view action, const std::vector<std::string_view>& taken_by, std::string_view json) {
  std::lock_guard lock(mutex_);
  for (const auto& subscription : subscriptions_) {
    const auto& filter = subscription->filter();
    if (filter.action && !filter.action->matches(action)) continue;
    if (!filter.forwarder.empty() && std::find(taken_by.begin(), taken_by.end(), filter.forwarder) == taken_by.end())
      continue;
    subscription->offer(json, dropped_total_);
  }
}

TapHub& event_tap() {
  static TapHub hub(daemon_metrics().tap_dropped);
  return hub;
}

}  // namespace auditfwd
