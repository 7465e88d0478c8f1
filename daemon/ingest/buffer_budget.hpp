// The memory all connections together may hold for buffered input and unsent replies.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace auditfwd {

// Each connection reports what it holds (its read buffer, its unfinished line,
// its replies not yet written); the budget adds them up and says how much a
// connection may hold:
// - while the total is below `limit`, up to `per_connection`, but no more than
//   the room left under `limit`;
// - at or above `limit`, only `floor`: every connection can always read a few
//   KiB and be answered, so connections that never read their replies (and hold
//   the budget) never stop a well-behaved client.
// The total therefore stays below limit + floor per connection (plus one read's
// replies, which a connection estimates before reading). Thread-safe.
class BufferBudget {
 public:
  static constexpr std::size_t default_floor = 8 * 1024;

  BufferBudget(std::size_t limit, std::size_t per_connection, std::size_t floor = default_floor);

  // A connection's holding changed from `before` to `after` bytes.
  void update(std::size_t before, std::size_t after);
  // How much a connection that holds `held` bytes may hold now.
  std::size_t allowance(std::size_t held) const;
  // Calls `wake` (once, on the thread that frees room) when the total drops below
  // the limit; at once if it is below now. Waiters are woken oldest first, as
  // many as the freed room holds at a floor each, at least one.
  void when_room(std::function<void()> wake);

  std::size_t total() const;
  // The highest total since the last call (then: the current total).
  std::size_t take_peak();
  std::size_t limit() const { return limit_; }
  std::size_t per_connection() const { return per_connection_; }
  std::size_t floor() const { return floor_; }

 private:
  const std::size_t limit_;
  const std::size_t per_connection_;
  const std::size_t floor_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::size_t peak_ = 0;
  std::deque<std::function<void()>> waiting_;
};

}  // namespace auditfwd
