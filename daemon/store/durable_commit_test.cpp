// Unit tests for DurableCommit: waiting before and after the sync, never inline.
#include "store/durable_commit.hpp"

#include <doctest/doctest.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

using namespace auditfwd;
namespace asio = boost::asio;

TEST_CASE("DurableCommit: a waiter runs on its executor once the commit is marked durable, not before") {
  asio::io_context io;
  DurableCommit commit;
  bool done = false;
  commit.async_wait(asio::bind_executor(io, [&] { done = true; }));
  io.poll();
  CHECK_FALSE(done);
  std::thread syncer([&] { commit.mark_durable(); });  // as the syncer thread does
  syncer.join();
  CHECK_FALSE(done);  // queued on the io_context, not run on the syncer's thread
  io.restart();       // poll() found no work and stopped it
  io.run();
  CHECK(done);
}

TEST_CASE("DurableCommit: every waiter runs (one commit holds the requests of several sessions)") {
  asio::io_context io;
  DurableCommit commit;
  int done = 0;
  for (int session = 0; session < 3; ++session) commit.async_wait(asio::bind_executor(io, [&] { ++done; }));
  commit.mark_durable();
  io.run();
  CHECK(done == 3);
}

TEST_CASE("DurableCommit: waiting inside a coroutine after the sync resumes it, not inline") {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  DurableCommit commit;
  commit.mark_durable();
  int step = 0;
  asio::co_spawn(
      strand,
      [&]() -> asio::awaitable<void> {
        step = 1;
        co_await commit.async_wait(asio::use_awaitable);
        step = 2;
      },
      asio::detached);
  io.run_one();  // runs the coroutine up to its wait, which must not complete inside async_wait
  CHECK(step == 1);
  io.run();
  CHECK(step == 2);
}

TEST_CASE("DurableCommit: waiting after the sync completes at once, through the executor") {
  asio::io_context io;
  DurableCommit commit;
  commit.mark_durable();
  bool done = false;
  commit.async_wait(asio::bind_executor(io, [&] { done = true; }));
  CHECK_FALSE(done);  // never inline from async_wait
  io.run();
  CHECK(done);
}
