// Timeout by a watchdog timer awaited beside the delivery; the loser is cancelled.
#include "forwarders/timed_delivery.hpp"

#include <fmt/format.h>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace auditfwd {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

asio::awaitable<BatchOutcome> guarded(Forwarder& forwarder, std::span<const Event> events, spdlog::logger& log) {
  try {
    auto outcome = co_await forwarder.deliver(events);
    if (outcome.size() != events.size()) {
      log.error("forwarder returned {} outcomes for {} events; treating the batch as a retryable failure",
                outcome.size(), events.size());
      co_return same_outcome(events.size(), DeliveryOutcome::retry("internal error: outcome count mismatch"));
    }
    co_return outcome;
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted)  // cancelled by the timeout: not a bug
      co_return same_outcome(events.size(), DeliveryOutcome::timeout("timeout: the delivery was cancelled"));
    log.error("forwarder raised an exception (a bug; the batch will be retried): {}", e.what());
    co_return same_outcome(events.size(), DeliveryOutcome::retry(std::string("internal error: ") + e.what()));
  } catch (const std::exception& e) {
    log.error("forwarder raised an exception (a bug; the batch will be retried): {}", e.what());
    co_return same_outcome(events.size(), DeliveryOutcome::retry(std::string("internal error: ") + e.what()));
  }
}

asio::awaitable<void> sleep_until(std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace

void count_delivery(ForwarderMetrics& metrics, std::span<const DeliveryOutcome> batch) {
  std::uint64_t delivered = 0;
  auto outcome = ForwarderMetrics::ok;
  const DeliveryOutcome* first_failure = nullptr;
  for (const auto& event : batch) {
    if (event.ok()) {
      ++delivered;
    } else if (!first_failure) {
      first_failure = &event;
      outcome = event.timed_out                                  ? ForwarderMetrics::timeout
                : event.kind == DeliveryOutcome::Kind::permanent ? ForwarderMetrics::permanent
                                                                 : ForwarderMetrics::retry;
    }
  }
  metrics.deliveries[static_cast<std::size_t>(outcome)]->add();
  metrics.delivered_events->add(delivered);
  metrics.last_delivery_failed.store(first_failure != nullptr, std::memory_order_relaxed);
  if (first_failure)
    metrics.record_failure(first_failure->reason, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      std::chrono::system_clock::now().time_since_epoch())
                                                      .count());
}

asio::awaitable<BatchOutcome> deliver_within(Forwarder& forwarder, std::span<const Event> events,
                                             std::chrono::milliseconds timeout, spdlog::logger& log,
                                             ForwarderMetrics* metrics) {
  BatchOutcome outcomes;
  outcomes.reserve(events.size());
  const auto limits = forwarder.batch_limits();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto timed_out = DeliveryOutcome::timeout(fmt::format("timeout: no answer within {}ms", timeout.count()));
  std::size_t start = 0;
  while (start < events.size()) {
    if (std::chrono::steady_clock::now() >= deadline) {  // no time left for the rest
      outcomes.insert(outcomes.end(), events.size() - start, timed_out);
      if (metrics) count_delivery(*metrics, std::span<const DeliveryOutcome>(outcomes).subspan(start));
      break;
    }
    std::size_t end = start + 1, bytes = events[start].json.size();
    while (end < events.size() && end - start < std::max<std::size_t>(limits.max_events, 1) &&
           (limits.max_bytes == 0 || bytes + events[end].json.size() <= limits.max_bytes))
      bytes += events[end++].json.size();
    const auto batch = events.subspan(start, end - start);
    auto result = co_await (guarded(forwarder, batch, log) || sleep_until(deadline));
    if (result.index() == 0) {
      auto& batch_outcome = std::get<0>(result);
      outcomes.insert(outcomes.end(), std::make_move_iterator(batch_outcome.begin()),
                      std::make_move_iterator(batch_outcome.end()));
    } else {
      outcomes.insert(outcomes.end(), batch.size(), timed_out);
    }
    if (metrics) count_delivery(*metrics, std::span<const DeliveryOutcome>(outcomes).subspan(start, end - start));
    start = end;
  }
  co_return outcomes;
}

}  // namespace auditfwd
