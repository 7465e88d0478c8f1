// Name resolution bounded by a deadline: getaddrinfo cannot be interrupted, so the wait for it is abandoned instead.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace auditfwd {

// The addresses a host name stands for, or why there are none.
struct Resolved {
  // asio::error::timed_out: no answer within the deadline; operation_aborted:
  // the caller was cancelled; otherwise the resolver's own error.
  boost::system::error_code error;
  std::vector<boost::asio::ip::address> addresses;  // resolver order, no duplicates; not empty on success
};

// Resolves `host`. An IP literal is returned at once, without a lookup. A
// name is looked up on `io`'s resolver thread while the calling coroutine
// waits at most `deadline`, and less if it is cancelled (per-operation
// cancellation, e.g. a forwarder's `timeout`): it returns on the answer, the
// deadline or the cancellation, whichever comes first, and a late answer is
// dropped. Asio runs its lookups one at a time on one thread per io_context,
// so a lookup that hangs delays the ones queued behind it; each of them still
// returns by its own deadline.
boost::asio::awaitable<Resolved> resolve_within(boost::asio::any_io_executor io, std::string host,
                                                std::chrono::milliseconds deadline);

// "resolve <host>: <why>", with "no answer within <deadline>ms" for a timeout.
std::string describe_resolve_failure(const std::string& host, const boost::system::error_code& error,
                                     std::chrono::milliseconds deadline);

}  // namespace auditfwd
