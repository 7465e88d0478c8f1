// The per-connection loop of wire protocol v1.
#include "ingest/session.hpp"

#include "ingest/peer_identity.hpp"
#include "metrics/daemon_metrics.hpp"
#include "tap/tap_hub.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

namespace auditfwd {
namespace asio = boost::asio;

namespace {
// Large reads make large chunks, and large chunks make large group commits; but
// an idle or trickling connection should not hold 256 KiB. A read waiting for
// input uses a small buffer; a read that fills its buffer is followed by one
// sized for what the socket holds, up to the largest.
constexpr std::size_t smallest_read_bytes = 4 * 1024;
constexpr std::size_t largest_read_bytes = 256 * 1024;

// The socket's send buffer, for replies the client has not read yet.
constexpr int kernel_send_buffer_bytes = 32 * 1024;

// Chunks dispatched and waiting for their commits to reach the disk, beyond the
// one whose replies are being written. While a commit's fdatasync runs, the
// client's next events are read and committed, so they share the next sync
// instead of waiting for this one to end first.
constexpr std::size_t chunks_awaiting_disk = 4;

// Where to cut `input` so that it holds at most `max_lines` newlines: the whole
// of it when it holds fewer.
std::size_t cut_after_lines(std::string_view input, std::size_t max_lines) {
  std::size_t position = 0;
  for (std::size_t lines = 0; lines < max_lines; ++lines) {
    const auto newline = input.find('\n', position);
    if (newline == std::string_view::npos) return input.size();
    position = newline + 1;
  }
  return position;
}

// Runs a callable when the scope ends, however it ends (co_return included).
template <typename F>
struct at_scope_exit {
  F f;
  ~at_scope_exit() { f(); }
};
template <typename F>
at_scope_exit(F) -> at_scope_exit<F>;
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

Session::Session(asio::local::stream_protocol::socket socket, PeerCredentials peer, const IngestSettings& settings,
                 Dispatcher& dispatcher, const ReplyBuilder& replies, BufferBudget& budget, RefusalLog& refusals,
                 std::shared_ptr<spdlog::logger> log)
    : socket_(std::move(socket)),
      settings_(settings),
      config_holder_(settings.config()),
      config_(*config_holder_),
      dispatcher_(dispatcher),
      replies_(replies),
      policy_(settings.policy()),
      budget_(budget),
      refusals_(refusals),
      log_(std::move(log)),
      splitter_(config_.max_event_bytes),
      peer_(std::move(peer)),
      identity_(resolve_sender(peer_)),
      sender_(identity_, local_host()),
      sender_rules_(policy_->rules_for(identity_)),
      forbidden_keys_(config_.forbidden_keys),
      next_read_size_(smallest_read_bytes),
      chunk_queued_(socket_.get_executor()),
      chunk_answered_(socket_.get_executor()),
      last_activity_(clock::now()),
      deadlines_changed_(socket_.get_executor()) {}

void Session::stop() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    self->stop_reading();
    self->chunk_answered_.notify();
  });
}

