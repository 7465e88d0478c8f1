// In-flight reservations and the store-less idempotency window.
#include "dispatch/id_registry.hpp"

namespace auditfwd {

bool IdRegistry::reserve(const std::string& id) {
  std::lock_guard lock(mutex_);
  return in_flight_.insert(id).second;
}

void IdRegistry::release(const std::string& id) {
  std::lock_guard lock(mutex_);
  in_flight_.erase(id);
}

SeenStatus IdRegistry::recently_seen(const Event& event) {
  std::lock_guard lock(mutex_);
  const auto found = recent_.find(event.id);
  if (found == recent_.end()) return SeenStatus::unseen;
  const bool same = found->second.uid == event.sender_uid && found->second.digest == event.content_digest;
  return same ? SeenStatus::duplicate : SeenStatus::conflict;
}

void IdRegistry::remember(const Event& event) {
  std::lock_guard lock(mutex_);
  if (!recent_.emplace(event.id, RecentId{event.sender_uid, event.content_digest}).second) return;
  recent_order_.push_back(event.id);
  if (recent_order_.size() > max_recent_ids) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

}  // namespace auditfwd
