// Per chunk: duplicates, routing, sync deliveries, one enqueue, fallbacks, replies.
#include "dispatch/dispatcher.hpp"

#include "forwarders/timed_delivery.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unordered_map>

namespace auditfwd {
namespace asio = boost::asio;

namespace {

constexpr std::size_t max_recent_ids_without_store = 1'000'000;

struct ForwarderResult {
  enum class Status { none, ok, enqueued, error } status = Status::none;
  std::int64_t job = 0;
  std::string error;   // wire code, for Status::error
  std::string reason;  // human text, for Status::error
  bool in_enqueue = false;  // this event's EnqueueItem carries a job for this slot
};

struct EventState {
  std::optional<Rejection> rejection;  // refused, or (id_conflict) the id stands for another event
  bool duplicate = false;
  bool owns_in_flight_id = false;
  std::optional<std::size_t> repeat_of;  // an earlier line of the same chunk with the same id and content
  bool conflicts_unless_remembered = false;  // same id as an earlier line of the chunk, other content
  bool accepted = false;
};

// The results of a chunk: one row of slots.size() per event, in one allocation.
class ResultTable {
 public:
  ResultTable(std::size_t events, std::size_t slots) : slots_(slots), results_(events * slots) {}
  ForwarderResult& at(std::size_t event, std::size_t slot) { return results_[event * slots_ + slot]; }
  const ForwarderResult& at(std::size_t event, std::size_t slot) const { return results_[event * slots_ + slot]; }

