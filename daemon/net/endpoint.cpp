// Parsing forwarder addresses: scheme, host and port all required, never a guessed default port.
#include "net/endpoint.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>

namespace auditfwd {

std::string_view transport_name(Transport transport) {
  switch (transport) {
    case Transport::udp: return "udp";
    case Transport::tcp: return "tcp";
    case Transport::tls: return "tls";
  }
  return "?";
}

std::string Endpoint::text() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", transport_name(transport), ipv6 ? "[" : "", host, ipv6 ? "]" : "", port);
}

EndpointParse parse_endpoint(std::string_view text) {
  const auto fail = [](std::string why) { return EndpointParse{std::nullopt, std::move(why)}; };
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    return fail(fmt::format("\"{}\" is not an address of the form scheme://host:port", text));
  const auto scheme = text.substr(0, scheme_end);
  Endpoint endpoint;
  if (scheme == "udp")
    endpoint.transport = Transport::udp;
  else if (scheme == "tcp")
    endpoint.transport = Transport::tcp;
  else if (scheme == "tls")
    endpoint.transport = Transport::tls;
  else
    return fail(fmt::format("unknown scheme \"{}\" (expected udp://, tcp:// or tls://)", scheme));

  auto rest = text.substr(scheme_end + 3);
  std::string_view host, port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("unterminated [ in the IPv6 address");
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.starts_with(':')) return fail("a port is required after the host, as in [::1]:514");
    port = rest.substr(1);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return fail("a port is required, as in host:514");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail("write an IPv6 address in brackets, as in [::1]:514");
  }
  if (host.empty()) return fail("the host is empty");
  if (std::any_of(host.begin(), host.end(), [](char c) { return c == '/' || c == '@' || c == ' ' || c == '?'; }))
    return fail(fmt::format("\"{}\" is not a host name or IP address", host));
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
    return fail(fmt::format("\"{}\" is not a port number (1-65535)", port));
  endpoint.host = std::string(host);
  endpoint.port = static_cast<std::uint16_t>(value);
  return {std::move(endpoint), {}};
}

}  // namespace auditfwd
