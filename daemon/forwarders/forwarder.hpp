// The one interface every forwarder type implements: a batch of events in, one outcome per event out.
#pragma once

#include "event/event.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace auditfwd {

// How one delivery of one event ended. `retry` is a transient failure (the job
// is retried after its backoff, or after `retry_after` when the destination
// asked for it); `permanent` cancels the job.
struct DeliveryOutcome {
  enum class Kind { ok, retry, permanent };
  Kind kind = Kind::ok;
  std::string reason;
  std::optional<std::chrono::milliseconds> retry_after;
  bool timed_out = false;  // a retry because the forwarder's timeout expired

  static DeliveryOutcome success() { return {}; }
  static DeliveryOutcome retry(std::string reason, std::optional<std::chrono::milliseconds> after = {}) {
    return {Kind::retry, std::move(reason), after};
  }
  static DeliveryOutcome permanent(std::string reason) { return {Kind::permanent, std::move(reason), {}}; }
  static DeliveryOutcome timeout(std::string reason) { return {Kind::retry, std::move(reason), {}, true}; }
  bool ok() const { return kind == Kind::ok; }
};

// One outcome per event, in the order of the batch.
using BatchOutcome = std::vector<DeliveryOutcome>;

inline BatchOutcome same_outcome(std::size_t events, const DeliveryOutcome& outcome) {
  return BatchOutcome(events, outcome);
}

// How many queued events the worker pool may hand to one deliver() call.
struct BatchLimits {
  std::size_t max_events = 1;
  std::size_t max_bytes = 0;  // 0: no byte limit
  // How long a worker holding a partial batch waits for more due jobs before
  // delivering it (a shipper's "batch timeout"); 0 delivers at once.
  std::chrono::milliseconds linger{0};
};

// A destination. Implementations:
//  - deliver() may be called concurrently (sync deliveries from several
//    connections, plus the workers); the type serializes what must be serial.
//  - deliver() must honour Asio per-operation cancellation: the caller cancels
//    it when the forwarder's `timeout` expires and records a retryable timeout.
//  - a failed delivery is an outcome, never an exception; an exception means a
//    bug and is logged by the caller.
//  - construction validates the type's config keys (throwing ConfigError) and
//    has no side effects, so `check-config` can build forwarders safely.
class Forwarder {
 public:
  virtual ~Forwarder() = default;

  virtual BatchLimits batch_limits() const { return {}; }

  // Delivers `events` (alive until the awaitable completes).
  virtual boost::asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) = 0;

  // SIGHUP: reopen files, reconnect lazily. Thread-safe.
  virtual void reopen() {}

  // Called once at shutdown after the last delivery: release processes and connections.
  virtual void stop() {}

  // The secret values its configuration holds (tokens, passwords, signing
  // keys, secret-looking header or env values), which make_forwarder redacts
  // from every outcome reason: reasons are stored in job errors, logged and
  // sent back in sync replies.
  virtual std::vector<std::string> secrets() const { return {}; }
};

}  // namespace auditfwd
