// The admin endpoint's address: a loopback TCP port or a Unix socket path.
#include "config/admin_address.hpp"

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace auditfwd {

std::string AdminAddress::describe() const {
  if (kind == Kind::unix_socket) return "unix:" + path;
  return host.find(':') != std::string::npos ? fmt::format("http://[{}]:{}", host, port)
                                             : fmt::format("http://{}:{}", host, port);
}

AdminAddressResult parse_admin_address(const std::string& text) {
  AdminAddress address;
  address.text = text;
  if (text.rfind("unix:", 0) == 0) {
    address.kind = AdminAddress::Kind::unix_socket;
    address.path = text.substr(5);
    if (address.path.empty()) return {std::nullopt, "a Unix socket needs a path: \"unix:/run/auditfwd/admin.sock\""};
    return {address, {}};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    return {std::nullopt, fmt::format("\"{}\" is not an address: use \"127.0.0.1:9880\", \"[::1]:9880\" or "
                                      "\"unix:/run/auditfwd/admin.sock\"",
                                      text)};
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return {std::nullopt, fmt::format("\"{}\": the port must be a number from 1 to 65535", text)};
  boost::system::error_code parse_error;
  const auto ip = boost::asio::ip::make_address(host, parse_error);
  if (parse_error)
    return {std::nullopt, fmt::format("\"{}\": \"{}\" is not an IP address (a host name is not accepted)", text, host)};
  if (!ip.is_loopback())
    return {std::nullopt, fmt::format("\"{}\": only a loopback address (127.0.0.1, ::1) or a Unix socket: the admin "
                                      "endpoint has no authentication",
                                      text)};
  address.host = ip.to_string();
  address.port = static_cast<std::uint16_t>(port);
  return {address, {}};
}

}  // namespace auditfwd
