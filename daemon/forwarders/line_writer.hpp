// Writing a batch of events as JSON lines to a file descriptor in one system call.
#pragma once

#include "event/event.hpp"

#include <span>
#include <string>

namespace auditfwd {

// Writes each event's JSON followed by '\n' with writev, retrying partial
// writes and EINTR. Returns an empty string on success, else the error text.
std::string write_event_lines(int fd, std::span<const Event> events);

}  // namespace auditfwd
