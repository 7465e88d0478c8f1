// What a forwarder factory builds a forwarder with, instead of reaching for globals.
#pragma once

#include "net/net_services.hpp"

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

namespace auditfwd {

// Everything here outlives the forwarders built with it.
struct ForwarderContext {
  boost::asio::any_io_executor executor;  // the I/O threads: the forwarder's sockets, timers and coroutines
  boost::asio::any_io_executor blocking;  // a small pool for system calls that may block (files, pipes): run_blocking
  std::shared_ptr<spdlog::logger> log;    // the forwarder's one channel, "forwarder.<id>"
  NetServices& net;                       // shared TLS client contexts
};

// The channel "forwarder.<id>": a logger sharing the default logger's sinks, level and pattern.
std::shared_ptr<spdlog::logger> forwarder_logger(const std::string& id);

}  // namespace auditfwd
