// The `postgresql` forwarder: each batch inserted in one statement, `ON CONFLICT (id) DO NOTHING`.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"
#include "forwarders/forwarder_context.hpp"

#include <memory>

namespace auditfwd {

// Keys: `conninfo` or `conninfo_file`, `table`, `create_table` (postgresql_settings.hpp).
// Building it parses the connection string and connects to nothing.
std::unique_ptr<Forwarder> make_postgresql_forwarder(const ForwarderConfig& config, const ForwarderContext& context);

// The statement that creates the table (`table` already quoted): the documented schema.
std::string postgresql_create_table_sql(const std::string& table);

}  // namespace auditfwd
