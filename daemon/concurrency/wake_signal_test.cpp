// Unit tests for WakeSignal: no lost wake-up, one notify wakes every waiter it counts, close, deadline.
#include "concurrency/wake_signal.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

using namespace auditfwd;
namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST_CASE("WakeSignal: a notify before the wait is not lost; a wait after it sleeps until the next") {
  asio::io_context io;
  WakeSignal signal(io.get_executor());
  signal.notify();
  signal.notify();  // coalesced with the first
  int woken = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        while (co_await signal.wait()) ++woken;
      },
      asio::detached);
  io.run_for(50ms);
  CHECK(woken == 1);
  signal.notify();
  io.run_for(50ms);
  CHECK(woken == 2);
  signal.close();
  io.run_for(50ms);
  CHECK(io.stopped());  // the waiter returned false and ended
}

TEST_CASE("WakeSignal: one notify wakes every waiter it was built for") {
  asio::io_context io;
  WakeSignal signal(io.get_executor(), 3);
  int woken = 0;
  for (int i = 0; i < 3; ++i)
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          if (co_await signal.wait()) ++woken;
        },
        asio::detached);
  io.run_for(20ms);
  CHECK(woken == 0);
  signal.notify();
  io.run_for(50ms);
  CHECK(woken == 3);
}

TEST_CASE("WakeSignal: wait_until returns at the deadline, or early when woken") {
  asio::io_context io;
  WakeSignal signal(io.get_executor());
  std::chrono::steady_clock::duration slept{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto start = std::chrono::steady_clock::now();
        CHECK(co_await signal.wait_until(start + 100ms));
        slept = std::chrono::steady_clock::now() - start;
      },
      asio::detached);
  io.run();
  CHECK(slept >= 100ms);

  io.restart();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto start = std::chrono::steady_clock::now();
        asio::post(io, [&] { signal.notify(); });
        CHECK(co_await signal.wait_until(start + 10s));
        slept = std::chrono::steady_clock::now() - start;
      },
      asio::detached);
  io.run();
  CHECK(slept < 5s);
}
