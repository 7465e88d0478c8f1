// Where the admin endpoint listens: "127.0.0.1:9880", "[::1]:9880" or "unix:/run/auditfwd/admin.sock".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace auditfwd {

struct AdminAddress {
  enum class Kind { tcp, unix_socket } kind = Kind::tcp;
  std::string host;  // tcp: a loopback IP address, without brackets
  std::uint16_t port = 0;
  std::string path;  // unix_socket: the socket file
  std::string text;  // as written

  // "http://127.0.0.1:9880" or "unix:/run/…", for log lines.
  std::string describe() const;
};

// Parses `text`; the reason on failure. TCP takes an IP address, not a name,
// and only a loopback one (127.0.0.0/8, ::1): the endpoint has no
// authentication, and what it shows (the event tap) is for the host's admins.
// A Unix socket takes a non-empty path after "unix:".
struct AdminAddressResult {
  std::optional<AdminAddress> address;
  std::string problem;
};
AdminAddressResult parse_admin_address(const std::string& text);

}  // namespace auditfwd
