// First matching rule decides; a rate is a token bucket per rule and sender uid.
#include "ingest/ingest_policy.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <chrono>

namespace auditfwd {
namespace {

// Buckets kept before the refilled ones are forgotten: one per active (rule, uid).
constexpr std::size_t buckets_before_pruning = 4096;

template <typename T>
bool listed(const std::vector<T>& values, const T& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Each criterion the rule sets must hold; an unset one holds for everyone.
bool sender_matches(const AllowRule& rule, const SenderIdentity& sender) {
  if (rule.any_sender) return true;
  const auto& credentials = sender.credentials;
  if (!rule.uids.empty() || !rule.users.empty()) {
    const bool user = listed(rule.uids, credentials.uid) || (!sender.user.empty() && listed(rule.users, sender.user));
    if (!user) return false;
  }
  if (!rule.gids.empty() || !rule.groups.empty()) {
    const bool group =
        listed(rule.gids, credentials.gid) || (!sender.group.empty() && listed(rule.groups, sender.group));
    if (!group) return false;
  }
  if (!rule.units.empty() && (sender.unit.empty() || !listed(rule.units, sender.unit))) return false;
  if (!rule.exes.empty() && (sender.exe.empty() || !listed(rule.exes, sender.exe))) return false;
  return true;
}

bool grants(const AllowRule& rule, std::string_view action) {
  return std::any_of(rule.actions.begin(), rule.actions.end(),
                     [&](const ActionPattern& pattern) { return pattern.matches(action); });
}

std::string describe(const SenderIdentity& sender) {
  const auto& c = sender.credentials;
  const auto named = [](auto id, const std::string& name) {
    return name.empty() ? fmt::format("{}", id) : fmt::format("{} ({})", id, name);
  };
  return fmt::format("uid {}, gid {}, exe {}, unit {}", named(c.uid, sender.user), named(c.gid, sender.group),
                     sender.exe.empty() ? "unknown" : sender.exe, sender.unit.empty() ? "none" : sender.unit);
}

std::string format_rate(double rate) { return fmt::format("{:g}", rate); }

}  // namespace

IngestPolicy::IngestPolicy(std::vector<AllowRule> rules)
    : rules_(std::move(rules)), next_prune_(buckets_before_pruning) {}

std::string IngestPolicy::rule_label(std::size_t index) const {
  const auto& rule = rules_[index];
  return rule.name.empty() ? rule.path : fmt::format("{} (\"{}\")", rule.path, rule.name);
}

SenderRules IngestPolicy::rules_for(const SenderIdentity& sender) const {
  SenderRules matched;
  matched.uid = sender.credentials.uid;
  for (std::size_t i = 0; i < rules_.size(); ++i)
    if (sender_matches(rules_[i], sender)) matched.rules.push_back(i);
  matched.description = describe(sender);
  return matched;
}

std::optional<PolicyRefusal> IngestPolicy::admit(const SenderRules& sender, std::string_view action,
                                                 clock::time_point now) {
  if (open()) return std::nullopt;
  const auto decides = std::find_if(sender.rules.begin(), sender.rules.end(),
                                    [&](std::size_t index) { return grants(rules_[index], action); });
  if (decides == sender.rules.end()) {
    std::string detail;
    if (sender.rules.empty()) {
      detail = fmt::format("no [[ingest.allow]] rule matches the sender {}; action \"{}\" refused", sender.description,
                           action);
    } else {
      std::vector<std::string> labels;
      for (const auto index : sender.rules) labels.push_back(rule_label(index));
      detail = fmt::format(
          "no [[ingest.allow]] rule grants action \"{}\" to {}; {} match{} this sender but not "
          "the action",
          action, sender.description, fmt::join(labels, ", "), labels.size() == 1 ? "es" : "");
    }
    return PolicyRefusal{{errc::not_permitted, std::move(detail)}, "ingest.allow"};
  }
  const auto index = *decides;
  const auto& rule = rules_[index];
  if (!rule.max_events_per_second) return std::nullopt;

  std::lock_guard lock(mutex_);
  auto bucket = buckets_.find({index, sender.uid});
  if (bucket == buckets_.end()) {
    if (buckets_.size() >= next_prune_) {
      for (auto it = buckets_.begin(); it != buckets_.end();)
        it = it->second.full(now) ? buckets_.erase(it) : std::next(it);
      next_prune_ = std::max(buckets_before_pruning, 2 * buckets_.size());
    }
    bucket = buckets_.try_emplace({index, sender.uid}, *rule.max_events_per_second, rule.burst, now).first;
  }
  if (bucket->second.take(now)) return std::nullopt;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(bucket->second.wait_for_token(now));
  return PolicyRefusal{
      {errc::rate_limited,
       fmt::format("uid {} is over the rate of {}: max_events_per_second = {}, burst = {} (action \"{}\"); "
                   "not accepted, retry in {} ms",
                   sender.uid, rule_label(index), format_rate(*rule.max_events_per_second), rule.burst, action,
                   wait.count())},
      rule.path + ".max_events_per_second"};
}

std::size_t IngestPolicy::bucket_count() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace auditfwd
