// Per chunk: screen ids, route, inline deliveries, one enqueue, fallbacks, verdicts.
#include "dispatch/dispatcher.hpp"

#include "forwarders/timed_delivery.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <unordered_map>

namespace auditfwd {
namespace asio = boost::asio;

namespace {

ForwarderResult from_outcome(const DeliveryOutcome& outcome) {
  if (outcome.ok()) return {ForwarderResult::Status::ok, 0, {}, {}};
  return {ForwarderResult::Status::error, 0,
          std::string(error_name(outcome.timed_out ? errc::timeout : errc::delivery_failed)),
          (outcome.kind == DeliveryOutcome::Kind::permanent ? "permanent: " : "") + outcome.reason};
}

Rejection id_conflict(const std::string& id) {
  return Rejection{errc::id_conflict,
                   fmt::format("id {} was already used for another event or by another sender; an id names one "
                               "event from one sender: use a new id",
                               id)};
}

}  // namespace

// Per line, what screen_ids() learned beyond the verdict; releases the ids
// the chunk reserved however the dispatch ends.
struct Dispatcher::Screening {
  struct Line {
    bool owns_id = false;  // this line reserved its id in the IdRegistry
    bool duplicate = false;
    std::optional<std::size_t> repeat_of;      // an earlier line of the chunk with the same id and content
    bool conflicts_unless_remembered = false;  // same id as an earlier line of the chunk, other content
  };

  Screening(IdRegistry& registry, const std::vector<ParsedLine>& parsed)
      : ids(registry), lines(parsed), of(parsed.size()) {}
  Screening(const Screening&) = delete;
  Screening& operator=(const Screening&) = delete;
  ~Screening() { release(); }

  // Before the outcome leaves the dispatcher (it takes the lines with it).
  void release() {
    for (std::size_t i = 0; i < of.size(); ++i)
      if (std::exchange(of[i].owns_id, false)) ids.release(lines[i]->id);
  }

  IdRegistry& ids;
  const std::vector<ParsedLine>& lines;
  std::vector<Line> of;
};

struct Dispatcher::Routes {
  LinesPerForwarder inline_lines;  // per forwarder: the lines it delivers now
  std::vector<EnqueueItem> items;  // the chunk's jobs, one item per event
  std::vector<std::size_t> item_line;
};

Dispatcher::Dispatcher(std::shared_ptr<const ForwarderSet> forwarders, JobStore* store)
    : forwarders_(std::move(forwarders)), store_(store) {}

void Dispatcher::replace_forwarders(std::shared_ptr<const ForwarderSet> forwarders) {
  std::lock_guard lock(forwarders_mutex_);
  forwarders_.swap(forwarders);  // the old set is let go outside the lock (its release hook may run)
}

std::shared_ptr<const ForwarderSet> Dispatcher::forwarders() const {
  std::lock_guard lock(forwarders_mutex_);
  return forwarders_;
}

asio::awaitable<void> wait_until_durable(const std::vector<std::shared_ptr<DurableCommit>>& commits) {
  for (const auto& commit : commits) co_await commit->async_wait(asio::use_awaitable);
}

asio::awaitable<ChunkOutcome> Dispatcher::dispatch(std::vector<ParsedLine> lines) {
  ChunkOutcome chunk(std::move(lines), forwarders());
  Screening screening(ids_, chunk.lines);
  co_await screen_ids(chunk, screening);
  Routes routes = route(chunk, screening);
  co_await deliver_inline(chunk, routes.inline_lines);
  const LinesPerForwarder fallback = co_await enqueue(chunk, routes);
  co_await deliver_inline(chunk, fallback);
  decide(chunk, screening);
  screening.release();
  co_return std::move(chunk);
}

asio::awaitable<void> Dispatcher::screen_ids(ChunkOutcome& chunk, Screening& screening) {
  const auto& lines = chunk.lines;
  std::vector<IdempotencyKey> client_ids;
  std::vector<std::size_t> client_id_lines;
  std::unordered_map<std::string, std::size_t> first_line_of_id;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i]) {
      chunk.rejections[i] = lines[i].error();
      continue;
    }
    const Event& event = *lines[i];
    if (!event.client_supplied_id) continue;
    auto& line = screening.of[i];
    if (auto [it, inserted] = first_line_of_id.emplace(event.id, i); !inserted) {
      if (lines[it->second]->content_digest == event.content_digest) {
        line.repeat_of = it->second;  // answered like its first copy
      } else {
        // Other content under an id this chunk already uses: a duplicate only
        // of what the window remembers, else a conflict (looked up below,
        // under the first copy's reservation).
        line.conflicts_unless_remembered = true;
        client_ids.push_back(IdempotencyKey{event.id, event.sender_uid, event.content_digest});
        client_id_lines.push_back(i);
      }
      continue;
    }
    if (!ids_.reserve(event.id)) {
      chunk.rejections[i] =
          Rejection{errc::unavailable, fmt::format("an event with id {} is being processed right now; send it again "
                                                   "after its first copy is answered",
                                                   event.id)};
      continue;
    }
    line.owns_id = true;
    client_ids.push_back(IdempotencyKey{event.id, event.sender_uid, event.content_digest});
    client_id_lines.push_back(i);
  }
  if (client_ids.empty()) co_return;
  std::vector<SeenStatus> seen;
  boost::system::error_code lookup_error;
  if (store_) {
    std::shared_ptr<DurableCommit> remembered;
    std::tie(lookup_error, seen, remembered) =
        co_await store_->async_find_seen(client_ids, asio::as_tuple(asio::use_awaitable));
    if (remembered) chunk.commits.push_back(std::move(remembered));
  } else {
    for (auto line : client_id_lines) seen.push_back(ids_.recently_seen(*lines[line]));
  }
  for (std::size_t k = 0; k < client_ids.size(); ++k) {
    const auto i = client_id_lines[k];
    if (lookup_error)  // unknown whether it was delivered before: refuse rather than risk a second delivery
      chunk.rejections[i] =
          Rejection{errc::unavailable, "the job store could not check this id for a duplicate; send it again later"};
    else if (seen[k] == SeenStatus::duplicate)
      screening.of[i].duplicate = true;
    else if (seen[k] == SeenStatus::conflict || screening.of[i].conflicts_unless_remembered)
      chunk.rejections[i] = id_conflict(client_ids[k].id);
  }
}

