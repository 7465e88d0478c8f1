// Coroutines spawned as a group that their owner can wait for, with a deadline.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <utility>

namespace auditfwd {

// Thread-safe. Every task is counted from spawn() until it ends (after its
// `on_end` ran), so stop and drain wait for exactly the tasks they started,
// and end without polling. The group must outlive its tasks: a task still
// running when the io_context is shut down is destroyed without ending.
class TaskGroup {
 public:
  using clock = std::chrono::steady_clock;

  // `executor`: where wait_until() is woken.
  explicit TaskGroup(const boost::asio::any_io_executor& executor) : emptied_(executor, 1) {}
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Runs `task` on `executor`; `on_end(std::exception_ptr)` runs when it ends
  // (with the exception that ended it, or null).
  template <typename Executor, typename OnEnd>
  void spawn(const Executor& executor, boost::asio::awaitable<void> task, OnEnd on_end) {
    {
      std::lock_guard lock(mutex_);
      ++running_;
    }
    boost::asio::co_spawn(executor, std::move(task),
                          [this, on_end = std::move(on_end)](std::exception_ptr error) mutable {
                            on_end(error);
                            ended();
                          });
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return running_;
  }

  // True once every task ended; false if some still run at `deadline`.
  boost::asio::awaitable<bool> wait_until(clock::time_point deadline);

 private:
  void ended();

  mutable std::mutex mutex_;
  std::size_t running_ = 0;
  // Holds a token once the group became empty: wakes (or spares) the next wait.
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> emptied_;
};

}  // namespace auditfwd
