// Comparing configs key by key for a reload.
#include "app/reload_plan.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <optional>

namespace auditfwd {

namespace {

const ForwarderConfig* find_forwarder(const std::vector<ForwarderConfig>& forwarders, const std::string& id) {
  auto it = std::find_if(forwarders.begin(), forwarders.end(), [&](const auto& f) { return f.id == id; });
  return it == forwarders.end() ? nullptr : &*it;
}

std::string shown(const std::string& value) { return value; }
std::string shown(bool value) { return value ? "true" : "false"; }
std::string shown(milliseconds value) { return fmt::format("{} ms", value.count()); }
template <typename Number>
requires std::is_arithmetic_v<Number> std::string shown(Number value) { return fmt::format("{}", value); }
template <typename T>
std::string shown(const std::optional<T>& value) {
  return value ? shown(*value) : "unset";
}

// Appends "key (old → new)" when the values differ.
template <typename T>
void compare(std::vector<std::string>& out, const char* key, const T& running, const T& wanted) {
  if (!(running == wanted)) out.push_back(fmt::format("{} ({} → {})", key, shown(running), shown(wanted)));
}

}  // namespace

bool same_forwarder(const ForwarderConfig& a, const ForwarderConfig& b) {
  return a.id == b.id && a.type == b.type && a.dispatch == b.dispatch && a.timeout == b.timeout &&
         a.concurrency == b.concurrency && a.retry.max_attempts == b.retry.max_attempts &&
         a.retry.backoff == b.retry.backoff && a.retry.backoff_min == b.retry.backoff_min &&
         a.retry.backoff_max == b.retry.backoff_max && a.options == b.options;
}

ForwarderChanges diff_forwarders(const std::vector<ForwarderConfig>& running,
                                 const std::vector<ForwarderConfig>& wanted) {
  ForwarderChanges changes;
  for (const auto& f : wanted) {
    const auto* before = find_forwarder(running, f.id);
    if (!before)
      changes.added.push_back(f.id);
    else if (same_forwarder(*before, f))
      changes.unchanged.push_back(f.id);
    else
      changes.changed.push_back(f.id);
  }
  for (const auto& f : running)
    if (!find_forwarder(wanted, f.id)) changes.removed.push_back(f.id);
  return changes;
}

std::vector<std::string> restart_only_changes(const Config& running, const Config& wanted) {
  std::vector<std::string> out;
  compare(out, "ingest.socket", running.ingest.socket, wanted.ingest.socket);
  compare(out, "store.enabled", running.store.enabled, wanted.store.enabled);
  compare(out, "store.path", running.store.path, wanted.store.path);
  return out;
}

std::vector<std::string> deferred_changes(const Config& running, const Config& wanted) {
  std::vector<std::string> out;
  const auto& a = running;
  const auto& b = wanted;
  compare(out, "ingest.socket_mode", a.ingest.socket_mode, b.ingest.socket_mode);
  compare(out, "ingest.max_buffered_bytes", a.ingest.max_buffered_bytes, b.ingest.max_buffered_bytes);
  compare(out, "ingest.max_connection_buffered_bytes", a.ingest.max_connection_buffered_bytes,
          b.ingest.max_connection_buffered_bytes);
  compare(out, "store.durability", a.store.durability_fsync, b.store.durability_fsync);
  compare(out, "store.max_pending_jobs", a.store.max_pending_jobs, b.store.max_pending_jobs);
  compare(out, "store.max_bytes", a.store.max_bytes, b.store.max_bytes);
  compare(out, "store.completed_retention", a.store.completed_retention, b.store.completed_retention);
  compare(out, "store.dead_retention", a.store.dead_retention, b.store.dead_retention);
  compare(out, "store.idempotency_window", a.store.idempotency_window, b.store.idempotency_window);
  compare(out, "store.commit_delay", a.store.commit_delay, b.store.commit_delay);
  compare(out, "workers.threads", a.workers.threads, b.workers.threads);
  compare(out, "workers.poll_interval", a.workers.poll_interval, b.workers.poll_interval);
  compare(out, "workers.shutdown_grace", a.workers.shutdown_grace, b.workers.shutdown_grace);
  compare(out, "workers.claim_batch", a.workers.claim_batch, b.workers.claim_batch);
  compare(out, "log.format", a.log.format == LogFormat::json ? std::string("json") : std::string("text"),
          b.log.format == LogFormat::json ? std::string("json") : std::string("text"));
  return out;
}

}  // namespace auditfwd
