// PostgreSQL settings: libpq parses the connection string (PQconninfoParse, no connection), the table name
// is checked as an identifier and quoted, never spliced from anything an event carries.
#include "forwarders/postgresql_settings.hpp"

#include "config/config_reader.hpp"
#include "forwarders/forwarder_options.hpp"
#include "forwarders/libpq_library.hpp"

#include <fmt/format.h>
#include <cctype>
#include <memory>
#include <regex>

namespace auditfwd {
namespace {

bool is_identifier(std::string_view part) {
  if (part.empty() || part.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(part[0])) || part[0] == '_')) return false;
  for (const char c : part)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$')) return false;
  return true;
}

// libpq's reason, without any quoted piece of the string (which may be the password) unless it names an option.
std::string safe_parse_error(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (message.rfind("invalid connection option", 0) == 0) return message;
  return std::regex_replace(message, std::regex("\"[^\"]*\""), "\"…\"");
}

}  // namespace

std::string quoted_table_name(std::string_view table) {
  std::string quoted;
  std::size_t start = 0;
  for (int parts = 0;; ++parts) {
    const auto dot = table.find('.', start);
    const auto part = table.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!is_identifier(part) || parts > 1) return {};
    if (!quoted.empty()) quoted += '.';
    quoted += '"';
    quoted += part;
    quoted += '"';
    if (dot == std::string_view::npos) return quoted;
    start = dot + 1;
  }
}

PostgresqlSettings parse_postgresql_settings(const ForwarderConfig& config) {
  return read_forwarder_options(config, [](ConfigReader& reader) {
    PostgresqlSettings settings;
    const auto conninfo = reader.secret("conninfo");
    if (!conninfo && !reader.contains("conninfo") && !reader.contains("conninfo_file"))
      reader.report("conninfo", "is required (or conninfo_file): a libpq connection string");
    const std::string key = reader.contains("conninfo_file") ? "conninfo_file" : "conninfo";
    std::string load_error;
    if (!load_libpq(load_error)) reader.report(key, load_error);
    if (conninfo && load_error.empty()) {
      char* error = nullptr;
      const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
          libpq().PQconninfoParse(conninfo->c_str(), &error), libpq().PQconninfoFree);
      if (!options) {
        reader.report(key, "not a valid libpq connection string: " + safe_parse_error(error ? error : "out of memory"));
      } else {
        for (const auto* option = options.get(); option->keyword; ++option)
          if (std::string_view(option->keyword) == "password" && option->val && *option->val)
            settings.secrets.emplace_back(option->val);
      }
      if (error) libpq().PQfreemem(error);
      settings.conninfo = *conninfo;
    }
    settings.table_display = reader.string_or("table", "audit_events");
    settings.table = quoted_table_name(settings.table_display);
    if (settings.table.empty())
      reader.report("table",
                    "must be an SQL name: table or schema.table, each of letters, digits, _ and $, not starting "
                    "with a digit, at most 63 bytes");
    settings.create_table = reader.boolean("create_table", true);
    reader.finish();
    return settings;
  });
}

}  // namespace auditfwd
