// One client connection: reads NDJSON, dispatches each chunk of lines, writes the replies in order.
#pragma once

#include "config/config.hpp"
#include "dispatch/dispatcher.hpp"
#include "ingest/line_splitter.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <spdlog/logger.h>

namespace auditfwd {

// Runs on its socket's strand, as two coroutines: one reads and dispatches
// chunks of lines, the other writes each chunk's replies, in order, once the
// commits they report are on disk. Back-pressure is built in: a chunk is
// dispatched only after the previous one is committed (or delivered), and at
// most a few chunks (about 1 MiB of replies) wait for the disk or for the client
// to read, so a client is read no faster than its events are stored.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::local::stream_protocol::socket socket, const IngestConfig& config, Dispatcher& dispatcher,
          std::shared_ptr<spdlog::logger> log);

  boost::asio::awaitable<void> run();

  // Thread-safe: finish and answer what was read, then close.
  void stop();

 private:
  boost::asio::awaitable<void> read_and_dispatch();
  boost::asio::awaitable<void> write_replies();
  boost::asio::awaitable<bool> sleep_until_woken(boost::asio::steady_timer& timer);
  void stop_reading();

  boost::asio::local::stream_protocol::socket socket_;
  const IngestConfig& config_;
  Dispatcher& dispatcher_;
  std::shared_ptr<spdlog::logger> log_;
  LineSplitter splitter_;
  PeerCredentials peer_;
  SenderStamp sender_;  // peer_ resolved once, with the host: what each event is stamped with
  bool stopping_ = false;
  bool reading_ = false;
  boost::asio::cancellation_signal cancel_read_;  // the pending read only
  // Dispatched chunks, in order, from the reader to the reply writer.
  std::deque<DispatchedChunk> dispatched_;
  std::size_t queued_reply_bytes_ = 0;  // in dispatched_
  bool reader_done_ = false;
  boost::asio::steady_timer chunk_queued_;    // wakes the writer
  boost::asio::steady_timer chunk_answered_;  // wakes the reader waiting for room
};

// The kernel's view of the connecting process (SO_PEERCRED).
PeerCredentials peer_credentials(int fd);

}  // namespace auditfwd
