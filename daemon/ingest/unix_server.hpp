// The ingest endpoint: a Unix stream socket, one session coroutine per connection.
#pragma once

#include "concurrency/task_group.hpp"
#include "config/config.hpp"
#include "dispatch/dispatcher.hpp"
#include "ingest/buffer_budget.hpp"
#include "ingest/connection_slots.hpp"
#include "ingest/ingest_policy.hpp"
#include "ingest/ingest_settings.hpp"
#include "ingest/refusal_log.hpp"
#include "ingest/replies.hpp"

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>

namespace auditfwd {

class Session;

// Listens on ingest.socket (or on the socket systemd passed, when socket-activated),
// accepts connections and runs a Session for each on its own strand. A connection
// is refused (one "unavailable" reply, then closed) when ingest.max_connections are
// in use, when only the ingest.reserved_root_connections are left and the sender
// is not root, or when its uid holds ingest.max_connections_per_uid; refusals and
// forced closes are logged at most once per second per reason, with a count. After
// a burst of closed connections, freed memory is handed back to the system.
// One IngestPolicy ([[ingest.allow]]) serves every session, so a rate applies
// to a sender across all of its connections.
class UnixServer {
 public:
  UnixServer(boost::asio::io_context& io, const IngestConfig& config, Dispatcher& dispatcher);
  ~UnixServer();

  // Binds (removing a stale socket file left by a killed run, refusing to steal
  // a live one) and starts accepting. Throws std::runtime_error on failure.
  void start();

  // Stops accepting and asks every session to finish the lines it has read,
  // answer them and close. Completes when all sessions ended or `grace` passed.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);

  std::size_t active_sessions() const;

  // A reload's [ingest] section (its socket and socket_mode are ignored: the
  // socket is bound once). At once: the connection limits for connections
  // accepted from now on, the allow rules for every connection's next events.
  // The per-connection limits (event size, metadata, nesting, forbidden keys,
  // timeouts) apply to connections accepted from now on. The buffer limits
  // (max_buffered_bytes, max_connection_buffered_bytes) stay until a restart.
  // Thread-safe.
  void apply(const IngestConfig& config);

 private:
  boost::asio::awaitable<void> accept_loop();
  // Once a second: the refusals held back, and memory freed by closed connections.
  boost::asio::awaitable<void> housekeeping();
  // Counts and logs a refusal; returns the reply line the client gets before the close.
  std::string refuse(SlotRefusal refusal, const PeerCredentials& peer);
  void on_session_end(const std::shared_ptr<Session>& session);

  boost::asio::io_context& io_;
  IngestConfig config_;  // as started: the socket
  Dispatcher& dispatcher_;
  ReplyBuilder replies_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  bool owns_socket_file_ = false;
  std::atomic<bool> stopping_{false};
  mutable std::mutex sessions_mutex_;
  std::set<std::shared_ptr<Session>> sessions_;
  ConnectionSlots slots_;              // under sessions_mutex_
  std::size_t closed_since_trim_ = 0;  // under sessions_mutex_
  std::shared_ptr<spdlog::logger> log_;
  BufferBudget budget_;
  IngestSettings settings_;
  RefusalLog refusals_;
  boost::asio::steady_timer housekeeping_timer_;
  TaskGroup session_tasks_;  // every Session::run, so stop() can wait for them
};

}  // namespace auditfwd
