// A small blocking HTTP/1.1 client for the admin endpoint (loopback TCP or a Unix socket): what `status` and `tap` use.
#pragma once

#include "config/admin_address.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace auditfwd {

struct AdminResponse {
  unsigned status = 0;
  std::string body;
};

// GET `target`; the response, or nullopt with `error` set when the endpoint
// cannot be reached or answers garbage within `timeout`.
std::optional<AdminResponse> admin_get(const AdminAddress& address, const std::string& target,
                                       std::chrono::milliseconds timeout, std::string& error);

// GET `target`; on a 200 header call `on_started`, then hand each piece of
// the (chunked) body to `on_data` as it arrives, until the server ends it or
// the connection drops. The status, or nullopt with `error` set when the
// endpoint cannot be reached. A non-200 answer's body is in `error_body`.
std::optional<unsigned> admin_stream(const AdminAddress& address, const std::string& target,
                                     const std::function<void()>& on_started,
                                     const std::function<void(std::string_view)>& on_data, std::string& error,
                                     std::string& error_body);

}  // namespace auditfwd
