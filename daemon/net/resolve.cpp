// The lookup runs beside a timer; whichever ends first wins, and the loser's result is dropped.
#include "net/resolve.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <mutex>

namespace auditfwd {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

asio::awaitable<Resolved> resolve_within(asio::any_io_executor io, std::string host,
                                         std::chrono::milliseconds deadline) {
  error_code not_literal;
  if (const auto literal = asio::ip::make_address(host, not_literal); !not_literal) co_return Resolved{{}, {literal}};

  // Shared with the resolver's completion handler, which may run after this coroutine has returned.
  struct Lookup {
    Lookup(const asio::any_io_executor& io, const asio::any_io_executor& mine) : resolver(io), timer(mine) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    std::mutex mutex;  // the answer may arrive on another thread than the coroutine's
    bool done = false;
    bool abandoned = false;
    Resolved answer;
  };
  const auto mine = co_await asio::this_coro::executor;
  auto lookup = std::make_shared<Lookup>(io, mine);
  lookup->timer.expires_after(deadline);
  // Port 0, numeric: only the addresses matter, one entry per address (SOCK_STREAM hints).
  lookup->resolver.async_resolve(
      host, "0", tcp::resolver::numeric_service,
      asio::bind_executor(mine, [lookup](error_code ec, tcp::resolver::results_type results) {
        std::lock_guard lock(lookup->mutex);
        lookup->done = true;
        lookup->answer.error = ec;
        for (const auto& entry : results) {
          const auto address = entry.endpoint().address();
          auto& addresses = lookup->answer.addresses;
          if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) addresses.push_back(address);
        }
        if (!ec && lookup->answer.addresses.empty()) lookup->answer.error = asio::error::host_not_found;
        if (!lookup->abandoned) lookup->timer.cancel();
      }));
  // Cancelling the caller cancels this wait (timers honour per-operation cancellation; the resolver does not).
  co_await lookup->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  {
    std::lock_guard lock(lookup->mutex);
    lookup->abandoned = true;
    if (lookup->done) co_return std::move(lookup->answer);
  }
  lookup->resolver.cancel();  // drops the queued lookup; one already in getaddrinfo runs on, unheard
  const auto state = co_await asio::this_coro::cancellation_state;
  const bool by_caller = state.cancelled() != asio::cancellation_type::none;
  co_return Resolved{by_caller ? asio::error::operation_aborted : asio::error::timed_out, {}};
}

std::string describe_resolve_failure(const std::string& host, const error_code& error,
                                     std::chrono::milliseconds deadline) {
  if (error == asio::error::timed_out) return fmt::format("resolve {}: no answer within {}ms", host, deadline.count());
  if (error == asio::error::operation_aborted) return fmt::format("resolve {}: cancelled", host);
  return fmt::format("resolve {}: {}", host, error.message());
}

}  // namespace auditfwd
