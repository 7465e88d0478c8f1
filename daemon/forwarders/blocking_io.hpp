// A small thread pool for forwarders whose system calls may block (files, pipes),
// so a slow disk or a stalled reader never holds an I/O thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace auditfwd {

// The process-wide pool (2 threads), started on first use.
boost::asio::thread_pool& blocking_io_pool();

// Runs `work()` on the blocking pool and resumes the caller on its own executor.
template <typename Work>
auto run_blocking(Work work) -> boost::asio::awaitable<decltype(work())> {
  co_return co_await boost::asio::co_spawn(
      blocking_io_pool(), [&work]() -> boost::asio::awaitable<decltype(work())> { co_return work(); },
      boost::asio::use_awaitable);
}

}  // namespace auditfwd
