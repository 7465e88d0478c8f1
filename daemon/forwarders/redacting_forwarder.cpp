// The decorator make_forwarder puts around a forwarder that holds secrets.
#include "forwarders/redacting_forwarder.hpp"

#include <stdexcept>

namespace auditfwd {
namespace {

class RedactingForwarder final : public Forwarder {
 public:
  RedactingForwarder(std::unique_ptr<Forwarder> inner, SecretRedactor redactor)
      : inner_(std::move(inner)), redactor_(std::move(redactor)) {}

  BatchLimits batch_limits() const override { return inner_->batch_limits(); }

  boost::asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    BatchOutcome outcomes;
    std::string escaped;  // an exception's text, rethrown redacted outside the handler
    try {
      outcomes = co_await inner_->deliver(events);
    } catch (const std::exception& e) {
      escaped = redactor_.redact(e.what());
    }
    if (!escaped.empty()) throw std::runtime_error(escaped);
    redact_reasons(outcomes, redactor_);
    co_return outcomes;
  }

  void reopen() override { inner_->reopen(); }
  void stop() override { inner_->stop(); }
  std::vector<std::string> secrets() const override { return inner_->secrets(); }

 private:
  std::unique_ptr<Forwarder> inner_;
  SecretRedactor redactor_;
};

}  // namespace

void redact_reasons(BatchOutcome& outcomes, const SecretRedactor& redactor) {
  for (auto& outcome : outcomes)
    if (!outcome.reason.empty()) outcome.reason = redactor.redact(outcome.reason);
}

std::unique_ptr<Forwarder> with_redacted_reasons(std::unique_ptr<Forwarder> inner) {
  SecretRedactor redactor(inner->secrets());
  if (redactor.empty()) return inner;
  return std::make_unique<RedactingForwarder>(std::move(inner), std::move(redactor));
}

}  // namespace auditfwd
