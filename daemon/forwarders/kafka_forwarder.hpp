// The `kafka` forwarder: one librdkafka producer; a batch is delivered when every message of it is acknowledged.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: `topic` (required), `key` (default "id"), `properties` (librdkafka
// properties, `bootstrap.servers` required; see kafka_settings.hpp). Each event
// is one message: the value its JSON, the key the event's `key` field, headers
// `id` and `action`. Building it validates the keys and starts nothing; the
// producer starts with the first delivery.
std::unique_ptr<Forwarder> make_kafka_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
