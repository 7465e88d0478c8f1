// librdkafka.so.1 opened once, each function the forwarder uses looked up by name.
#include "forwarders/rdkafka_library.hpp"

#include "forwarders/loaded_library.hpp"

namespace auditfwd {
namespace {

const OnDemandFunctions<RdKafka>& library() {
#define AUDITFWD_RESOLVE(name) loaded.resolve(#name, functions.name)
  static const OnDemandFunctions<RdKafka> once("librdkafka.so.1", "librdkafka1",
                                               [](LoadedLibrary& loaded, RdKafka& functions) {
                                                 AUDITFWD_RESOLVE(rd_kafka_conf_destroy);
                                                 AUDITFWD_RESOLVE(rd_kafka_conf_new);
                                                 AUDITFWD_RESOLVE(rd_kafka_conf_set);
                                                 AUDITFWD_RESOLVE(rd_kafka_conf_set_background_event_cb);
                                                 AUDITFWD_RESOLVE(rd_kafka_conf_set_events);
                                                 AUDITFWD_RESOLVE(rd_kafka_conf_set_log_cb);
                                                 AUDITFWD_RESOLVE(rd_kafka_conf_set_opaque);
                                                 AUDITFWD_RESOLVE(rd_kafka_destroy);
                                                 AUDITFWD_RESOLVE(rd_kafka_err2name);
                                                 AUDITFWD_RESOLVE(rd_kafka_err2str);
                                                 AUDITFWD_RESOLVE(rd_kafka_error_code);
                                                 AUDITFWD_RESOLVE(rd_kafka_error_destroy);
                                                 AUDITFWD_RESOLVE(rd_kafka_event_destroy);
                                                 AUDITFWD_RESOLVE(rd_kafka_event_error_is_fatal);
                                                 AUDITFWD_RESOLVE(rd_kafka_event_error_string);
                                                 AUDITFWD_RESOLVE(rd_kafka_event_message_next);
                                                 AUDITFWD_RESOLVE(rd_kafka_event_type);
                                                 AUDITFWD_RESOLVE(rd_kafka_fatal_error);
                                                 AUDITFWD_RESOLVE(rd_kafka_flush);
                                                 AUDITFWD_RESOLVE(rd_kafka_message_status);
                                                 AUDITFWD_RESOLVE(rd_kafka_new);
                                                 AUDITFWD_RESOLVE(rd_kafka_opaque);
                                                 AUDITFWD_RESOLVE(rd_kafka_produceva);
                                                 AUDITFWD_RESOLVE(rd_kafka_purge);
                                                 AUDITFWD_RESOLVE(rd_kafka_queue_destroy);
                                                 AUDITFWD_RESOLVE(rd_kafka_queue_forward);
                                                 AUDITFWD_RESOLVE(rd_kafka_queue_get_background);
                                                 AUDITFWD_RESOLVE(rd_kafka_queue_get_main);
                                               });
#undef AUDITFWD_RESOLVE
  return once;
}

}  // namespace

const RdKafka* load_rdkafka(std::string& error) { return library().get(error); }

const RdKafka& rdkafka() { return library().require(); }

}  // namespace auditfwd
