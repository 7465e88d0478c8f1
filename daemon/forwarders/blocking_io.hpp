// Running system calls that may block (files, pipes) on a pool of their own, so a slow disk
// or a stalled reader never holds an I/O thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace auditfwd {

// Runs `work()` on `pool` (ForwarderContext::blocking) and resumes the caller on its own executor.
template <typename Work>
auto run_blocking(const boost::asio::any_io_executor& pool, Work work) -> boost::asio::awaitable<decltype(work())> {
  co_return co_await boost::asio::co_spawn(
      pool, [&work]() -> boost::asio::awaitable<decltype(work())> { co_return work(); }, boost::asio::use_awaitable);
}

}  // namespace auditfwd
