// The error codes auditfwd reports to clients and operators, as one Boost.System category.
#pragma once

#include <boost/system/error_code.hpp>
#include <string_view>
#include <type_traits>

namespace auditfwd {

// Each value's wire name (error_name) is part of protocol v1 or of a
// forwarder's result; never renumber or rename one.
enum class errc {
  ok = 0,
  invalid_json,
  invalid_event,
  too_large,
  forbidden_key,
  unavailable,
  async_unavailable,  // async dispatch asked for, but the store is disabled or unhealthy
  store_full,         // store.max_pending_jobs or store.max_bytes reached
  store_error,        // SQLite failed (disk full, I/O error)
  timeout,            // a sync delivery exceeded its forwarder's timeout
  delivery_failed,    // a forwarder reported a failure
  id_conflict,        // a client id already stands for another event or another sender
  not_permitted,      // [[ingest.allow]] rules exist and none grants the sender this action
  rate_limited,       // the granting rule's token bucket for the sender is empty: retry later
};

const boost::system::error_category& auditfwd_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), auditfwd_category()}; }

// The snake_case name used on the wire ("invalid_json", "store_full", ...).
std::string_view error_name(errc e) noexcept;

}  // namespace auditfwd

template <>
struct boost::system::is_error_code_enum<auditfwd::errc> : std::true_type {};
