// Accounting for ingest memory across connections.
#include "ingest/buffer_budget.hpp"

#include <algorithm>
#include <iterator>

namespace auditfwd {

BufferBudget::BufferBudget(std::size_t limit, std::size_t per_connection, std::size_t floor)
    : limit_(limit), per_connection_(std::max(per_connection, floor)), floor_(floor) {}

void BufferBudget::update(std::size_t before, std::size_t after) {
  if (before == after) return;
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mutex_);
    total_ = total_ - before + after;
    peak_ = std::max(peak_, total_);
    if (after < before && total_ < limit_ && !waiting_.empty()) {
      // Wake as many as the room can take at a floor each (at least one), oldest first:
      // waking every waiter for a few freed bytes would have them all read and overshoot.
      const std::size_t count = std::min(waiting_.size(), (limit_ - total_) / floor_ + 1);
      const auto woken_end = waiting_.begin() + static_cast<std::ptrdiff_t>(count);
      wake.assign(std::make_move_iterator(waiting_.begin()), std::make_move_iterator(woken_end));
      waiting_.erase(waiting_.begin(), woken_end);
    }
  }
  for (auto& w : wake) w();
}

std::size_t BufferBudget::allowance(std::size_t held) const {
  std::lock_guard lock(mutex_);
  if (total_ >= limit_) return floor_;
  return std::clamp(held + (limit_ - total_), floor_, per_connection_);
}

void BufferBudget::when_room(std::function<void()> wake) {
  {
    std::lock_guard lock(mutex_);
    if (total_ >= limit_) {
      waiting_.push_back(std::move(wake));
      return;
    }
  }
  wake();
}

std::size_t BufferBudget::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::size_t BufferBudget::take_peak() {
  std::lock_guard lock(mutex_);
  const auto peak = peak_;
  peak_ = total_;
  return peak;
}

}  // namespace auditfwd
