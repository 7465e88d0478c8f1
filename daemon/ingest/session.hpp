// One client connection: reads NDJSON, dispatches each chunk of lines, writes the replies in order.
#pragma once

#include "config/config.hpp"
#include "dispatch/dispatcher.hpp"
#include "ingest/line_splitter.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <spdlog/logger.h>

namespace auditfwd {

// Runs on its socket's strand. Back-pressure is built in: the next read starts
// only after the previous chunk's replies are written, so a client is read no
// faster than its events are committed or delivered.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::local::stream_protocol::socket socket, const IngestConfig& config, Dispatcher& dispatcher,
          std::shared_ptr<spdlog::logger> log);

  boost::asio::awaitable<void> run();

  // Thread-safe: finish and answer what was read, then close.
  void stop();

 private:
  boost::asio::local::stream_protocol::socket socket_;
  const IngestConfig& config_;
  Dispatcher& dispatcher_;
  std::shared_ptr<spdlog::logger> log_;
  LineSplitter splitter_;
  PeerCredentials peer_;
  bool stopping_ = false;
  bool reading_ = false;
};

// The kernel's view of the connecting process (SO_PEERCRED).
PeerCredentials peer_credentials(int fd);

}  // namespace auditfwd
