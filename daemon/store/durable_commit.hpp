// The moment a commit is on disk, as something a coroutine can wait for.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <mutex>
#include <vector>

namespace auditfwd {

// With durability "fsync" the store answers a request as soon as the
// transaction holding it commits, so the caller can go on (a session reads its
// client's next events, which join the next commit), and hands it one of these
// with the result. Whatever reports that result, a reply above all, waits for
// it: it completes once an fdatasync that began after the commit has returned.
class DurableCommit {
 public:
  // Any thread, once.
  void mark_durable();

  // Signature void(), on the handler's own executor. Any number of waiters:
  // one commit holds the requests of several sessions.
  template <typename Token>
  auto async_wait(Token&& token) {
    return boost::asio::async_initiate<Token, void()>(
        [this](auto handler) {
          {
            std::lock_guard lock(mutex_);
            if (!durable_) {
              waiters_.emplace_back(std::move(handler));
              return;
            }
          }
          // Already on disk. Posted with the handler's own type: through a
          // type-erased executor it could run inline, inside this very call.
          boost::asio::post(std::move(handler));
        },
        token);
  }

 private:
  std::mutex mutex_;
  bool durable_ = false;
  // Only constructed, moved (noexcept) and swapped as a whole: Boost 1.81's
  // any_completion_handler move-assignment recurses without end (fixed in 1.82).
  std::vector<boost::asio::any_completion_handler<void()>> waiters_;
};

}  // namespace auditfwd
