// Waiting for a task group: the last task to end wakes the waiter; a timer bounds the wait.
#include "concurrency/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace auditfwd {
namespace asio = boost::asio;

void TaskGroup::ended() {
  // Under the lock: a waiter that sees the group empty returns only after this send.
  std::lock_guard lock(mutex_);
  if (--running_ == 0) emptied_.try_send(boost::system::error_code{});
}

asio::awaitable<bool> TaskGroup::wait_until(clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  for (;;) {
    if (size() == 0) co_return true;
    auto woken = co_await (emptied_.async_receive(asio::as_tuple(asio::use_awaitable)) ||
                           timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (woken.index() == 1) co_return size() == 0;               // the deadline (or the wait was cancelled)
    if (std::get<0>(std::get<0>(woken))) co_return size() == 0;  // cancelled
  }
}

}  // namespace auditfwd
