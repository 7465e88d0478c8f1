// Calling a forwarder the way the contract demands: split to its batch limits, bounded by its timeout.
#pragma once

#include "forwarders/forwarder.hpp"
#include "metrics/daemon_metrics.hpp"

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <span>

namespace auditfwd {

// Delivers `events` through `forwarder` in batches within its BatchLimits, the
// whole call bounded by `timeout`: a batch cut off by it, and every batch not
// started by then, is a retryable timeout outcome. An exception escaping the forwarder is logged and becomes a
// retryable outcome: it ends neither the session nor the worker. Each batch
// counts as one delivery in `metrics` (when given), by the batch's outcome.
boost::asio::awaitable<BatchOutcome> deliver_within(Forwarder& forwarder, std::span<const Event> events,
                                                    std::chrono::milliseconds timeout, spdlog::logger& log,
                                                    ForwarderMetrics* metrics = nullptr);

// Counts one delivery of `batch` (see ForwarderMetrics).
void count_delivery(ForwarderMetrics& metrics, std::span<const DeliveryOutcome> batch);

}  // namespace auditfwd
