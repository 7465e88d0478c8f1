// Kafka delivery reports to outcomes: what a retry cannot fix is permanent, the rest is retried.
#include "forwarders/kafka_outcome.hpp"
#include "forwarders/rdkafka_library.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("kafka: an acknowledged message is delivered") {
  CHECK(kafka_outcome(RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_MSG_STATUS_PERSISTED).ok());
}

TEST_CASE("kafka: transient errors are retried and say whether the message may be stored") {
  for (const auto error :
       {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__FATAL,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_INVALID_MSG, RD_KAFKA_RESP_ERR__DESTROY}) {
    const auto outcome = kafka_outcome(error, RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED);
    CHECK(outcome.kind == DeliveryOutcome::Kind::retry);
    CHECK(outcome.reason.find(rdkafka().rd_kafka_err2name(error)) != std::string::npos);
    CHECK(outcome.reason.find("possibly stored") != std::string::npos);
  }
}

TEST_CASE("kafka: errors no retry can fix are permanent") {
  for (const auto error : {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
                           RD_KAFKA_RESP_ERR_INVALID_RECORD}) {
    const auto outcome = kafka_outcome(error, RD_KAFKA_MSG_STATUS_NOT_PERSISTED);
    CHECK(outcome.kind == DeliveryOutcome::Kind::permanent);
    CHECK(outcome.reason.find("not stored") != std::string::npos);
  }
}
