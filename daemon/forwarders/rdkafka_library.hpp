// librdkafka, loaded when the first `kafka` forwarder is configured instead of linked (with SASL and
// LZ4 it is about 1 MiB of resident memory that a daemon without a Kafka destination should not carry).
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>

namespace auditfwd {

// The librdkafka functions the kafka forwarder calls, resolved from librdkafka.so.1 (Debian's librdkafka1).
struct RdKafka {
  decltype(&::rd_kafka_conf_destroy) rd_kafka_conf_destroy;
  decltype(&::rd_kafka_conf_new) rd_kafka_conf_new;
  decltype(&::rd_kafka_conf_set) rd_kafka_conf_set;
  decltype(&::rd_kafka_conf_set_background_event_cb) rd_kafka_conf_set_background_event_cb;
  decltype(&::rd_kafka_conf_set_events) rd_kafka_conf_set_events;
  decltype(&::rd_kafka_conf_set_log_cb) rd_kafka_conf_set_log_cb;
  decltype(&::rd_kafka_conf_set_opaque) rd_kafka_conf_set_opaque;
  decltype(&::rd_kafka_destroy) rd_kafka_destroy;
  decltype(&::rd_kafka_err2name) rd_kafka_err2name;
  decltype(&::rd_kafka_err2str) rd_kafka_err2str;
  decltype(&::rd_kafka_error_code) rd_kafka_error_code;
  decltype(&::rd_kafka_error_destroy) rd_kafka_error_destroy;
  decltype(&::rd_kafka_event_destroy) rd_kafka_event_destroy;
  decltype(&::rd_kafka_event_error_is_fatal) rd_kafka_event_error_is_fatal;
  decltype(&::rd_kafka_event_error_string) rd_kafka_event_error_string;
  decltype(&::rd_kafka_event_message_next) rd_kafka_event_message_next;
  decltype(&::rd_kafka_event_type) rd_kafka_event_type;
  decltype(&::rd_kafka_fatal_error) rd_kafka_fatal_error;
  decltype(&::rd_kafka_flush) rd_kafka_flush;
  decltype(&::rd_kafka_message_status) rd_kafka_message_status;
  decltype(&::rd_kafka_new) rd_kafka_new;
  decltype(&::rd_kafka_opaque) rd_kafka_opaque;
  decltype(&::rd_kafka_produceva) rd_kafka_produceva;
  decltype(&::rd_kafka_purge) rd_kafka_purge;
  decltype(&::rd_kafka_queue_destroy) rd_kafka_queue_destroy;
  decltype(&::rd_kafka_queue_forward) rd_kafka_queue_forward;
  decltype(&::rd_kafka_queue_get_background) rd_kafka_queue_get_background;
  decltype(&::rd_kafka_queue_get_main) rd_kafka_queue_get_main;
};

// librdkafka, loaded on the first call (thread-safe; it stays loaded). nullptr when it cannot be, with
// the reason in `error`.
const RdKafka* load_rdkafka(std::string& error);

// The loaded librdkafka (loaded now if need be); throws std::runtime_error when it cannot be. A configured
// forwarder has checked it already: its settings call load_rdkafka.
const RdKafka& rdkafka();

}  // namespace auditfwd
