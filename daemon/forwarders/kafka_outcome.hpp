// How a Kafka delivery report (or a refused produce call) becomes a delivery outcome.
#pragma once

#include "forwarders/forwarder.hpp"

#include <librdkafka/rdkafka.h>

namespace auditfwd {

// RD_KAFKA_RESP_ERR_NO_ERROR is ok. Errors of the message itself (too large for
// the broker, a record the broker calls invalid) are permanent; every other
// error (brokers down, timeouts, leader changes, a full queue, a fatal
// idempotence error after which the producer is rebuilt, a producer closed
// before the report, a topic missing or an ACL refusing the producer) is a retry. The reason
// names librdkafka's error and says whether the message may already be stored
// (`status`, from rd_kafka_message_status).
DeliveryOutcome kafka_outcome(rd_kafka_resp_err_t error, rd_kafka_msg_status_t status);

}  // namespace auditfwd
