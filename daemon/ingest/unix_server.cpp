// Binding the socket (stale-file removal, mode, systemd activation) and accepting.
#include "ingest/unix_server.hpp"

#include "ingest/session.hpp"
#include "metrics/daemon_metrics.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>

namespace auditfwd {
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {
// A burst of closes this large, or this much buffered memory let go, is worth
// handing the freed pages back (malloc_trim walks every arena: not per close).
constexpr std::size_t closes_worth_a_trim = 16;
constexpr std::size_t freed_bytes_worth_a_trim = 4 * 1024 * 1024;

// Every connection is a descriptor; the store, forwarders and logs need some too.
// The soft limit is raised toward the hard one (what systemd recommends for
// daemons that use epoll, not select).
void raise_descriptor_limit(std::size_t max_connections, spdlog::logger& log) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + 256;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted)
    log.warn("the descriptor limit ({}) is below ingest.max_connections + 256: connections may be refused early",
             limit.rlim_cur);
}
}  // namespace

UnixServer::UnixServer(asio::io_context& io, const IngestConfig& config, Dispatcher& dispatcher)
    : io_(io),
      config_(config),
      dispatcher_(dispatcher),
      acceptor_(asio::make_strand(io)),  // accepting and stopping never race
      slots_(SlotLimits{config.max_connections, config.max_connections_per_uid, config.reserved_root_connections}),
      log_(spdlog::default_logger()->clone("ingest")),
      budget_(config.max_buffered_bytes, config.max_connection_buffered_bytes),
      settings_(config),
      refusals_(log_),
      housekeeping_timer_(acceptor_.get_executor()),
      session_tasks_(io.get_executor()) {}

UnixServer::~UnixServer() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::error_code remove_error;
  if (owns_socket_file_) std::filesystem::remove(config_.socket, remove_error);
}

void UnixServer::start() {
  raise_descriptor_limit(config_.max_connections, *log_);
  // Socket activation: systemd (or systemd-socket-activate) hands us fd 3.
  if (sd_listen_fds(1) >= 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, nullptr, 0) > 0) {
    acceptor_.assign(stream(), SD_LISTEN_FDS_START);
    log_->info("listening on the socket passed by systemd (fd {})", SD_LISTEN_FDS_START);
  } else {
    const std::filesystem::path path(config_.socket);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    std::error_code status_error;
    if (std::filesystem::is_socket(path, status_error)) {
      // A live daemon answers; a file left by a killed one refuses the connection.
      stream::socket probe(io_);
      boost::system::error_code connect_error;
      probe.connect(stream::endpoint(config_.socket), connect_error);
      if (!connect_error)
        throw std::runtime_error("another process is listening on " + config_.socket + "; refusing to replace it");
      std::filesystem::remove(path);
      log_->info("removed stale socket file {}", config_.socket);
    } else if (std::filesystem::exists(path, status_error)) {
      throw std::runtime_error(config_.socket + " exists and is not a socket; refusing to remove it");
    }
    acceptor_.open(stream());
    acceptor_.bind(stream::endpoint(config_.socket));
    owns_socket_file_ = true;
    if (config_.socket_mode && ::chmod(config_.socket.c_str(), *config_.socket_mode) != 0)
      throw std::runtime_error("cannot apply socket_mode to " + config_.socket + ": " + std::strerror(errno));
    acceptor_.listen(asio::socket_base::max_listen_connections);
    log_->info("listening on {}", config_.socket);
  }
  daemon_metrics().ingest_listening = true;
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [log = log_](std::exception_ptr error) {
    daemon_metrics().ingest_listening = false;
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log->critical("accept loop ended by an exception: {}", e.what());
    }
  });
  asio::co_spawn(acceptor_.get_executor(), housekeeping(), [log = log_](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log->error("ingest housekeeping ended by an exception: {}", e.what());
    }
  });
}

asio::awaitable<void> UnixServer::housekeeping() {
  while (!stopping_) {
    housekeeping_timer_.expires_after(std::chrono::seconds(1));
    co_await housekeeping_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    refusals_.flush();
    std::size_t closed;
    {
      std::lock_guard lock(sessions_mutex_);
      closed = closed_since_trim_;
      closed_since_trim_ = 0;
    }
    const auto peak = budget_.take_peak();
    const auto now_held = budget_.total();
    if (closed >= closes_worth_a_trim || peak - std::min(peak, now_held) >= freed_bytes_worth_a_trim) {
      ::malloc_trim(0);
      log_->debug("handed freed memory back after {} closed connection(s) (buffers {} → {} bytes)", closed, peak,
                  now_held);
    } else {
      std::lock_guard lock(sessions_mutex_);
      closed_since_trim_ += closed;  // a slow trickle adds up to a burst
    }
  }
}

