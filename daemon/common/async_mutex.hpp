// A mutex for coroutines: waiting suspends instead of blocking a thread, and the wait can be cancelled.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace auditfwd {

// Built on a one-slot thread-safe channel: a full slot means "locked", so a
// second locker's send waits until the holder's unlock empties it. Lockers on
// different strands or threads are served in order. Unlike a std::mutex it may
// be held across co_await.
class AsyncMutex {
 public:
  // Releases the mutex when destroyed; empty (false) if the wait was cancelled.
  class Lock {
   public:
    Lock() = default;
    explicit Lock(AsyncMutex* mutex) : mutex_(mutex) {}
    Lock(Lock&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Lock& operator=(Lock&& other) noexcept {
      if (this != &other) {
        release();
        mutex_ = std::exchange(other.mutex_, nullptr);
      }
      return *this;
    }
    ~Lock() { release(); }
    explicit operator bool() const { return mutex_ != nullptr; }

   private:
    void release() {
      if (mutex_) std::exchange(mutex_, nullptr)->unlock();
    }
    AsyncMutex* mutex_ = nullptr;
  };

  explicit AsyncMutex(const boost::asio::any_io_executor& executor) : slot_(executor, 1) {}

  // Waits for the mutex. Honours per-operation cancellation: a cancelled wait
  // returns an empty Lock and does not take the mutex.
  boost::asio::awaitable<Lock> lock() {
    auto [error] =
        co_await slot_.async_send(boost::system::error_code{}, boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return error ? Lock{} : Lock{this};
  }

 private:
  void unlock() {
    slot_.try_receive([](boost::system::error_code) {});
  }

  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> slot_;
};

}  // namespace auditfwd
