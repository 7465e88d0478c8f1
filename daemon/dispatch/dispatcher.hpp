// Routes each accepted event to every forwarder by its dispatch mode and builds the replies.
#pragma once

#include "dispatch/forwarder_slot.hpp"
#include "event/event_validator.hpp"
#include "store/job_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace auditfwd {

// A line as the session read it: a validated event, or why it was refused.
using ParsedLine = boost::system::result<Event, Rejection>;

// Sync forwarders run inline in the caller's coroutine (the session strand),
// bounded by their timeout; async jobs of a whole chunk are committed in one
// store request. The reply for an event is written only after everything it
// reports has happened. Thread-safe: one Dispatcher serves every session.
class Dispatcher {
 public:
  // `store` is null when the store is disabled.
  Dispatcher(std::vector<ForwarderSlot>& slots, JobStore* store);

  // Returns the reply lines ('\n'-terminated, concatenated) for `lines`, in order.
  boost::asio::awaitable<std::string> dispatch(std::vector<ParsedLine> lines);

 private:
  bool reserve_in_flight(const std::string& id);
  void release_in_flight(const std::string& id);
  bool recently_seen(const std::string& id);
  void remember_recent(const std::string& id);

  std::vector<ForwarderSlot>& slots_;
  std::vector<std::string> quoted_ids_;  // per slot, as a JSON string: the replies' keys
  JobStore* store_;
  std::shared_ptr<spdlog::logger> log_;

  std::mutex ids_mutex_;
  std::unordered_set<std::string> in_flight_ids_;
  // Idempotency without a store: the most recent client-supplied ids, bounded.
  std::unordered_set<std::string> recent_ids_;
  std::deque<std::string> recent_order_;
};

// Formats a rejection reply line (with '\n').
std::string rejection_reply(const Rejection& rejection);

}  // namespace auditfwd
