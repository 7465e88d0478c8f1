// One librdkafka producer per forwarder. Produce calls run on the blocking pool; delivery reports arrive on
// librdkafka's background thread, which wakes the waiting delivery through a channel on its own executor.
#include "forwarders/kafka_forwarder.hpp"

#include "forwarders/blocking_io.hpp"
#include "forwarders/kafka_outcome.hpp"
#include "forwarders/kafka_settings.hpp"
#include "forwarders/rdkafka_library.hpp"
#include "forwarders/secret_redactor.hpp"

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace auditfwd {
namespace {

namespace asio = boost::asio;

// One deliver() call waiting for the delivery reports of its messages.
struct BatchWait {
  explicit BatchWait(const asio::any_io_executor& executor) : reported(executor, 1) {}
  // Guarded by the forwarder's mutex:
  std::size_t pending = 0;  // messages not reported yet
  std::size_t awaited = 0;  // messages it waited for once produced: none, and nothing will be sent
  bool abandoned = false;   // the delivery ended (its timeout) before every report came
  asio::experimental::concurrent_channel<void(boost::system::error_code)> reported;  // sent once pending is 0
};

// One produced message until its delivery report. A delivery of the same event
// that comes while it is in flight (the job retried after a timeout) waits for
// this report instead of producing a second copy.
struct InFlightMessage {
  std::string id;
  // Which producer holds it until its report: a count, not the address, which a new producer may reuse.
  std::uint64_t producer = 0;
  // The message's reference to itself that librdkafka carries to the report; freed by the report, or by
  // close_producer when the report never comes.
  std::shared_ptr<InFlightMessage>* opaque = nullptr;
  bool reported = false;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_msg_status_t status = RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
  std::vector<std::shared_ptr<BatchWait>> waiters;
};

class KafkaForwarder final : public Forwarder {
 public:
  KafkaForwarder(KafkaSettings settings, asio::any_io_executor blocking, std::shared_ptr<spdlog::logger> log)
      : settings_(std::move(settings)),
        redactor_(settings_.secrets),
        blocking_(std::move(blocking)),
        log_(std::move(log)) {}

  ~KafkaForwarder() override { stop(); }

  std::vector<std::string> secrets() const override { return settings_.secrets; }

  // librdkafka batches on the wire itself (linger.ms); a larger batch here only
  // means fewer hops to the blocking pool.
  BatchLimits batch_limits() const override { return {500, 8 * 1024 * 1024, std::chrono::milliseconds{0}}; }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (events.empty()) co_return BatchOutcome{};
    auto wait = std::make_shared<BatchWait>(co_await asio::this_coro::executor);
    std::vector<std::shared_ptr<InFlightMessage>> messages;
    // However this delivery ends before its reports (its timeout cancels it at any await), the messages
    // it produced are remembered, so their retry completes instead of producing a second copy.
    AbandonGuard abandon_guard{this, wait, messages};
    const auto refused = co_await run_blocking(blocking_, [&] { return produce(events, wait, messages); });
    if (refused) co_return same_outcome(events.size(), *refused);
    if (wait->awaited > 0) {
      // Cancelled by the forwarder's timeout: the messages stay with the producer, which keeps
      // retrying them; a retry of these events waits for their reports instead of sending them again.
      auto [cancelled] = co_await wait->reported.async_receive(asio::as_tuple(asio::use_awaitable));
      if (cancelled)
        co_return same_outcome(events.size(),
                               DeliveryOutcome::timeout("timeout: no delivery report from the Kafka cluster in time"));
    }
    BatchOutcome outcomes;
    outcomes.reserve(events.size());
    std::lock_guard lock(mutex_);
    abandon_guard.forwarder = nullptr;  // every report is in: this delivery's outcomes tell them
    for (const auto& message : messages) outcomes.push_back(kafka_outcome(message->error, message->status));
    co_return outcomes;
  }

  void stop() override {
    rd_kafka_t* producer = nullptr;
    std::uint64_t number = 0;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;  // a delivery still under way starts no new producer
      producer = std::exchange(producer_, nullptr);
      number = producer_number_;
    }
    if (producer) close_producer(producer, number, std::chrono::milliseconds{2000});
  }

 private:
  // Marks a delivery abandoned when it ends without its reports.
  struct AbandonGuard {
    KafkaForwarder* forwarder;
    std::shared_ptr<BatchWait> wait;
    const std::vector<std::shared_ptr<InFlightMessage>>& messages;
    AbandonGuard(KafkaForwarder* owner, std::shared_ptr<BatchWait> batch,
                 const std::vector<std::shared_ptr<InFlightMessage>>& produced)
        : forwarder(owner), wait(std::move(batch)), messages(produced) {}
    AbandonGuard(const AbandonGuard&) = delete;
    AbandonGuard& operator=(const AbandonGuard&) = delete;
    ~AbandonGuard() {
      if (forwarder) forwarder->abandon(*wait, messages);
    }
  };

  // A delivery gave up waiting: the messages already stored are remembered now, those still in flight when
  // their report comes (on_delivery_reports).
  void abandon(BatchWait& wait, const std::vector<std::shared_ptr<InFlightMessage>>& messages) {
    std::lock_guard lock(mutex_);
    wait.abandoned = true;
    for (const auto& message : messages)
      if (message->reported) remember_stored(*message);
  }

  // Called with mutex_ held. A message the cluster acknowledged after its delivery gave up: the job is
  // retried, and its retry must complete without producing the event again. Bounded: the oldest are
  // forgotten first (a retry after that many other abandoned messages produces a second copy, which the
  // `id` header identifies).
  void remember_stored(const InFlightMessage& message) {
    if (message.error != RD_KAFKA_RESP_ERR_NO_ERROR) return;  // not stored: the retry produces it again
    const auto generation = ++stored_generation_;
    stored_unclaimed_.insert_or_assign(message.id, generation);
    stored_order_.emplace_back(message.id, generation);
    while (stored_order_.size() > max_stored_unclaimed) {
      // Only the entry this record made: the id may have been claimed and remembered again since.
      const auto& [id, made] = stored_order_.front();
      if (const auto found = stored_unclaimed_.find(id); found != stored_unclaimed_.end() && found->second == made)
        stored_unclaimed_.erase(found);
      stored_order_.pop_front();
    }
  }

  // Produces each event not already in flight; for a refused one, records the refusal at once.
  // Returns an outcome for the whole batch when there is no producer to produce with.
  std::optional<DeliveryOutcome> produce(std::span<const Event> events, const std::shared_ptr<BatchWait>& wait,
                                         std::vector<std::shared_ptr<InFlightMessage>>& messages) {
    // A fatal error (e.g. an idempotence sequence the broker lost) ends a producer: its messages are
    // reported failed (retried) as it goes, and a fresh one takes over.
    rd_kafka_t* broken = nullptr;
    std::uint64_t broken_number = 0;
    {
      std::lock_guard lock(mutex_);
      if (producer_failed_) {
        broken = std::exchange(producer_, nullptr);
        broken_number = producer_number_;
      }
      producer_failed_ = false;
    }
    if (broken) close_producer(broken, broken_number, std::chrono::milliseconds{0});
    std::lock_guard lock(mutex_);
    if (stopped_) return DeliveryOutcome::retry("kafka: the forwarder is stopping");
    if (!producer_) {
      if (auto error = start_producer(); !error.empty()) return DeliveryOutcome::retry(std::move(error));
    }
    messages.reserve(events.size());
    for (const auto& event : events) {
      if (stored_unclaimed_.erase(event.id) > 0) {  // stored by a delivery that gave up waiting
        auto stored = std::make_shared<InFlightMessage>();
        stored->id = event.id;
        stored->reported = true;
        stored->status = RD_KAFKA_MSG_STATUS_PERSISTED;
        messages.push_back(std::move(stored));
        continue;
      }
      if (const auto found = in_flight_.find(event.id); found != in_flight_.end()) {
        found->second->waiters.push_back(wait);
        ++wait->pending;
        messages.push_back(found->second);
        continue;
      }
      auto message = std::make_shared<InFlightMessage>();
      message->id = event.id;
      const auto key = message_key(event);
      auto* opaque = new std::shared_ptr<InFlightMessage>(message);
      rd_kafka_vu_t parts[7] = {};
      parts[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      parts[0].u.cstr = settings_.topic.c_str();
      parts[1].vtype = RD_KAFKA_VTYPE_VALUE;
      parts[1].u.mem = {const_cast<char*>(event.json.data()), event.json.size()};
      parts[2].vtype = RD_KAFKA_VTYPE_KEY;
      parts[2].u.mem = {key ? const_cast<char*>(key->data()) : nullptr, key ? key->size() : 0};
      parts[3].vtype = RD_KAFKA_VTYPE_HEADER;
      parts[3].u.header = {"id", event.id.data(), static_cast<ssize_t>(event.id.size())};
      parts[4].vtype = RD_KAFKA_VTYPE_HEADER;
      parts[4].u.header = {"action", event.action.data(), static_cast<ssize_t>(event.action.size())};
      parts[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
      parts[5].u.ptr = opaque;
      parts[6].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      parts[6].u.i = RD_KAFKA_MSG_F_COPY;  // the events need not outlive this call
      if (rd_kafka_error_t* error = rdkafka().rd_kafka_produceva(producer_, parts, 7)) {
        message->error =
            rdkafka().rd_kafka_error_code(error);  // e.g. a full queue, an unknown topic, a message too large
        rdkafka().rd_kafka_error_destroy(error);
        delete opaque;
      } else {
        message->producer = producer_number_;
        message->opaque = opaque;
        message->waiters.push_back(wait);
        ++wait->pending;
        in_flight_.emplace(event.id, message);
      }
      messages.push_back(std::move(message));
    }
    wait->awaited = wait->pending;
    return std::nullopt;
  }

  // The message key: the event's configured field; none when the event has it null or not at all.
  std::optional<std::string> message_key(const Event& event) const {
    if (settings_.key_field == "id") return event.id;
    if (settings_.key_field == "action") return event.action;
    if (settings_.key_field == "outcome") return event.outcome;
    if (settings_.key_field == "occurred_at") return event.occurred_at;
    boost::system::error_code error;
    const auto parsed = boost::json::parse(event.json, error);
    if (error || !parsed.is_object()) return std::nullopt;
    const auto* field = parsed.get_object().if_contains(settings_.key_field);
    if (!field || !field->is_string()) return std::nullopt;
    return std::string(field->get_string());
  }

  // Gives `producer` up to `grace` to deliver what it holds, then purges the rest (reported as retries:
  // their jobs stay in the store and are delivered again), lets the background thread serve those
  // reports, and destroys it. rd_kafka_destroy discards the reports its background thread has not served
  // yet: a message whose report never came is failed here, so no delivery waits for it forever and no
  // retry joins it. Never with mutex_ held: the reports it serves take it.
  void close_producer(rd_kafka_t* producer, std::uint64_t number, std::chrono::milliseconds grace) {
    if (grace.count() > 0) rdkafka().rd_kafka_flush(producer, static_cast<int>(grace.count()));
    rdkafka().rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rdkafka().rd_kafka_flush(producer, 1000);  // the purge's reports, served by the background thread
    rdkafka().rd_kafka_destroy(producer);
    std::lock_guard lock(mutex_);
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      InFlightMessage& message = *it->second;
      if (message.producer != number) {
        ++it;
        continue;
      }
      delete std::exchange(message.opaque, nullptr);  // it->second keeps the message alive
      message.reported = true;
      message.error = RD_KAFKA_RESP_ERR__DESTROY;
      message.status = RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
      for (const auto& wait : message.waiters)
        if (--wait->pending == 0) wait->reported.try_send(boost::system::error_code{});
      message.waiters.clear();
      it = in_flight_.erase(it);
    }
  }

  // Called with mutex_ held. Returns why the producer could not start, or "".
  std::string start_producer() {
    rd_kafka_conf_t* conf = rdkafka().rd_kafka_conf_new();
    char reason[512];
    for (const auto& [name, value] : settings_.properties)
      if (rdkafka().rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK) {
        rdkafka().rd_kafka_conf_destroy(conf);
        return redactor_.redact(fmt::format("kafka: property {}: {}", name, reason));
      }
    rdkafka().rd_kafka_conf_set_opaque(conf, this);
    rdkafka().rd_kafka_conf_set_log_cb(conf, &KafkaForwarder::on_log);
    rdkafka().rd_kafka_conf_set_events(conf, RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
    rdkafka().rd_kafka_conf_set_background_event_cb(conf, &KafkaForwarder::on_event);
    rd_kafka_t* producer = rdkafka().rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
    if (!producer) {
      rdkafka().rd_kafka_conf_destroy(conf);  // rd_kafka_new takes it only on success
      const auto error = redactor_.redact(fmt::format("kafka: the producer does not start: {}", reason));
      log_->error("{}", error);
      return error;
    }
    // Delivery reports go to the main queue: have librdkafka's background thread serve it.
    rd_kafka_queue_t* main_queue = rdkafka().rd_kafka_queue_get_main(producer);
    rd_kafka_queue_t* background = rdkafka().rd_kafka_queue_get_background(producer);
    rdkafka().rd_kafka_queue_forward(main_queue, background);
    rdkafka().rd_kafka_queue_destroy(main_queue);
    rdkafka().rd_kafka_queue_destroy(background);
    producer_ = producer;
    ++producer_number_;
    return {};
  }

  static void on_log(const rd_kafka_t* producer, int level, const char* facility, const char* text) {
    auto* self = static_cast<KafkaForwarder*>(rdkafka().rd_kafka_opaque(producer));
    const auto line = self->redactor_.redact(fmt::format("librdkafka {}: {}", facility, text));
    if (level <= 3)
      self->log_->error("{}", line);
    else if (level == 4)
      self->log_->warn("{}", line);
    else if (level <= 6)
      self->log_->info("{}", line);
    else
      self->log_->debug("{}", line);
  }

  static void on_event(rd_kafka_t* producer, rd_kafka_event_t* event, void* opaque) {
    auto* self = static_cast<KafkaForwarder*>(opaque);
    switch (rdkafka().rd_kafka_event_type(event)) {
      case RD_KAFKA_EVENT_DR: self->on_delivery_reports(event); break;
      case RD_KAFKA_EVENT_ERROR: self->on_error(producer, event); break;
      default: break;
    }
    rdkafka().rd_kafka_event_destroy(event);
  }

  void on_delivery_reports(rd_kafka_event_t* event) {
    std::lock_guard lock(mutex_);
    while (const rd_kafka_message_t* report = rdkafka().rd_kafka_event_message_next(event)) {
      auto* opaque = static_cast<std::shared_ptr<InFlightMessage>*>(report->_private);
      const auto message = std::move(*opaque);
      delete opaque;
      message->opaque = nullptr;
      message->reported = true;
      message->error = report->err;
      message->status = rdkafka().rd_kafka_message_status(report);
      if (const auto found = in_flight_.find(message->id); found != in_flight_.end() && found->second == message)
        in_flight_.erase(found);
      bool awaited = false;
      for (const auto& wait : message->waiters) {
        awaited = awaited || !wait->abandoned;
        if (--wait->pending == 0) wait->reported.try_send(boost::system::error_code{});
      }
      if (!awaited) remember_stored(*message);
      message->waiters.clear();
    }
  }

  void on_error(rd_kafka_t* producer, rd_kafka_event_t* event) {
    const auto text = redactor_.redact(rdkafka().rd_kafka_event_error_string(event));
    if (!rdkafka().rd_kafka_event_error_is_fatal(event)) {
      log_->warn("kafka: {}", text);  // transient (a broker down): librdkafka recovers by itself
      return;
    }
    char reason[512];
    rdkafka().rd_kafka_fatal_error(producer, reason, sizeof reason);
    log_->error("kafka: fatal producer error, starting a new producer: {}", redactor_.redact(reason));
    std::lock_guard lock(mutex_);
    if (producer == producer_) producer_failed_ = true;
  }

  KafkaSettings settings_;
  SecretRedactor redactor_;
  asio::any_io_executor blocking_;
  std::shared_ptr<spdlog::logger> log_;

  std::mutex mutex_;
  rd_kafka_t* producer_ = nullptr;
  std::uint64_t producer_number_ = 0;  // counts the producers started: which one producer_ is
  bool producer_failed_ = false;
  std::unordered_map<std::string, std::shared_ptr<InFlightMessage>> in_flight_;
  bool stopped_ = false;
  static constexpr std::size_t max_stored_unclaimed = 65536;
  // Ids stored after their delivery gave up, each with the generation that remembered it, and the
  // records of remembering, oldest first (an id claimed since leaves a stale record, skipped on eviction).
  std::unordered_map<std::string, std::uint64_t> stored_unclaimed_;
  std::deque<std::pair<std::string, std::uint64_t>> stored_order_;
  std::uint64_t stored_generation_ = 0;
};

}  // namespace

std::unique_ptr<Forwarder> make_kafka_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  return std::make_unique<KafkaForwarder>(parse_kafka_settings(config), context.blocking, context.log);
}

}  // namespace auditfwd
