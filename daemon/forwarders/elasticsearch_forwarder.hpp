// The `elasticsearch` forwarder: batches to the _bulk API of Elasticsearch 7/8 or OpenSearch.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: docs/forwarders/elasticsearch.md. Reads api_key_file / basic_password_file;
// connects only on the first delivery.
std::unique_ptr<Forwarder> make_elasticsearch_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

}  // namespace auditfwd
