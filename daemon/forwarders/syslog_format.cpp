// Pure formatting, no I/O: the parts of RFC 5424 a receiver would reject us for are enforced here.
#include "forwarders/syslog_format.hpp"

#include <fmt/format.h>
#include <array>
#include <cctype>
#include <utility>

namespace auditfwd {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 23> facilities{{
    {"kern", 0},    {"user", 1},      {"mail", 2},     {"daemon", 3},  {"auth", 4},      {"syslog", 5},
    {"lpr", 6},     {"news", 7},      {"uucp", 8},     {"cron", 9},    {"authpriv", 10}, {"ftp", 11},
    {"ntp", 12},    {"security", 13}, {"console", 14}, {"clock", 15},  {"local0", 16},   {"local1", 17},
    {"local2", 18}, {"local3", 19},   {"local4", 20},  {"local5", 21}, {"local6", 22},
}};

}  // namespace

std::optional<int> syslog_facility_code(std::string_view name) {
  if (name == "local7") return 23;
  for (const auto& [known, code] : facilities)
    if (known == name) return code;
  return std::nullopt;
}

std::vector<std::string> syslog_facility_names() {
  std::vector<std::string> names;
  for (const auto& [name, _] : facilities) names.emplace_back(name);
  names.emplace_back("local7");
  return names;
}

int syslog_severity(std::string_view outcome) {
  if (outcome == "failure") return 5;  // notice
  if (outcome == "error") return 3;    // err
  return 6;                            // info
}

std::string syslog_header_field(std::string_view text, std::size_t max_length) {
  std::string field;
  for (const char c : text) {
    if (field.size() == max_length) break;
    if (c >= 33 && c <= 126) field.push_back(c);
  }
  return field.empty() ? "-" : field;
}

std::string syslog_msgid(std::string_view action) { return syslog_header_field(action, 32); }

std::string syslog_escape_param(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (const char c : value) {
    if (c == '"' || c == '\\' || c == ']') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

std::string syslog_timestamp(std::string_view rfc3339) {
  std::string out;
  out.reserve(rfc3339.size());
  std::size_t digits = 0;
  bool in_fraction = false;
  for (std::size_t i = 0; i < rfc3339.size(); ++i) {
    char c = rfc3339[i];
    if (i == 10 && (c == 't' || c == ' ')) c = 'T';
    if (c == 'z') c = 'Z';
    if (c == '.' && i >= 19) {
      in_fraction = true;
    } else if (in_fraction) {
      if (std::isdigit(static_cast<unsigned char>(c))) {
        if (++digits > 6) continue;  // RFC 5424 allows microseconds at most
      } else {
        in_fraction = false;
      }
    }
    out.push_back(c);
  }
  // A leap second (:60) is valid RFC 3339 but not RFC 5424.
  if (out.size() > 18 && out.compare(17, 2, "60") == 0) out.replace(17, 2, "59");
  return out;
}

std::string format_syslog_message(const SyslogOrigin& origin, const Event& event) {
  return fmt::format("<{}>1 {} {} {} {} {} [{} id=\"{}\" outcome=\"{}\"] {}",
                     syslog_pri(origin.facility, syslog_severity(event.outcome)), syslog_timestamp(event.occurred_at),
                     origin.hostname, origin.app_name, origin.procid, syslog_msgid(event.action), syslog_sd_id,
                     syslog_escape_param(event.id), syslog_escape_param(event.outcome), event.json);
}

void append_octet_counted(std::string& out, std::string_view message) {
  fmt::format_to(std::back_inserter(out), "{} ", message.size());
  out.append(message);
}

}  // namespace auditfwd