 private:
  std::size_t slots_;
  std::vector<ForwarderResult> results_;
};

std::string json_quoted(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

void append_results(std::string& out, const std::vector<std::string>& quoted_ids, const ResultTable& results,
                    std::size_t event) {
  auto to = std::back_inserter(out);
  out += ",\"results\":{";
  for (std::size_t s = 0; s < quoted_ids.size(); ++s) {
    const auto& r = results.at(event, s);
    if (s) out += ',';
    out += quoted_ids[s];
    switch (r.status) {
      case ForwarderResult::Status::ok: out += ":{\"status\":\"ok\"}"; break;
      case ForwarderResult::Status::enqueued: fmt::format_to(to, ":{{\"status\":\"enqueued\",\"job\":{}}}", r.job); break;
      case ForwarderResult::Status::error:
      case ForwarderResult::Status::none:
        fmt::format_to(to, ":{{\"status\":\"error\",\"error\":{},\"reason\":{}}}", json_quoted(r.error.empty() ? "internal" : r.error),
                       json_quoted(r.reason.empty() ? "not dispatched" : r.reason));
        break;
    }
  }
  out += '}';
}

ForwarderResult from_outcome(const DeliveryOutcome& outcome) {
  if (outcome.ok()) return {ForwarderResult::Status::ok, 0, {}, {}};
  return {ForwarderResult::Status::error, 0, std::string(error_name(outcome.timed_out ? errc::timeout : errc::delivery_failed)),
          (outcome.kind == DeliveryOutcome::Kind::permanent ? "permanent: " : "") + outcome.reason};
}

// Runs the sync deliveries of every forwarder side by side on the caller's
// strand: a slow forwarder delays the reply by its own timeout, not by the sum.
template <typename DeliverOne>
asio::awaitable<void> deliver_sync_in_parallel(DeliverOne& deliver_one,
                                               const std::vector<std::vector<std::size_t>>& events_per_slot) {
  auto executor = co_await asio::this_coro::executor;
  using Operation = decltype(asio::co_spawn(executor, deliver_one(0, events_per_slot[0]), asio::deferred));
  std::vector<Operation> operations;
  for (std::size_t s = 0; s < events_per_slot.size(); ++s)
    if (!events_per_slot[s].empty())
      operations.push_back(asio::co_spawn(executor, deliver_one(s, events_per_slot[s]), asio::deferred));
  if (operations.empty()) co_return;
  if (operations.size() == 1) {
    co_await std::move(operations.front())(asio::use_awaitable);
    co_return;
  }
  auto [order, exceptions] = co_await asio::experimental::make_parallel_group(std::move(operations))
                                 .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)order;
  for (auto& exception : exceptions)
    if (exception) std::rethrow_exception(exception);
}

Rejection id_conflict(const std::string& id) {
  return Rejection{errc::id_conflict,
                   fmt::format("id {} was already used for another event or by another sender; an id names one "
                               "event from one sender: use a new id",
                               id)};
}

}  // namespace

std::string rejection_reply(const Rejection& rejection) {
  return fmt::format("{{\"ok\":false,\"error\":\"{}\",\"detail\":{}}}\n", error_name(rejection.code), json_quoted(rejection.detail));
}

Dispatcher::Dispatcher(std::vector<ForwarderSlot>& slots, JobStore* store)
    : slots_(slots), store_(store), log_(spdlog::default_logger()->clone("dispatch")) {
  for (const auto& slot : slots_) quoted_ids_.push_back(json_quoted(slot.config.id));
}

bool Dispatcher::reserve_in_flight(const std::string& id) {
  std::lock_guard lock(ids_mutex_);
  return in_flight_ids_.insert(id).second;
}

void Dispatcher::release_in_flight(const std::string& id) {
  std::lock_guard lock(ids_mutex_);
  in_flight_ids_.erase(id);
}

SeenStatus Dispatcher::recently_seen(const Event& event) {
  std::lock_guard lock(ids_mutex_);
  const auto found = recent_ids_.find(event.id);
  if (found == recent_ids_.end()) return SeenStatus::unseen;
  const bool same = found->second.uid == event.sender_uid && found->second.digest == event.content_digest;
  return same ? SeenStatus::duplicate : SeenStatus::conflict;
}

void Dispatcher::remember_recent(const Event& event) {
  std::lock_guard lock(ids_mutex_);
  if (!recent_ids_.emplace(event.id, RecentId{event.sender_uid, event.content_digest}).second) return;
  recent_order_.push_back(event.id);
  if (recent_order_.size() > max_recent_ids_without_store) {
    recent_ids_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

asio::awaitable<void> wait_until_durable(const DispatchedChunk& chunk) {
  for (const auto& commit : chunk.commits) co_await commit->async_wait(asio::use_awaitable);
}

asio::awaitable<DispatchedChunk> Dispatcher::dispatch(std::vector<ParsedLine> lines) {
  const std::size_t n = lines.size();
  DispatchedChunk chunk;
  std::vector<EventState> states(n);
  ResultTable results(n, slots_.size());

  // Release in-flight id reservations however this coroutine ends.
  struct InFlightGuard {
    Dispatcher& self;
    std::vector<ParsedLine>& lines;
    std::vector<EventState>& states;
    ~InFlightGuard() {
      for (std::size_t i = 0; i < lines.size(); ++i)
        if (states[i].owns_in_flight_id) self.release_in_flight(lines[i]->id);
    }
  } guard{*this, lines, states};

  // 1. Rejections and duplicates.
  std::vector<IdempotencyKey> client_ids;
  std::vector<std::size_t> client_id_lines;
  std::unordered_map<std::string, std::size_t> first_line_of_id;
  for (std::size_t i = 0; i < n; ++i) {
    if (!lines[i]) {
      states[i].rejection = lines[i].error();
      continue;
    }
    const Event& event = *lines[i];
    if (!event.client_supplied_id) continue;
    if (auto [it, inserted] = first_line_of_id.emplace(event.id, i); !inserted) {
      if (lines[it->second]->content_digest == event.content_digest) {
        states[i].repeat_of = it->second;  // answered like its first copy, below
      } else {
        // Other content under an id this chunk already uses: a duplicate only
        // of what the window remembers, else a conflict (looked up below,
        // under the first copy's reservation).
        states[i].conflicts_unless_remembered = true;
        client_ids.push_back(IdempotencyKey{event.id, event.sender_uid, event.content_digest});
        client_id_lines.push_back(i);
      }
      continue;
    }
    if (!reserve_in_flight(event.id)) {
      states[i].rejection = Rejection{errc::unavailable,
                                      fmt::format("an event with id {} is being processed right now; send it again "
                                                  "after its first copy is answered",
                                                  event.id)};
      continue;
    }
    states[i].owns_in_flight_id = true;
    client_ids.push_back(IdempotencyKey{event.id, event.sender_uid, event.content_digest});
    client_id_lines.push_back(i);
  }
  if (!client_ids.empty()) {
    std::vector<SeenStatus> seen;
    boost::system::error_code lookup_error;
    if (store_) {
      std::shared_ptr<DurableCommit> remembered;
      std::tie(lookup_error, seen, remembered) =
          co_await store_->async_find_seen(client_ids, asio::as_tuple(asio::use_awaitable));
      if (remembered) chunk.commits.push_back(std::move(remembered));
    } else {
      for (auto line : client_id_lines) seen.push_back(recently_seen(*lines[line]));
    }
    for (std::size_t k = 0; k < client_ids.size(); ++k) {
      if (lookup_error)  // unknown whether it was delivered before: refuse rather than risk a second delivery
        states[client_id_lines[k]].rejection = Rejection{
            errc::unavailable, "the job store could not check this id for a duplicate; send it again later"};
      else if (seen[k] == SeenStatus::duplicate)
        states[client_id_lines[k]].duplicate = true;
      else if (seen[k] == SeenStatus::conflict || states[client_id_lines[k]].conflicts_unless_remembered)
        states[client_id_lines[k]].rejection = id_conflict(client_ids[k].id);
    }
  }

  // 2. Routing: per event and forwarder, async (a job) or sync (inline).
  std::vector<std::vector<std::size_t>> sync_events(slots_.size());
  std::vector<EnqueueItem> items;
  std::vector<std::size_t> item_line;
  for (std::size_t i = 0; i < n; ++i) {
    auto& state = states[i];
    if (state.rejection || state.duplicate || state.repeat_of) continue;
    const Event& event = *lines[i];
    EnqueueItem item;
    bool needed_after_enqueue = false;  // by a sync delivery, or an auto fallback
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      const auto& config = slots_[s].config;
      auto& result = results.at(i, s);
      bool async = false;
      switch (config.dispatch) {
        case DispatchMode::sync: async = false; break;
        case DispatchMode::automatic: async = store_ && store_->accepting(); break;
        case DispatchMode::async:
          if (!store_) {
            result = {ForwarderResult::Status::error, 0, "async_unavailable", "the job store is disabled"};
          } else if (!store_->healthy()) {
            result = {ForwarderResult::Status::error, 0, "async_unavailable",
                      "the job store cannot commit (see the daemon log); retry later"};
          } else if (store_->full()) {
            store_->count_store_full_refusal();
            result = {ForwarderResult::Status::error, 0, "store_full",
                      "the job store reached store.max_pending_jobs or store.max_bytes"};
          } else {
            async = true;
          }
          if (result.status == ForwarderResult::Status::error) continue;
          break;
      }
      if (async) {
        item.jobs.push_back(NewJob{config.id, config.retry.max_attempts});
        result.in_enqueue = true;
        if (config.dispatch == DispatchMode::automatic) needed_after_enqueue = true;
      } else {
        sync_events[s].push_back(i);
        needed_after_enqueue = true;
      }
    }
    if (!item.jobs.empty() || event.client_supplied_id) {
      item.event_id = event.id;
      item.sender_uid = event.sender_uid;
      item.content_digest = event.content_digest;
      // Nothing reads the event's text after the enqueue unless a sync or
      // auto forwarder may deliver it: then copy, else hand it over.
      if (needed_after_enqueue) item.payload = event.json;
      else item.payload = std::move(lines[i]->json);
      items.push_back(std::move(item));
      item_line.push_back(i);
    }
  }

  // 3. Sync deliveries, inline, each bounded by its forwarder's timeout.
  auto deliver_sync = [&](std::size_t s, const std::vector<std::size_t>& event_lines) -> asio::awaitable<void> {
    if (event_lines.empty()) co_return;
    std::vector<Event> batch;
    batch.reserve(event_lines.size());
    for (auto i : event_lines) batch.push_back(*lines[i]);
    auto outcomes = co_await deliver_within(*slots_[s].forwarder, batch, slots_[s].config.timeout, *slots_[s].log);
    for (std::size_t k = 0; k < event_lines.size(); ++k) {
      results.at(event_lines[k], s) = from_outcome(outcomes[k]);
      if (!outcomes[k].ok())
        slots_[s].log->warn("sync delivery of event {} failed: {}", batch[k].id, outcomes[k].reason);
    }
  };
  co_await deliver_sync_in_parallel(deliver_sync, sync_events);

  // 4. One enqueue for the whole chunk. The id is remembered (idempotency) in
  // the same transaction as the jobs, and only when every sync result is ok.
  auto all_ok_so_far = [&](std::size_t i) {
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      const auto& r = results.at(i, s);
      if (r.status == ForwarderResult::Status::error) return false;
      if (r.status == ForwarderResult::Status::none && !r.in_enqueue) return false;
    }
    return true;
  };
  std::vector<std::vector<std::size_t>> fallback_events(slots_.size());
  if (store_ && !items.empty()) {
    for (std::size_t k = 0; k < items.size(); ++k)
      items[k].remember_id = lines[item_line[k]]->client_supplied_id && all_ok_so_far(item_line[k]);
    auto enqueued = co_await store_->async_enqueue(std::move(items), asio::use_awaitable);
    const auto& outcomes = std::get<0>(enqueued);
    if (auto& committed = std::get<1>(enqueued)) chunk.commits.push_back(std::move(committed));
    for (std::size_t k = 0; k < outcomes.size(); ++k) {
      const auto i = item_line[k];
      std::size_t j = 0;  // the item's jobs are in slot order
      for (std::size_t s = 0; s < slots_.size(); ++s) {
        auto& result = results.at(i, s);
        if (!result.in_enqueue) continue;
        if (outcomes[k].code == errc::ok) {
          result.status = ForwarderResult::Status::enqueued;
          result.job = outcomes[k].job_id(j);
        } else if (slots_[s].config.dispatch == DispatchMode::automatic) {
          fallback_events[s].push_back(i);  // auto: deliver now instead
        } else {
          result = {ForwarderResult::Status::error, 0, std::string(error_name(outcomes[k].code)),
                    outcomes[k].code == errc::store_full
                        ? "the job store reached store.max_pending_jobs or store.max_bytes"
                        : "the job store could not commit the job (see the daemon log)"};
        }
        ++j;
      }
    }
  }

  // 5. auto forwarders whose job the store refused are delivered inline now.
  co_await deliver_sync_in_parallel(deliver_sync, fallback_events);

  // 6. Replies, in order.
  std::string& replies = chunk.replies;
  replies.reserve(n * 128);
  for (std::size_t i = 0; i < n; ++i) {
    auto& state = states[i];
    if (state.rejection) {
      replies += rejection_reply(*state.rejection);
      continue;
    }
    const Event& event = *lines[i];
    if (state.repeat_of) {
      const auto& first = states[*state.repeat_of];
      if (first.accepted || first.duplicate) {
        replies += fmt::format("{{\"ok\":true,\"id\":\"{}\",\"duplicate\":true}}\n", event.id);
      } else {
        replies += rejection_reply(first.rejection.value_or(
            Rejection{errc::unavailable, "the first copy of this id in the same write was not accepted"}));
      }
      continue;
    }
    if (state.duplicate) {
      replies += fmt::format("{{\"ok\":true,\"id\":\"{}\",\"duplicate\":true}}\n", event.id);
      continue;
    }
    std::vector<std::string> failures;
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      const auto& r = results.at(i, s);
      if (r.status == ForwarderResult::Status::error || r.status == ForwarderResult::Status::none)
        failures.push_back(fmt::format("{}: {}", slots_[s].config.id, r.reason.empty() ? "not dispatched" : r.reason));
    }
    if (failures.empty()) {
      state.accepted = true;
      if (!store_ && event.client_supplied_id) remember_recent(event);
      replies += "{\"ok\":true,\"id\":\"";
      replies += event.id;
      replies += '"';
    } else {
      replies += fmt::format(
          "{{\"ok\":false,\"error\":\"unavailable\",\"detail\":{},\"id\":\"{}\"",
          json_quoted(fmt::format("{} of {} forwarders did not take the event; send it again (same id) to retry: {}",
                             failures.size(), slots_.size(), fmt::join(failures, "; "))),
          event.id);
    }
    append_results(replies, quoted_ids_, results, i);
    replies += "}\n";
  }
  co_return chunk;
}

}  // namespace auditfwd
