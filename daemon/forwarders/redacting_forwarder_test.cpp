// Unit tests for the decorator that keeps a forwarder's secrets out of its outcome reasons.
#include "forwarders/redacting_forwarder.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <stdexcept>

using namespace auditfwd;
namespace asio = boost::asio;

namespace {
// Fails every event with a reason quoting its secret, or throws one.
class LeakyForwarder final : public Forwarder {
 public:
  explicit LeakyForwarder(bool throws) : throws_(throws) {}
  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (throws_) throw std::runtime_error("boom with hunter2");
    BatchOutcome outcomes(events.size(), DeliveryOutcome::permanent("HTTP 400: bad token hunter2"));
    outcomes.front() = DeliveryOutcome::success();
    co_return outcomes;
  }
  std::vector<std::string> secrets() const override { return {"hunter2"}; }

 private:
  bool throws_;
};

class PlainForwarder final : public Forwarder {
 public:
  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    co_return same_outcome(events.size(), DeliveryOutcome::success());
  }
};

BatchOutcome deliver(Forwarder& forwarder, std::size_t events) {
  asio::io_context io;
  std::vector<Event> batch(events);
  auto future = asio::co_spawn(io, forwarder.deliver(batch), asio::use_future);
  io.run();
  return future.get();
}
}  // namespace

TEST_CASE("outcome reasons lose the forwarder's secrets") {
  auto forwarder = with_redacted_reasons(std::make_unique<LeakyForwarder>(false));
  const auto outcomes = deliver(*forwarder, 3);
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0].ok());
  CHECK(outcomes[1].kind == DeliveryOutcome::Kind::permanent);
  CHECK(outcomes[1].reason == "HTTP 400: bad token [REDACTED]");
  CHECK(outcomes[2].reason == "HTTP 400: bad token [REDACTED]");
  CHECK(forwarder->secrets() == std::vector<std::string>{"hunter2"});
}

TEST_CASE("an exception escaping deliver loses them too") {
  auto forwarder = with_redacted_reasons(std::make_unique<LeakyForwarder>(true));
  try {
    deliver(*forwarder, 1);
    FAIL("no exception");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()) == "boom with [REDACTED]");
  }
}

TEST_CASE("a forwarder without secrets is returned as it is") {
  auto plain = std::make_unique<PlainForwarder>();
  auto* address = plain.get();
  CHECK(with_redacted_reasons(std::move(plain)).get() == address);
}
