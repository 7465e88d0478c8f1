// The [ingest] settings sessions read, replaced whole by a reload.
#pragma once

#include "config/config.hpp"
#include "ingest/ingest_policy.hpp"

#include <memory>
#include <mutex>

namespace auditfwd {

// The server's current [ingest] section and the IngestPolicy made of its
// [[ingest.allow]] rules. A session takes the section when it starts (its
// per-connection limits: max_event_bytes, metadata and nesting limits,
// forbidden keys, timeouts) and looks at the policy before each chunk, so new
// allow rules and rates apply at once to every connection. A new policy
// starts with full token buckets. Thread-safe.
class IngestSettings {
 public:
  explicit IngestSettings(IngestConfig config);

  void replace(IngestConfig config);

  std::shared_ptr<const IngestConfig> config() const;
  std::shared_ptr<IngestPolicy> policy() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const IngestConfig> config_;  // under mutex_
  std::shared_ptr<IngestPolicy> policy_;        // under mutex_
};

}  // namespace auditfwd
