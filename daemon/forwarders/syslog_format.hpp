// RFC 5424 syslog messages for events, and RFC 6587 octet-counting frames for stream transports.
#pragma once

#include "event/event.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace auditfwd {

// The private enterprise number under which auditfwd's structured data is named.
inline constexpr std::string_view syslog_sd_id = "auditfwd@32473";

// The facility code for a standard name (kern, user, mail, daemon, auth,
// syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, security, console,
// clock, local0…local7), or nullopt.
std::optional<int> syslog_facility_code(std::string_view name);
std::vector<std::string> syslog_facility_names();

// info (6) for success, notice (5) for failure, err (3) for error.
int syslog_severity(std::string_view outcome);

// PRI = facility · 8 + severity.
constexpr int syslog_pri(int facility, int severity) { return facility * 8 + severity; }

// A header field as RFC 5424 allows it: printable US-ASCII (33–126) only,
// other bytes dropped, at most `max_length` characters, "-" when empty.
std::string syslog_header_field(std::string_view text, std::size_t max_length);

// MSGID: the action, as a header field of at most 32 characters.
std::string syslog_msgid(std::string_view action);

// An SD-PARAM value with '"', '\' and ']' escaped by a backslash.
std::string syslog_escape_param(std::string_view value);

// The event's occurred_at (any RFC 3339 form the validator accepts) as an RFC
// 5424 TIMESTAMP: upper-case T and Z, at most 6 fractional digits.
std::string syslog_timestamp(std::string_view rfc3339);

// Who is speaking, fixed per forwarder.
struct SyslogOrigin {
  int facility = 10;                  // authpriv
  std::string hostname = "-";         // already a valid header field
  std::string app_name = "auditfwd";  // already a valid header field
  std::string procid = "-";
};

// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [auditfwd@32473 id="…" outcome="…"] MSG`
// with MSG = the event's JSON (UTF-8, no BOM).
std::string format_syslog_message(const SyslogOrigin& origin, const Event& event);

// Appends `message` to `out` framed by octet counting: "LEN SP MSG" (RFC 6587 3.4.1, RFC 5425).
void append_octet_counted(std::string& out, std::string_view message);

}  // namespace auditfwd
