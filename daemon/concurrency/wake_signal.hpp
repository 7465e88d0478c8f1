// Wakes the coroutines of one strand that wait for a condition another coroutine of the strand changes.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>

namespace auditfwd {

// A waiter checks its condition, then waits; whoever changes the condition
// calls notify(). A wake-up is never lost: one that comes before the wait
// makes the wait return at once (so a waiter may wake with nothing to do, and
// checks again). Up to `waiters` coroutines are woken by one notify().
// Not thread-safe: every call on the executor's strand (post to it).
class WakeSignal {
 public:
  using clock = std::chrono::steady_clock;

  explicit WakeSignal(const boost::asio::any_io_executor& executor, std::size_t waiters = 1)
      : pending_(executor, waiters), waiters_(waiters) {}

  void notify() {
    for (std::size_t i = 0; i < waiters_; ++i)
      if (!pending_.try_send(boost::system::error_code{})) break;
  }

  // Every wait, now and later, returns false at once.
  void close() { pending_.close(); }

  // True when woken; false when closed or when the wait was cancelled.
  boost::asio::awaitable<bool> wait() {
    auto [error] = co_await pending_.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return !error;
  }

  // As wait(), and true at `deadline` if nothing woke it before.
  boost::asio::awaitable<bool> wait_until(clock::time_point deadline) {
    using namespace boost::asio::experimental::awaitable_operators;
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, deadline);
    auto woken = co_await (pending_.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable)) ||
                           timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)));
    if (woken.index() == 0) co_return !std::get<0>(std::get<0>(woken));
    co_return !std::get<0>(std::get<1>(woken));  // the deadline, unless the wait was cancelled
  }

 private:
  boost::asio::experimental::channel<void(boost::system::error_code)> pending_;
  std::size_t waiters_;
};

}  // namespace auditfwd
