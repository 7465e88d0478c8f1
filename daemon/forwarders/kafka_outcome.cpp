// Kafka error classification: a short list of errors a retry cannot fix; the rest are transient.
#include "forwarders/kafka_outcome.hpp"

#include "forwarders/rdkafka_library.hpp"

#include <fmt/format.h>

namespace auditfwd {
namespace {

// Only what is wrong with the message itself: errors of the cluster's state or configuration (a topic
// missing or misnamed, an ACL, the acks setting, an old message format) are retried, so the events wait
// in the store while an operator fixes the cluster, as with a missing PostgreSQL table or a refused HEC
// token.
bool is_permanent(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD: return true;
    default: return false;
  }
}

const char* status_text(rd_kafka_msg_status_t status) {
  switch (status) {
    case RD_KAFKA_MSG_STATUS_NOT_PERSISTED: return "not stored";
    case RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED: return "possibly stored";
    case RD_KAFKA_MSG_STATUS_PERSISTED: return "stored";
  }
  return "unknown";
}

}  // namespace

DeliveryOutcome kafka_outcome(rd_kafka_resp_err_t error, rd_kafka_msg_status_t status) {
  if (error == RD_KAFKA_RESP_ERR_NO_ERROR) return DeliveryOutcome::success();
  auto reason = fmt::format("kafka: {} ({}; message {})", rdkafka().rd_kafka_err2str(error),
                            rdkafka().rd_kafka_err2name(error), status_text(status));
  if (is_permanent(error)) return DeliveryOutcome::permanent(std::move(reason));
  return DeliveryOutcome::retry(std::move(reason));
}

}  // namespace auditfwd
