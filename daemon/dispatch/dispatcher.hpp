// Routes each accepted event to every forwarder by its dispatch mode and builds the replies.
#pragma once

#include "forwarders/forwarder_slot.hpp"
#include "event/event_validator.hpp"
#include "store/job_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace auditfwd {

// A line as the session read it: a validated event, or why it was refused.
using ParsedLine = boost::system::result<Event, Rejection>;

// The replies to one chunk of lines ('\n'-terminated, concatenated, in order)
// and the commits they report. A reply may reach the client only once every
// one of those commits is on disk (see wait_until_durable).
struct DispatchedChunk {
  std::string replies;
  std::vector<std::shared_ptr<DurableCommit>> commits;  // empty: nothing to wait for
};

// Completes once every commit `chunk` reports is on disk.
boost::asio::awaitable<void> wait_until_durable(const DispatchedChunk& chunk);

// Sync forwarders run inline in the caller's coroutine (the session strand),
// bounded by their timeout; async jobs of a whole chunk are committed in one
// store request. dispatch() returns once everything a reply reports has
// happened, except that a commit may still be on its way to the disk: the
// caller writes the replies after wait_until_durable(). Thread-safe: one
// Dispatcher serves every session.
class Dispatcher {
 public:
  // `store` is null when the store is disabled.
  Dispatcher(std::vector<ForwarderSlot>& slots, JobStore* store);

  boost::asio::awaitable<DispatchedChunk> dispatch(std::vector<ParsedLine> lines);

 private:
  bool reserve_in_flight(const std::string& id);
  void release_in_flight(const std::string& id);
  SeenStatus recently_seen(const Event& event);
  void remember_recent(const Event& event);

  std::vector<ForwarderSlot>& slots_;
  std::vector<std::string> quoted_ids_;  // per slot, as a JSON string: the replies' keys
  JobStore* store_;
  std::shared_ptr<spdlog::logger> log_;

  std::mutex ids_mutex_;
  std::unordered_set<std::string> in_flight_ids_;
  // Idempotency without a store: the most recent client-supplied ids, bounded.
  struct RecentId {
    uid_t uid;
    ContentDigest digest;
  };
  std::unordered_map<std::string, RecentId> recent_ids_;
  std::deque<std::string> recent_order_;
};

// Formats a rejection reply line (with '\n').
std::string rejection_reply(const Rejection& rejection);

}  // namespace auditfwd