void UnixServer::apply(const IngestConfig& config) {
  settings_.replace(config);
  std::lock_guard lock(sessions_mutex_);
  slots_.set_limits(
      SlotLimits{config.max_connections, config.max_connections_per_uid, config.reserved_root_connections});
}

std::string UnixServer::refuse(SlotRefusal refusal, const PeerCredentials& peer) {
  SlotLimits limits;
  {
    std::lock_guard lock(sessions_mutex_);
    limits = slots_.limits();
  }
  std::string detail;
  switch (refusal) {
    case SlotRefusal::max_connections:
      detail = fmt::format("too many connections (ingest.max_connections = {})", limits.max_connections);
      break;
    case SlotRefusal::reserved_for_root:
      detail = fmt::format("the last {} connection slots are reserved for root (ingest.reserved_root_connections)",
                           limits.reserved_for_root);
      break;
    case SlotRefusal::max_per_uid:
      detail = fmt::format("too many connections from uid {} (ingest.max_connections_per_uid = {})", peer.uid,
                           limits.max_per_uid);
      break;
  }
  refusals_.note(slot_refusal_key(refusal),
                 fmt::format("refused a connection from pid {} uid {}: {}", peer.pid, peer.uid, detail));
  std::string reply;
  ReplyBuilder::append_rejection(reply, Rejection{errc::unavailable, std::move(detail)});
  return reply;
}

asio::awaitable<void> UnixServer::accept_loop() {
  while (!stopping_) {
    auto [error, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), asio::as_tuple(asio::use_awaitable));
    if (stopping_) {  // accepted just as stop() ran: the client sees the connection close
      boost::system::error_code ignored;
      socket.close(ignored);
      co_return;
    }
    if (error) {
      if (error == asio::error::operation_aborted) co_return;
      log_->warn("accept failed: {}", error.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(50));  // EMFILE and friends: don't spin
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    const auto peer = peer_credentials(socket.native_handle());
    std::optional<SlotRefusal> refusal;
    {
      std::lock_guard lock(sessions_mutex_);
      refusal = slots_.take(peer.uid);
    }
    if (refusal) {
      const auto reply = refuse(*refusal, peer);
      boost::system::error_code ignored;
      socket.non_blocking(true, ignored);  // a fresh socket's buffer takes the line; never wait on a client here
      socket.write_some(asio::buffer(reply), ignored);
      socket.close(ignored);
      continue;
    }
    auto executor = socket.get_executor();
    auto session =
        std::make_shared<Session>(std::move(socket), peer, settings_, dispatcher_, replies_, budget_, refusals_, log_);
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.insert(session);
    }
    session_tasks_.spawn(executor, session->run(), [this, session](std::exception_ptr failure) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          log_->error("session ended by an exception: {}", e.what());
        }
      }
      on_session_end(session);
    });
  }
}

void UnixServer::on_session_end(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(sessions_mutex_);
  if (sessions_.erase(session) > 0) {
    slots_.give_back(session->peer().uid);
    ++closed_since_trim_;
  }
}

std::size_t UnixServer::active_sessions() const {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

asio::awaitable<void> UnixServer::stop(std::chrono::milliseconds grace) {
  // On the acceptor's strand, so no accept completes between the flag and the close.
  co_await asio::co_spawn(
      acceptor_.get_executor(),
      [this]() -> asio::awaitable<void> {
        stopping_ = true;
        daemon_metrics().ingest_listening = false;
        boost::system::error_code ignored;
        acceptor_.cancel(ignored);
        acceptor_.close(ignored);
        housekeeping_timer_.cancel();
        co_return;
      },
      asio::use_awaitable);
  {
    std::lock_guard lock(sessions_mutex_);
    for (const auto& session : sessions_) session->stop();
  }
  if (!co_await session_tasks_.wait_until(std::chrono::steady_clock::now() + grace))
    log_->warn("{} connection(s) still busy after the grace period", active_sessions());
  std::error_code remove_error;
  if (owns_socket_file_) std::filesystem::remove(config_.socket, remove_error);
  owns_socket_file_ = false;
}

}  // namespace auditfwd
