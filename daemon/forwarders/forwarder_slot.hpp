// A configured forwarder: its canonical settings beside the instance that delivers.
#pragma once

#include "config/config.hpp"
#include "forwarders/forwarder.hpp"

#include <spdlog/logger.h>
#include <memory>

namespace auditfwd {

struct ForwarderSlot {
  ForwarderConfig config;
  std::unique_ptr<Forwarder> forwarder;
  std::shared_ptr<spdlog::logger> log;  // channel "forwarder.<id>"
};

}  // namespace auditfwd
