// Who may take a connection slot: the global cap, a cap per uid, and slots only root may take.
#pragma once

#include <sys/types.h>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

namespace auditfwd {

struct SlotLimits {
  std::size_t max_connections = 1024;
  std::size_t max_per_uid = 256;      // root (uid 0) is exempt, as PostgreSQL's superusers are
  std::size_t reserved_for_root = 4;  // the last slots of max_connections: root only
};

enum class SlotRefusal { max_connections, reserved_for_root, max_per_uid };

// The configuration key that caused a refusal ("ingest.max_connections", …): the log's and the reply's reason.
const char* slot_refusal_key(SlotRefusal refusal);

// Counts connections in use, in total and per uid. Not thread-safe: its owner
// (the server) holds a lock around it.
class ConnectionSlots {
 public:
  explicit ConnectionSlots(SlotLimits limits) : limits_(limits) {}

  // Takes a slot for `uid`, or says which limit refuses it (and takes nothing).
  std::optional<SlotRefusal> take(uid_t uid);
  // Gives back a slot taken for `uid`.
  void give_back(uid_t uid);

  std::size_t in_use() const { return in_use_; }
  std::size_t in_use_by(uid_t uid) const;
  const SlotLimits& limits() const { return limits_; }
  // A reload's limits: they decide the next take(); connections over them stay.
  void set_limits(SlotLimits limits) { limits_ = limits; }

 private:
  SlotLimits limits_;
  std::size_t in_use_ = 0;
  std::unordered_map<uid_t, std::size_t> per_uid_;
};

}  // namespace auditfwd
