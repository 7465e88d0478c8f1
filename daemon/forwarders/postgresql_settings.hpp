// The `postgresql` forwarder's settings: the libpq connection string, the table, whether to create it.
#pragma once

#include "config/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

struct PostgresqlSettings {
  std::string conninfo;       // a secret as a whole: it may hold the password; never logged
  std::string table;          // the table as SQL: each part double-quoted ("audit"."events")
  std::string table_display;  // as configured (audit.events), for messages
  bool create_table = true;
  std::vector<std::string> secrets;  // the password, when the connection string carries one
};

// Reads `conninfo` or `conninfo_file` (one required; a libpq connection string
// or URI, parsed by libpq without connecting: an unknown option is a
// ConfigError naming the key), `table` (default "audit_events"; an SQL identifier
// or schema.identifier, letters, digits, _ and $, not starting with a digit, each
// part at most 63 bytes) and `create_table` (default true). Every problem in one pass.
PostgresqlSettings parse_postgresql_settings(const ForwarderConfig& config);

// `table` as SQL (each dot-separated part double-quoted), or "" when it is not a valid name.
std::string quoted_table_name(std::string_view table);

}  // namespace auditfwd