asio::awaitable<void> Session::run() {
  using namespace asio::experimental::awaitable_operators;
  log_->debug("connection from pid {} uid {} gid {}", peer_.pid, peer_.uid, peer_.gid);
  auto& connections = daemon_metrics().connections;
  connections.add(1);
  at_scope_exit counted{[&connections] { connections.add(-1); }};
  // Replies wait in this session's queue, within its budget, rather than in a large
  // kernel buffer: a client that never reads ties up (and makes the daemon compute)
  // no more than that. The kernel doubles the value for its bookkeeping.
  boost::system::error_code ignored_option;
  socket_.set_option(asio::socket_base::send_buffer_size(kernel_send_buffer_bytes), ignored_option);
  co_await (read_and_dispatch() && write_replies() && watch_deadlines());
  release_buffer();
  budget_.update(held_, 0);
  held_ = 0;
  boost::system::error_code ignored;
  socket_.shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void Session::update_held() {
  const std::size_t now_held = buffer_size_ + splitter_.buffered_bytes() + dispatching_bytes_ + queued_reply_bytes_;
  budget_.update(held_, now_held);
  held_ = now_held;
}

void Session::release_buffer() {
  buffer_.reset();
  buffer_size_ = buffer_begin_ = buffer_end_ = 0;
}

asio::awaitable<void> Session::read_and_dispatch() {
  bool input_ended = false;
  bool clean_eof = false;
  std::vector<SplitLine> pieces;
  while (!closing_) {
    if (unread_bytes() == 0 && (input_ended || stopping_)) break;
    if (!co_await wait_for_room()) co_return;
    if (closing_) break;
    if (unread_bytes() == 0) {
      if (stopping_) break;
      input_ended = !co_await read_input(clean_eof);
      if (closing_) break;
    }
    pieces.clear();
    take_lines(pieces);
    if (input_ended && unread_bytes() == 0 && clean_eof) splitter_.finish(pieces);
    if (!pieces.empty()) co_await dispatch_lines(pieces);
    // More lines of the same read: let other connections' work run first, so one
    // connection's large read never holds an I/O thread for long.
    if (unread_bytes() > 0) co_await asio::post(socket_.get_executor(), asio::use_awaitable);
  }
  reader_done_ = true;  // the writer answers everything queued, then stops
  chunk_queued_.notify();
}

asio::awaitable<bool> Session::wait_for_room() {
  bool waited = false;
  for (;;) {
    if (closing_) co_return true;
    const bool disk_room = dispatched_.size() <= chunks_awaiting_disk;
    const std::size_t allowance = budget_.allowance(held_);
    // Lines already read go on once their replies fit, or once no reply is left
    // to wait for (a read buffer larger than a floor-sized allowance must not stall).
    const bool room =
        unread_bytes() > 0 ? held_ < allowance || queued_reply_bytes_ == 0 : held_ + smallest_read_bytes <= allowance;
    if (disk_room && room) break;
    // Held back by the budget as a whole, not by this connection's own cap: wake when it frees room.
    if (disk_room && allowance < budget_.per_connection() && !waiting_for_budget_) {
      waiting_for_budget_ = true;
      budget_.when_room([weak = weak_from_this(), executor = socket_.get_executor()] {
        asio::post(executor, [weak] {
          if (auto self = weak.lock()) {
            self->waiting_for_budget_ = false;
            self->chunk_answered_.notify();
          }
        });
      });
    }
    // The buffer is let go while waiting, unless it still holds lines to split.
    if (unread_bytes() == 0 && buffer_) {
      release_buffer();
      update_held();
      continue;
    }
    if (!dispatched_.empty()) waited = true;  // for the daemon or the client's reading, not the client's line
    if (!co_await chunk_answered_.wait()) co_return false;
  }
  // The partial-line clock runs only while the client is being read.
  if (waited && splitter_.in_line()) line_started_ = clock::now();
  co_return true;
}

asio::awaitable<bool> Session::read_input(bool& clean_eof) {
  if (next_read_size_ <= smallest_read_bytes) {
    // Nothing is known to be waiting in the socket: wait until something is before taking a buffer, so
    // an idle connection holds none (a thousand idle clients would otherwise hold 4 MiB).
    release_buffer();
    update_held();
    reading_ = true;
    auto [wait_error] = co_await socket_.async_wait(
        asio::socket_base::wait_read,
        asio::bind_cancellation_slot(cancel_read_.slot(), asio::as_tuple(asio::use_awaitable)));
    reading_ = false;
    if (wait_error) co_return false;  // cancelled: stopping, or the daemon closing it
    if (closing_ || stopping_) co_return false;
  }
  const std::size_t allowance = budget_.allowance(held_);
  const std::size_t room = allowance > held_ ? allowance - held_ : 0;
  const std::size_t size = std::max(smallest_read_bytes, std::min(next_read_size_, room));
  if (!buffer_ || buffer_size_ != size) {
    buffer_.reset(new char[size]);
    buffer_size_ = size;
  }
  buffer_begin_ = buffer_end_ = 0;
  update_held();
  reading_ = true;
  auto [read_error, bytes] = co_await socket_.async_read_some(
      asio::buffer(buffer_.get(), buffer_size_),
      asio::bind_cancellation_slot(cancel_read_.slot(), asio::as_tuple(asio::use_awaitable)));
  reading_ = false;
  if (read_error) {
    clean_eof = read_error == asio::error::eof;
    release_buffer();
    update_held();
    co_return false;
  }
  last_activity_ = clock::now();
  buffer_end_ = bytes;
  if (bytes < buffer_size_) {
    next_read_size_ = smallest_read_bytes;  // drained: wait for more with a small buffer
  } else {
    boost::system::error_code ignored;
    next_read_size_ = std::clamp(socket_.available(ignored), smallest_read_bytes, largest_read_bytes);
  }
  co_return true;
}

void Session::take_lines(std::vector<SplitLine>& pieces) {
  if (unread_bytes() == 0) return;
  const std::size_t allowance = budget_.allowance(held_);
  const std::size_t room = allowance > held_ ? allowance - held_ : 0;
  const std::size_t max_lines = std::max<std::size_t>(1, room / reply_bytes_per_line_);
  const std::string_view input(buffer_.get() + buffer_begin_, unread_bytes());
  const std::size_t cut = cut_after_lines(input, max_lines);
  splitter_.feed(input.substr(0, cut), pieces);
  buffer_begin_ += cut;
  if (unread_bytes() == 0) release_buffer();
  if (!splitter_.in_line()) {
    line_started_.reset();
  } else if (!line_started_) {
    line_started_ = clock::now();
    deadlines_changed_.notify();  // the watchdog sleeps toward the idle deadline: it must see this one
  }
  update_held();
}

asio::awaitable<void> Session::dispatch_lines(std::vector<SplitLine>& pieces) {
  const ValidationLimits limits{config_.max_metadata_bytes, config_.max_nesting_depth, &forbidden_keys_};
  std::vector<ParsedLine> lines;
  lines.reserve(pieces.size());
  const auto received_at = now_micros();
  const auto read_at = clock::now();
  const auto policy_now = IngestPolicy::clock::now();
  if (auto current = settings_.policy(); current != policy_) {  // a reload changed the allow rules
    policy_ = std::move(current);
    sender_rules_ = policy_->rules_for(identity_);
  }
  std::size_t input_bytes = 0;
  for (auto& piece : pieces) {
    input_bytes += piece.text.size();
    if (piece.too_long) {
      lines.emplace_back(Rejection{errc::too_large, fmt::format("the line exceeds ingest.max_event_bytes ({} bytes); "
                                                                "it was skipped up to its newline",
                                                                config_.max_event_bytes)});
      continue;
    }
    auto line = validate_event(piece.text, limits, sender_, received_at);
    // A valid event is checked before the dispatcher looks at its id: a refused
    // sender learns nothing of the ids in use, and a resend costs a token.
    if (line && !policy_->open()) {
      if (auto refusal = policy_->admit(sender_rules_, line->action, policy_now)) {
        // Grouped per code and sender uid like every refused event, and per rule: which limit it hit.
        refusals_.note(
            fmt::format("{} from uid {} by {}", error_name(refusal->rejection.code), peer_.uid, refusal->reason),
            fmt::format("refused an event from pid {}: {}", peer_.pid, refusal->rejection.detail));
        lines.emplace_back(std::move(refusal->rejection));
        continue;
      }
    }
    lines.push_back(std::move(line));
  }
  const std::size_t line_count = pieces.size();
  pieces.clear();
  // The dispatcher may hand an event's text to the store: a tap gets a copy, taken only while one listens.
  std::vector<std::optional<std::pair<std::string, std::string>>> tapped;
  if (event_tap().active()) {
    tapped.reserve(lines.size());
    for (const auto& line : lines)
      tapped.push_back(line ? std::optional(std::pair(line->action, line->json)) : std::nullopt);
  }
  dispatching_bytes_ = input_bytes;
  update_held();
  dispatching_ = true;
  // A named result: GCC 12 mishandles a co_await nested in a call's arguments.
  ChunkOutcome outcome = co_await dispatcher_.dispatch(std::move(lines));
  count_and_log_verdicts(outcome);
  if (!tapped.empty()) publish_to_tap(outcome, tapped);
  AnsweredChunk chunk{{}, std::move(outcome.commits), read_at, line_count};
  chunk.replies.reserve(reply_bytes_per_line_ * line_count);
  replies_.append_chunk(chunk.replies, outcome);
  // The budget counts the replies' bytes: what the string holds beyond them (a guess too large, or the
  // doubling of one too small) would be memory no bound sees, a thousand times over with never-reading
  // clients.
  if (chunk.replies.capacity() - chunk.replies.size() > chunk.replies.size() / 8 + 64) chunk.replies.shrink_to_fit();
  dispatching_ = false;
  last_activity_ = clock::now();
  dispatching_bytes_ = 0;
  // Quick to rise, slow to fall: the next cut stays within the replies' room.
  const std::size_t per_line = chunk.replies.size() / std::max<std::size_t>(1, line_count) + 1;
  reply_bytes_per_line_ = std::max({per_line, reply_bytes_per_line_ - reply_bytes_per_line_ / 8, std::size_t{64}});
  queued_reply_bytes_ += chunk.replies.size();
  dispatched_.push_back(std::move(chunk));
  update_held();
  chunk_queued_.notify();
  if (splitter_.in_line()) line_started_ = clock::now();  // the partial-line clock counts the client's time only
}

// Every line is counted once, by its verdict; a refusal is also logged, at most
// once a second per code and sender uid (policy refusals were logged by their rule).
void Session::count_and_log_verdicts(const ChunkOutcome& outcome) {
  auto& metrics = daemon_metrics();
  metrics.events_received.add(outcome.lines.size());
  std::uint64_t accepted = 0;
  for (std::size_t i = 0; i < outcome.verdicts.size(); ++i) {
    switch (outcome.verdicts[i]) {
      case Verdict::accepted:
      case Verdict::duplicate: ++accepted; break;
      case Verdict::not_taken: metrics.events_refused("unavailable").add(); break;
      case Verdict::refused: {
        const auto& rejection = *outcome.rejections[i];
        const auto code = error_name(rejection.code);
        metrics.events_refused(code).add();
        if (rejection.code == errc::not_permitted || rejection.code == errc::rate_limited) break;
        // A detail may quote the client's input at length: the log keeps its start, cut between characters.
        const std::string_view detail(rejection.detail);
        std::size_t cut = std::min<std::size_t>(detail.size(), 300);
        while (cut < detail.size() && cut > 0 && (static_cast<unsigned char>(detail[cut]) & 0xC0) == 0x80) --cut;
        refusals_.note(fmt::format("{} from uid {}", code, peer_.uid),
                       fmt::format("refused an event from pid {} uid {}: {}{}", peer_.pid, peer_.uid,
                                   detail.substr(0, cut), cut < detail.size() ? "…" : ""));
        break;
      }
    }
  }
  metrics.events_accepted.add(accepted);
}

void Session::publish_to_tap(const ChunkOutcome& outcome,
                             const std::vector<std::optional<std::pair<std::string, std::string>>>& tapped) {
  const auto& ids = outcome.forwarders->ids;  // the set this chunk was dispatched with (a reload may have replaced it)
  std::vector<std::string_view> taken_by;
  for (std::size_t i = 0; i < tapped.size() && i < outcome.verdicts.size(); ++i) {
    if (outcome.verdicts[i] != Verdict::accepted || !tapped[i]) continue;
    taken_by.clear();
    for (std::size_t s = 0; s < ids.size(); ++s)
      if (!outcome.results.at(i, s).failed()) taken_by.push_back(ids[s]);
    event_tap().publish(tapped[i]->first, taken_by, tapped[i]->second);
  }
}

asio::awaitable<void> Session::write_replies() {
  at_scope_exit done{[this] {
    writer_done_ = true;
    deadlines_changed_.notify();
  }};
  bool client_gone = false;
  for (;;) {
    while (dispatched_.empty() && !reader_done_)
      if (!co_await chunk_queued_.wait()) co_return;
    if (dispatched_.empty()) co_return;
    const AnsweredChunk& chunk = dispatched_.front();  // stays put: the reader only appends
    awaiting_disk_ = true;
    co_await wait_until_durable(chunk.commits);
    awaiting_disk_ = false;
    for (std::size_t written = 0; !client_gone && written < chunk.replies.size();) {
      auto [write_error, bytes] = co_await socket_.async_write_some(
          asio::buffer(chunk.replies.data() + written, chunk.replies.size() - written),
          asio::as_tuple(asio::use_awaitable));
      if (write_error) {
        if (!closing_)
          log_->debug("connection from pid {}: client went away before reading its replies: {}", peer_.pid,
                      write_error.message());
        client_gone = true;  // still take the chunks, so the reader never waits for room
        closing_ = true;
        stop_reading();
        break;
      }
      written += bytes;
      last_activity_ = clock::now();
    }
    if (!client_gone)
      daemon_metrics().reply_seconds.observe(clock::now() - chunk.read_at, static_cast<std::uint64_t>(chunk.lines));
    queued_reply_bytes_ -= chunk.replies.size();
    dispatched_.pop_front();
    update_held();
    chunk_answered_.notify();
  }
}

asio::awaitable<void> Session::watch_deadlines() {
  while (!writer_done_) {
    const auto now = clock::now();
    const bool busy = dispatching_ || awaiting_disk_;  // waiting for a forwarder or the disk, not the client
    auto next = clock::time_point::max();
    if (!closing_) {
      const auto idle_deadline = last_activity_ + config_.idle_timeout;
      if (!busy && now >= idle_deadline) {
        close_now("ingest.idle_timeout",
                  fmt::format("closed a connection from pid {} uid {}: nothing read or written for {} ms", peer_.pid,
                              peer_.uid, config_.idle_timeout.count()));
        continue;
      }
      next = busy ? now + config_.idle_timeout : idle_deadline;
      // The line's clock runs while the client is read, or while nothing it sent waits for
      // the daemon or for the client to read its replies (e.g. the budget holds it back).
      const bool clients_time = reading_ || (dispatched_.empty() && !dispatching_);
      if (!stopping_ && clients_time && line_started_) {
        const auto line_deadline = *line_started_ + config_.partial_line_timeout;
        if (now >= line_deadline) {
          refusals_.note("ingest.partial_line_timeout",
                         fmt::format("closing a connection from pid {} uid {}: a line unfinished for {} ms", peer_.pid,
                                     peer_.uid, config_.partial_line_timeout.count()));
          stopping_ = true;  // answer the lines already read, then close
          stop_reading();
          chunk_answered_.notify();
          continue;
        }
        next = std::min(next, line_deadline);
      } else if (!stopping_ && line_started_) {
        next = std::min(next, now + config_.partial_line_timeout);  // look again once reading resumes
      }
    }
    if (!co_await deadlines_changed_.wait_until(next)) co_return;  // the session is being cancelled
  }
}

// Drops a client that stalled: pending reads and writes end, nothing more is dispatched.
void Session::close_now(const char* reason, std::string message) {
  refusals_.note(reason, std::move(message));
  closing_ = true;
  stopping_ = true;
  boost::system::error_code ignored;
  socket_.cancel(ignored);
  socket_.shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
  chunk_answered_.notify();
}

// Ends a pending read only: cancelling the socket would cut a reply being written.
void Session::stop_reading() {
  if (reading_) cancel_read_.emit(asio::cancellation_type::terminal);
}

}  // namespace auditfwd
