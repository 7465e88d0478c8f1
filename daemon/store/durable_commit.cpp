#include "store/durable_commit.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <utility>

namespace auditfwd {
namespace asio = boost::asio;

namespace {

// Queues the handler on its own executor. Called on the writer's or a syncer's
// thread, which runs no executor, so the handler never runs inline.
void complete_later(asio::any_completion_handler<void()> handler) {
  auto tracked = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
  tracked.execute([handler = std::move(handler), tracked]() mutable { std::move(handler)(); });
}

}  // namespace

void DurableCommit::mark_durable() {
  std::vector<asio::any_completion_handler<void()>> waiters;
  {
    std::lock_guard lock(mutex_);
    durable_ = true;
    waiters.swap(waiters_);
  }
  for (auto& waiter : waiters) complete_later(std::move(waiter));
}

}  // namespace auditfwd
