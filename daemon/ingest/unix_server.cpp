// Binding the socket (stale-file removal, mode, systemd activation) and accepting.
#include "ingest/unix_server.hpp"

#include "ingest/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

namespace auditfwd {
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

UnixServer::UnixServer(asio::io_context& io, const IngestConfig& config, Dispatcher& dispatcher)
    : io_(io),
      config_(config),
      dispatcher_(dispatcher),
      acceptor_(asio::make_strand(io)),  // accepting and stopping never race
      log_(spdlog::default_logger()->clone("ingest")) {}

UnixServer::~UnixServer() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::error_code remove_error;
  if (owns_socket_file_) std::filesystem::remove(config_.socket, remove_error);
}

void UnixServer::start() {
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
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [log = log_](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log->critical("accept loop ended by an exception: {}", e.what());
    }
  });
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
    if (active_sessions() >= config_.max_connections) {
      static constexpr std::string_view refusal =
          "{\"ok\":false,\"error\":\"unavailable\",\"detail\":\"too many connections (ingest.max_connections)\"}\n";
      boost::system::error_code ignored;
      asio::write(socket, asio::buffer(refusal), ignored);
      socket.close(ignored);
      log_->warn("refused a connection: ingest.max_connections ({}) reached", config_.max_connections);
      continue;
    }
    auto executor = socket.get_executor();
    auto session = std::make_shared<Session>(std::move(socket), config_, dispatcher_, log_);
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.insert(session);
    }
    asio::co_spawn(executor, session->run(), [this, session](std::exception_ptr error) {
      if (error) {
        try {
          std::rethrow_exception(error);
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
  sessions_.erase(session);
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
        boost::system::error_code ignored;
        acceptor_.cancel(ignored);
        acceptor_.close(ignored);
        co_return;
      },
      asio::use_awaitable);
  boost::system::error_code ignored;
  {
    std::lock_guard lock(sessions_mutex_);
    for (const auto& session : sessions_) session->stop();
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  asio::steady_timer tick(io_);
  while (active_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (active_sessions() > 0) log_->warn("{} connection(s) still busy after the grace period", active_sessions());
  std::error_code remove_error;
  if (owns_socket_file_) std::filesystem::remove(config_.socket, remove_error);
  owns_socket_file_ = false;
}

}  // namespace auditfwd
