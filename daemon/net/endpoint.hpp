// Network destinations of the socket-based forwarders: `udp://`, `tcp://` and `tls://` host:port addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace auditfwd {

enum class Transport { udp, tcp, tls };

std::string_view transport_name(Transport transport);

struct Endpoint {
  Transport transport = Transport::tcp;
  std::string host;  // a name or an IP literal (IPv6 without brackets)
  std::uint16_t port = 0;

  // "scheme://host:port", as a user wrote it (for logs and errors; holds no secret).
  std::string text() const;
};

// The result of parsing an address: an endpoint, or why the text is not one.
struct EndpointParse {
  std::optional<Endpoint> endpoint;
  std::string error;
};

// Parses "scheme://host:port" (IPv6 as "[::1]:514"). Scheme, host and a port
// 1..65535 are all required; nothing may follow the port.
EndpointParse parse_endpoint(std::string_view text);

}  // namespace auditfwd
