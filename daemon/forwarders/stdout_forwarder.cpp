// Writes events to fd 1, one line each; a mutex keeps concurrent batches from interleaving.
#include "forwarders/stdout_forwarder.hpp"
#include "forwarders/forwarder_options.hpp"

#include "config/config_reader.hpp"
#include "forwarders/blocking_io.hpp"
#include "forwarders/line_writer.hpp"

#include <unistd.h>
#include <mutex>

namespace auditfwd {
namespace {

class StdoutForwarder final : public Forwarder {
 public:
  explicit StdoutForwarder(boost::asio::any_io_executor blocking) : blocking_(std::move(blocking)) {}

  BatchLimits batch_limits() const override { return {500, 4 * 1024 * 1024}; }

  boost::asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    const std::string error = co_await run_blocking(blocking_, [this, events] {
      std::lock_guard lock(mutex_);
      return write_event_lines(STDOUT_FILENO, events);
    });
    co_return same_outcome(
        events.size(), error.empty() ? DeliveryOutcome::success() : DeliveryOutcome::retry("write stdout: " + error));
  }

 private:
  boost::asio::any_io_executor blocking_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Forwarder> make_stdout_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  read_forwarder_options(config, [](ConfigReader& reader) {
    reader.finish();
    return true;
  });
  return std::make_unique<StdoutForwarder>(context.blocking);
}

}  // namespace auditfwd