Dispatcher::Routes Dispatcher::route(ChunkOutcome& chunk, const Screening& screening) {
  const auto& slots = chunk.forwarders->slots;
  Routes routes;
  routes.inline_lines.resize(slots.size());
  for (std::size_t i = 0; i < chunk.lines.size(); ++i) {
    const auto& screened = screening.of[i];
    if (chunk.rejections[i] || screened.duplicate || screened.repeat_of) continue;
    const Event& event = *chunk.lines[i];
    EnqueueItem item;
    bool needed_after_enqueue = false;  // by an inline delivery, or an auto fallback
    for (std::size_t s = 0; s < slots.size(); ++s) {
      const auto& config = slots[s]->config;
      auto& result = chunk.results.at(i, s);
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
        routes.inline_lines[s].push_back(i);
        needed_after_enqueue = true;
      }
    }
    if (!item.jobs.empty() || event.client_supplied_id) {
      item.event_id = event.id;
      item.sender_uid = event.sender_uid;
      item.content_digest = event.content_digest;
      // Nothing reads the event's text after the enqueue unless an inline or
      // auto forwarder may deliver it: then copy, else hand it over.
      if (needed_after_enqueue)
        item.payload = event.json;
      else
        item.payload = std::move(chunk.lines[i]->json);
      routes.items.push_back(std::move(item));
      routes.item_line.push_back(i);
    }
  }
  return routes;
}

