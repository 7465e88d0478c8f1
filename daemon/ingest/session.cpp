// The per-connection loop of wire protocol v1.
#include "ingest/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <sys/socket.h>

namespace auditfwd {
namespace asio = boost::asio;

namespace {
// Large reads make large chunks, and large chunks make large group commits; but
// an idle or trickling connection should not hold 256 KiB. The buffer starts
// small and doubles each time a read fills it.
constexpr std::size_t initial_read_buffer_bytes = 16 * 1024;
constexpr std::size_t max_read_buffer_bytes = 256 * 1024;
}  // namespace

PeerCredentials peer_credentials(int fd) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  PeerCredentials peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
    peer.uid = credentials.uid;
    peer.gid = credentials.gid;
    peer.pid = credentials.pid;
  }
  return peer;
}

Session::Session(asio::local::stream_protocol::socket socket, const IngestConfig& config, Dispatcher& dispatcher,
                 std::shared_ptr<spdlog::logger> log)
    : socket_(std::move(socket)),
      config_(config),
      dispatcher_(dispatcher),
      log_(std::move(log)),
      splitter_(config.max_event_bytes),
      peer_(peer_credentials(socket_.native_handle())) {}

void Session::stop() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    if (self->reading_) {
      boost::system::error_code ignored;
      self->socket_.cancel(ignored);
    }
  });
}

asio::awaitable<void> Session::run() {
  log_->debug("connection from pid {} uid {} gid {}", peer_.pid, peer_.uid, peer_.gid);
  std::vector<char> buffer(initial_read_buffer_bytes);
  const ValidationLimits limits{config_.max_metadata_bytes};
  std::vector<SplitLine> pieces;
  while (!stopping_) {
    reading_ = true;
    auto [read_error, bytes] = co_await socket_.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    reading_ = false;
    pieces.clear();
    if (!read_error) splitter_.feed({buffer.data(), bytes}, pieces);
    if (!read_error && bytes == buffer.size() && buffer.size() < max_read_buffer_bytes) buffer.resize(buffer.size() * 2);
    else if (read_error == asio::error::eof) splitter_.finish(pieces);

    if (!pieces.empty()) {
      std::vector<ParsedLine> lines;
      lines.reserve(pieces.size());
      const auto received_at = now_micros();
      for (auto& piece : pieces) {
        if (piece.too_long)
          lines.emplace_back(Rejection{errc::too_large, fmt::format("the line exceeds ingest.max_event_bytes ({} bytes); "
                                                                    "it was skipped up to its newline",
                                                                    config_.max_event_bytes)});
        else
          lines.push_back(validate_event(piece.text, limits, peer_, received_at));
      }
      const std::string replies = co_await dispatcher_.dispatch(std::move(lines));
      auto [write_error, written] = co_await asio::async_write(socket_, asio::buffer(replies), asio::as_tuple(asio::use_awaitable));
      (void)written;
      if (write_error) {
        log_->debug("connection from pid {}: client went away before reading its replies: {}", peer_.pid,
                    write_error.message());
        break;
      }
    }
    if (read_error) break;
  }
  boost::system::error_code ignored;
  socket_.shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace auditfwd
