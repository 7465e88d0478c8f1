// Who may send which actions, and how fast: the [[ingest.allow]] rules applied to each event.
#pragma once

#include "config/config.hpp"
#include "event/event.hpp"
#include "event/event_validator.hpp"
#include "ingest/token_bucket.hpp"

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace auditfwd {

// The rules whose sender criteria match one connection's sender, in config
// order: the sender is fixed for a connection, so this is worked out once.
struct SenderRules {
  uid_t uid = 0;
  std::vector<std::size_t> rules;  // indices into the policy's rules
  std::string description;         // "uid 1000 (alice), gid 1000 (alice), exe …, unit …": for details
};

// Why an event was refused: the reply, and the key its log line is counted under.
struct PolicyRefusal {
  Rejection rejection;  // not_permitted or rate_limited, with a detail naming the rule or the limit
  std::string reason;   // "ingest.allow", or "ingest.allow[2].max_events_per_second"
};

// Without rules every sender may send any action. With rules, like pg_hba.conf,
// the first rule (in config order) whose sender criteria match the sender AND
// whose action patterns match the action decides:
// - it allows the event when it has no rate, or when its token bucket for the
//   sender's uid has a token (spent);
// - it refuses it rate_limited when that bucket is empty; no later rule is tried,
//   so a narrow rule placed first caps its actions whatever broader rules follow.
// No such rule: not_permitted. A rule's bucket is per sender uid (shared by that
// uid's connections, so more connections do not buy more events; one uid cannot
// spend another's budget); it starts full, holds `burst` tokens and refills at
// max_events_per_second. Thread-safe: sessions on any strand call admit().
class IngestPolicy {
 public:
  using clock = TokenBucket::clock;

  explicit IngestPolicy(std::vector<AllowRule> rules);

  // True without rules: nothing to check.
  bool open() const noexcept { return rules_.empty(); }

  // Which rules can apply to `sender` (uid or user name, gid or group name,
  // unit, exe: each criterion a rule sets must match).
  SenderRules rules_for(const SenderIdentity& sender) const;

  // Decides one event of a sender: nullopt when it is allowed (a token is spent
  // when its rule has a rate), else why not.
  std::optional<PolicyRefusal> admit(const SenderRules& sender, std::string_view action, clock::time_point now);

  // Buckets currently kept (a refilled bucket is forgotten once many are kept).
  std::size_t bucket_count() const;

 private:
  // "ingest.allow[2] (\"batch jobs\")", or the path alone for a rule without a name.
  std::string rule_label(std::size_t index) const;

  std::vector<AllowRule> rules_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::size_t, uid_t>, TokenBucket> buckets_;  // (rule, uid), under mutex_
  std::size_t next_prune_;                                        // under mutex_
};

}  // namespace auditfwd
