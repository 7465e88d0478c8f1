// The per-connection loop of wire protocol v1.
#include "ingest/session.hpp"

#include "ingest/peer_identity.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
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

// Chunks dispatched and waiting for their commits to reach the disk, beyond the
// one whose replies are being written. While a commit's fdatasync runs, the
// client's next events are read and committed, so they share the next sync
// instead of waiting for this one to end first.
constexpr std::size_t chunks_awaiting_disk = 4;
// Replies waiting to be written, in bytes, past which the connection is not read:
// a client that does not read its replies holds at most about this much (plus
// one chunk's: 256 KiB of short invalid lines make ~10 MB of rejections).
constexpr std::size_t max_queued_reply_bytes = 1024 * 1024;
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
      peer_(peer_credentials(socket_.native_handle())),
      sender_(resolve_sender(peer_), local_host()),
      chunk_queued_(socket_.get_executor()),
      chunk_answered_(socket_.get_executor()) {}

void Session::stop() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    self->stop_reading();
  });
}

asio::awaitable<void> Session::run() {
  using namespace asio::experimental::awaitable_operators;
  log_->debug("connection from pid {} uid {} gid {}", peer_.pid, peer_.uid, peer_.gid);
  co_await (read_and_dispatch() && write_replies());
  boost::system::error_code ignored;
  socket_.shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

asio::awaitable<void> Session::read_and_dispatch() {
  std::vector<char> buffer(initial_read_buffer_bytes);
  const ForbiddenKeys forbidden_keys(config_.forbidden_keys);
  const ValidationLimits limits{config_.max_metadata_bytes, config_.max_nesting_depth, &forbidden_keys};
  std::vector<SplitLine> pieces;
  while (!stopping_) {
    reading_ = true;
    auto [read_error, bytes] = co_await socket_.async_read_some(
        asio::buffer(buffer), asio::bind_cancellation_slot(cancel_read_.slot(), asio::as_tuple(asio::use_awaitable)));
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
          lines.push_back(validate_event(piece.text, limits, sender_, received_at));
      }
      // A named result: GCC 12 mishandles a co_await nested in a call's arguments.
      DispatchedChunk chunk = co_await dispatcher_.dispatch(std::move(lines));
      queued_reply_bytes_ += chunk.replies.size();
      dispatched_.push_back(std::move(chunk));
      chunk_queued_.cancel();
      // Back-pressure: a few chunks, and a bounded amount of replies, wait for
      // the disk or for the client to read.
      while (dispatched_.size() > chunks_awaiting_disk || queued_reply_bytes_ > max_queued_reply_bytes)
        if (!co_await sleep_until_woken(chunk_answered_)) co_return;
    }
    if (read_error) break;
  }
  reader_done_ = true;  // the writer answers everything queued, then stops
  chunk_queued_.cancel();
}

asio::awaitable<void> Session::write_replies() {
  bool client_gone = false;
  for (;;) {
    while (dispatched_.empty() && !reader_done_)
      if (!co_await sleep_until_woken(chunk_queued_)) co_return;
    if (dispatched_.empty()) co_return;
    const DispatchedChunk& chunk = dispatched_.front();  // stays put: the reader only appends
    co_await wait_until_durable(chunk);
    if (!client_gone) {
      auto [write_error, written] =
          co_await asio::async_write(socket_, asio::buffer(chunk.replies), asio::as_tuple(asio::use_awaitable));
      (void)written;
      if (write_error) {
        log_->debug("connection from pid {}: client went away before reading its replies: {}", peer_.pid,
                    write_error.message());
        client_gone = true;  // still take the chunks, so the reader never waits for room
        stopping_ = true;
        stop_reading();
      }
    }
    queued_reply_bytes_ -= chunk.replies.size();
    dispatched_.pop_front();
    chunk_answered_.cancel();
  }
}

// Ends a pending read only: cancelling the socket would cut a reply being written.
void Session::stop_reading() {
  if (reading_) cancel_read_.emit(asio::cancellation_type::terminal);
}

// The two coroutines wake each other by cancelling a timer that never expires;
// each checks its condition before sleeping, and both run on the strand, so no
// wake-up is lost. False when the session itself is being cancelled.
asio::awaitable<bool> Session::sleep_until_woken(asio::steady_timer& timer) {
  timer.expires_at(asio::steady_timer::time_point::max());
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return (co_await asio::this_coro::cancellation_state).cancelled() == asio::cancellation_type::none;
}

}  // namespace auditfwd
