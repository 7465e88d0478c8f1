// Routes each accepted event to every forwarder by its dispatch mode and collects the results.
#pragma once

#include "dispatch/chunk_outcome.hpp"
#include "dispatch/forwarder_set.hpp"
#include "dispatch/id_registry.hpp"
#include "event/event_validator.hpp"
#include "store/job_store.hpp"

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace auditfwd {

// Sync forwarders run inline in the caller's coroutine (the session strand),
// bounded by their timeout; async jobs of a whole chunk are committed in one
// store request. dispatch() returns once everything its outcome reports has
// happened, except that a commit may still be on its way to the disk: the
// caller answers after wait_until_durable(outcome.commits). Thread-safe: one
// Dispatcher serves every session.
class Dispatcher {
 public:
  // `store` is null when the store is disabled.
  Dispatcher(std::shared_ptr<const ForwarderSet> forwarders, JobStore* store);

  // The set each chunk that starts from now on is dispatched to (a reload);
  // chunks already running keep theirs. Thread-safe.
  void replace_forwarders(std::shared_ptr<const ForwarderSet> forwarders);
  // The set a chunk starting now gets.
  std::shared_ptr<const ForwarderSet> forwarders() const;

  // Events accepted (every forwarder took them) since start. Thread-safe.
  std::uint64_t events_accepted() const noexcept { return accepted_.load(std::memory_order_relaxed); }

  // Per chunk: screen the ids (refused, duplicate), route each event to its
  // forwarders (inline or a job), deliver the inline ones, enqueue the jobs in
  // one request, deliver inline the auto forwarders whose job the store
  // refused, and decide each line's verdict.
  boost::asio::awaitable<ChunkOutcome> dispatch(std::vector<ParsedLine> lines);

 private:
  struct Screening;
  struct Routes;
  using LinesPerForwarder = std::vector<std::vector<std::size_t>>;

  // Refuses what the ids forbid, marks duplicates, and reserves the ids the chunk dispatches.
  boost::asio::awaitable<void> screen_ids(ChunkOutcome& chunk, Screening& screening);
  // Per line and forwarder: a job (async, auto with a store that takes jobs) or inline (sync, auto otherwise).
  Routes route(ChunkOutcome& chunk, const Screening& screening);
  // Inline deliveries of every forwarder side by side, each bounded by its timeout.
  boost::asio::awaitable<void> deliver_inline(ChunkOutcome& chunk, const LinesPerForwarder& lines);
  // One store request for the chunk's jobs; returns, per auto forwarder, the lines whose job was refused.
  boost::asio::awaitable<LinesPerForwarder> enqueue(ChunkOutcome& chunk, Routes& routes);
  // Each line's verdict from its results; remembers accepted ids when there is no store.
  void decide(ChunkOutcome& chunk, const Screening& screening);

  mutable std::mutex forwarders_mutex_;
  std::shared_ptr<const ForwarderSet> forwarders_;  // under forwarders_mutex_
  JobStore* store_;
  IdRegistry ids_;
  std::atomic<std::uint64_t> accepted_{0};
};

}  // namespace auditfwd
