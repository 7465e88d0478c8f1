// Untrusted text shown in job errors and log lines: bounded and on one line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace auditfwd {

// At most `limit` bytes of `text`, cut on a UTF-8 boundary, control bytes as '?'
// (line breaks and tabs as ' '), so a receiver's or a child's text stays one line
// and a huge one is never copied whole.
std::string printable_prefix(std::string_view text, std::size_t limit);

}  // namespace auditfwd
