// Resolution within a deadline: literals need no lookup, names come back as addresses, failures read plainly.
#include "net/resolve.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace auditfwd {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

Resolved resolve(const std::string& host, std::chrono::milliseconds deadline) {
  asio::io_context io;
  auto future = asio::co_spawn(io, resolve_within(io.get_executor(), host, deadline), asio::use_future);
  io.run();
  return future.get();
}

}  // namespace

TEST_CASE("an IP literal is its own address, even with no time to look anything up") {
  auto v4 = resolve("192.0.2.7", 0ms);
  CHECK_FALSE(v4.error);
  REQUIRE(v4.addresses.size() == 1);
  CHECK(v4.addresses[0].to_string() == "192.0.2.7");
  auto v6 = resolve("::1", 0ms);
  CHECK_FALSE(v6.error);
  REQUIRE(v6.addresses.size() == 1);
  CHECK(v6.addresses[0].is_v6());
}

TEST_CASE("a name resolves to its addresses, each once") {
  auto local = resolve("localhost", 10s);
  REQUIRE_FALSE(local.error);
  REQUIRE_FALSE(local.addresses.empty());
  for (const auto& address : local.addresses) CHECK(address.is_loopback());
  for (std::size_t i = 0; i < local.addresses.size(); ++i)
    for (std::size_t j = i + 1; j < local.addresses.size(); ++j) CHECK(local.addresses[i] != local.addresses[j]);
}

TEST_CASE("a resolve failure names the host and the reason") {
  CHECK(describe_resolve_failure("logs.example", asio::error::timed_out, 1500ms) ==
        "resolve logs.example: no answer within 1500ms");
  CHECK(describe_resolve_failure("logs.example", asio::error::operation_aborted, 1500ms) ==
        "resolve logs.example: cancelled");
  CHECK(describe_resolve_failure("logs.example", asio::error::host_not_found, 1500ms)
            .starts_with("resolve logs.example: "));
}

}  // namespace auditfwd