asio::awaitable<void> Dispatcher::deliver_inline(ChunkOutcome& chunk, const LinesPerForwarder& lines_of) {
  const auto& slots = chunk.forwarders->slots;
  auto deliver_one = [&](std::size_t s) -> asio::awaitable<void> {
    const auto& event_lines = lines_of[s];
    std::vector<Event> batch;
    batch.reserve(event_lines.size());
    for (auto i : event_lines) batch.push_back(*chunk.lines[i]);
    auto outcomes = co_await deliver_within(*slots[s]->forwarder, batch, slots[s]->config.timeout, *slots[s]->log,
                                            &daemon_metrics().forwarder(slots[s]->config.id));
    for (std::size_t k = 0; k < event_lines.size(); ++k) {
      chunk.results.at(event_lines[k], s) = from_outcome(outcomes[k]);
      if (!outcomes[k].ok())
        slots[s]->log->warn("sync delivery of event {} failed: {}", batch[k].id, outcomes[k].reason);
    }
  };
  // Side by side on the caller's strand: a slow forwarder delays the reply by its own timeout, not by the sum.
  auto executor = co_await asio::this_coro::executor;
  using Operation = decltype(asio::co_spawn(executor, deliver_one(0), asio::deferred));
  std::vector<Operation> operations;
  for (std::size_t s = 0; s < lines_of.size(); ++s)
    if (!lines_of[s].empty()) operations.push_back(asio::co_spawn(executor, deliver_one(s), asio::deferred));
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

asio::awaitable<Dispatcher::LinesPerForwarder> Dispatcher::enqueue(ChunkOutcome& chunk, Routes& routes) {
  const auto& slots = chunk.forwarders->slots;
  LinesPerForwarder fallback(slots.size());
  if (!store_ || routes.items.empty()) co_return fallback;
  // The id is remembered (idempotency) in the same transaction as the jobs,
  // and only when every inline result so far is ok.
  auto all_taken_so_far = [&](std::size_t i) {
    for (std::size_t s = 0; s < slots.size(); ++s) {
      const auto& r = chunk.results.at(i, s);
      if (r.status == ForwarderResult::Status::error) return false;
      if (r.status == ForwarderResult::Status::none && !r.in_enqueue) return false;
    }
    return true;
  };
  for (std::size_t k = 0; k < routes.items.size(); ++k)
    routes.items[k].remember_id =
        chunk.lines[routes.item_line[k]]->client_supplied_id && all_taken_so_far(routes.item_line[k]);
  auto enqueued = co_await store_->async_enqueue(std::move(routes.items), asio::use_awaitable);
  const auto& outcomes = std::get<0>(enqueued);
  if (auto& committed = std::get<1>(enqueued)) chunk.commits.push_back(std::move(committed));
  for (std::size_t k = 0; k < outcomes.size(); ++k) {
    const auto i = routes.item_line[k];
    std::size_t j = 0;  // the item's jobs are in forwarder order
    for (std::size_t s = 0; s < slots.size(); ++s) {
      auto& result = chunk.results.at(i, s);
      if (!result.in_enqueue) continue;
      if (outcomes[k].code == errc::ok) {
        result.status = ForwarderResult::Status::enqueued;
        result.job = outcomes[k].job_id(j);
      } else if (slots[s]->config.dispatch == DispatchMode::automatic) {
        fallback[s].push_back(i);  // auto: deliver now instead
      } else {
        result = {ForwarderResult::Status::error, 0, std::string(error_name(outcomes[k].code)),
                  outcomes[k].code == errc::store_full
                      ? "the job store reached store.max_pending_jobs or store.max_bytes"
                      : "the job store could not commit the job (see the daemon log)"};
      }
      ++j;
    }
  }
  co_return fallback;
}

void Dispatcher::decide(ChunkOutcome& chunk, const Screening& screening) {
  for (std::size_t i = 0; i < chunk.lines.size(); ++i) {
    auto& verdict = chunk.verdicts[i];
    const auto& screened = screening.of[i];
    if (chunk.rejections[i]) {
      verdict = Verdict::refused;
    } else if (screened.repeat_of) {
      // Answered like its first copy (an earlier line: decided already).
      const auto first = *screened.repeat_of;
      if (chunk.verdicts[first] == Verdict::accepted || chunk.verdicts[first] == Verdict::duplicate) {
        verdict = Verdict::duplicate;
      } else {
        verdict = Verdict::refused;
        chunk.rejections[i] = chunk.rejections[first].value_or(
            Rejection{errc::unavailable, "the first copy of this id in the same write was not accepted"});
      }
    } else if (screened.duplicate) {
      verdict = Verdict::duplicate;
    } else {
      bool all_taken = true;
      for (std::size_t s = 0; s < chunk.results.forwarders(); ++s)
        all_taken = all_taken && !chunk.results.at(i, s).failed();
      verdict = all_taken ? Verdict::accepted : Verdict::not_taken;
      if (all_taken) accepted_.fetch_add(1, std::memory_order_relaxed);
      if (all_taken && !store_ && chunk.lines[i]->client_supplied_id) ids_.remember(*chunk.lines[i]);
    }
  }
}

}  // namespace auditfwd
