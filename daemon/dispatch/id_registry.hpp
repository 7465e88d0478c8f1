// The ids the dispatcher is working on, and (without a store) the ids it accepted recently.
#pragma once

#include "event/event.hpp"
#include "store/job_types.hpp"

#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace auditfwd {

// Thread-safe: one registry serves every session. An id is reserved while one
// chunk dispatches the event it names, so that two connections never deliver
// the same event side by side; without a store, the most recent accepted
// client-supplied ids (bounded) stand in for store.idempotency_window.
class IdRegistry {
 public:
  static constexpr std::size_t max_recent_ids = 1'000'000;

  // False when another chunk holds `id`.
  bool reserve(const std::string& id);
  void release(const std::string& id);

  // What the recent window remembers of the event's id.
  SeenStatus recently_seen(const Event& event);
  void remember(const Event& event);

 private:
  struct RecentId {
    uid_t uid;
    ContentDigest digest;
  };
  std::mutex mutex_;
  std::unordered_set<std::string> in_flight_;
  std::unordered_map<std::string, RecentId> recent_;
  std::deque<std::string> recent_order_;
};

}  // namespace auditfwd
