// Unit tests for TaskGroup: waiting ends when the last task ends (no polling), or at the deadline.
#include "concurrency/task_group.hpp"

#include "concurrency/wake_signal.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <stdexcept>
#include <thread>

using namespace auditfwd;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
asio::awaitable<void> wait_for(WakeSignal& signal) { co_await signal.wait(); }

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}
}  // namespace

TEST_CASE("TaskGroup: wait_until ends as the last task ends, each task's on_end first") {
  asio::io_context io;
  TaskGroup group(io.get_executor());
  int ended = 0;
  std::exception_ptr failure;
  group.spawn(asio::make_strand(io), sleep_for(30ms), [&](std::exception_ptr) { ++ended; });
  group.spawn(asio::make_strand(io), sleep_for(60ms), [&](std::exception_ptr) { ++ended; });
  group.spawn(
      asio::make_strand(io),
      []() -> asio::awaitable<void> {
        throw std::runtime_error("boom");
        co_return;
      }(),
      [&](std::exception_ptr error) { failure = error; });
  CHECK(group.size() == 3);
  bool all_ended = false;
  std::chrono::steady_clock::duration waited{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const auto start = std::chrono::steady_clock::now();
        all_ended = co_await group.wait_until(start + 10s);
        waited = std::chrono::steady_clock::now() - start;
        CHECK(ended == 2);
      },
      asio::detached);
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  CHECK(all_ended);
  CHECK(group.size() == 0);
  CHECK(failure != nullptr);
  CHECK(waited >= 60ms);
  CHECK(waited < 5s);
}

TEST_CASE("TaskGroup: wait_until gives up at the deadline while a task still runs") {
  asio::io_context io;
  TaskGroup group(io.get_executor());
  WakeSignal release(io.get_executor());
  group.spawn(io.get_executor(), wait_for(release), [](std::exception_ptr) {});
  bool all_ended = true;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        all_ended = co_await group.wait_until(std::chrono::steady_clock::now() + 50ms);
        CHECK(group.size() == 1);
        release.notify();
        CHECK(co_await group.wait_until(std::chrono::steady_clock::now() + 10s));
      },
      asio::detached);
  io.run();
  CHECK_FALSE(all_ended);
  CHECK(group.size() == 0);
}

TEST_CASE("TaskGroup: an empty group's wait returns at once") {
  asio::io_context io;
  TaskGroup group(io.get_executor());
  bool done = false;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { done = co_await group.wait_until(std::chrono::steady_clock::now() + 10s); },
      asio::detached);
  io.run_for(1s);
  CHECK(done);
}
