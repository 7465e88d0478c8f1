// Connection admission: a flood from one uid never takes every slot.
#include "ingest/connection_slots.hpp"

namespace auditfwd {

const char* slot_refusal_key(SlotRefusal refusal) {
  switch (refusal) {
    case SlotRefusal::max_connections: return "ingest.max_connections";
    case SlotRefusal::reserved_for_root: return "ingest.reserved_root_connections";
    case SlotRefusal::max_per_uid: return "ingest.max_connections_per_uid";
  }
  return "ingest";
}

std::optional<SlotRefusal> ConnectionSlots::take(uid_t uid) {
  if (in_use_ >= limits_.max_connections) return SlotRefusal::max_connections;
  const bool root = uid == 0;
  if (!root && in_use_ + limits_.reserved_for_root >= limits_.max_connections) return SlotRefusal::reserved_for_root;
  auto& mine = per_uid_[uid];
  if (!root && mine >= limits_.max_per_uid) {
    if (mine == 0) per_uid_.erase(uid);
    return SlotRefusal::max_per_uid;
  }
  ++mine;
  ++in_use_;
  return std::nullopt;
}

void ConnectionSlots::give_back(uid_t uid) {
  const auto it = per_uid_.find(uid);
  if (it == per_uid_.end()) return;
  if (--it->second == 0) per_uid_.erase(it);
  --in_use_;
}

std::size_t ConnectionSlots::in_use_by(uid_t uid) const {
  const auto it = per_uid_.find(uid);
  return it == per_uid_.end() ? 0 : it->second;
}

}  // namespace auditfwd
