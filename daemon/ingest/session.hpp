// One client connection: reads NDJSON, dispatches each chunk of lines, writes the replies in order.
#pragma once

#include "concurrency/wake_signal.hpp"
#include "config/config.hpp"
#include "dispatch/dispatcher.hpp"
#include "event/forbidden_keys.hpp"
#include "ingest/buffer_budget.hpp"
#include "ingest/ingest_policy.hpp"
#include "ingest/ingest_settings.hpp"
#include "ingest/line_splitter.hpp"
#include "ingest/refusal_log.hpp"
#include "ingest/replies.hpp"

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>

namespace auditfwd {

// Runs on its socket's strand, as three coroutines: one reads and dispatches
// chunks of lines, one writes each chunk's replies, in order, once the commits
// they report are on disk, and one closes the connection when its client stalls.
//
// Back-pressure is built in: a chunk is dispatched only after the previous one
// is committed (or delivered); at most a few chunks wait for the disk or for the
// client to read; and the connection's read buffer, unfinished line, input being
// dispatched and unsent replies together stay within what the BufferBudget
// allows it (ingest.max_connection_buffered_bytes, or only the budget's floor
// once all connections hold ingest.max_buffered_bytes). A read that brings more
// lines than the replies' room allows is dispatched a part at a time.
//
// Policy: with [[ingest.allow]] rules, each valid event is checked against the
// rules that match this connection's sender (worked out once, when it is
// accepted) before it is dispatched; a refused one (not_permitted, rate_limited)
// gets its reply and is neither stored nor delivered, and the connection goes on.
//
// Timeouts: nothing read or written for ingest.idle_timeout (and nothing
// waiting for a forwarder or the disk) closes the connection at once; a line
// left unfinished for ingest.partial_line_timeout while the client is being read
// stops reading, answers the lines already read, and closes.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::local::stream_protocol::socket socket, PeerCredentials peer, const IngestSettings& settings,
          Dispatcher& dispatcher, const ReplyBuilder& replies, BufferBudget& budget, RefusalLog& refusals,
          std::shared_ptr<spdlog::logger> log);

  boost::asio::awaitable<void> run();

  // Thread-safe: finish and answer what was read, then close.
  void stop();

  const PeerCredentials& peer() const { return peer_; }

 private:
  using clock = std::chrono::steady_clock;

  // The replies to one chunk of lines ('\n'-terminated, concatenated, in order)
  // and the commits they report: written once every one is on disk.
  struct AnsweredChunk {
    std::string replies;
    std::vector<std::shared_ptr<DurableCommit>> commits;
    clock::time_point read_at;  // when its lines were read: the reply latency's start
    std::size_t lines = 0;
  };

  boost::asio::awaitable<void> read_and_dispatch();
  boost::asio::awaitable<void> write_replies();
  boost::asio::awaitable<void> watch_deadlines();
  // Waits until the disk and the budget leave room to read; false when the session is cancelled.
  boost::asio::awaitable<bool> wait_for_room();
  // Reads once into a fresh buffer; false once the input ended (eof, error, or stop).
  boost::asio::awaitable<bool> read_input(bool& clean_eof);
  // Moves the next lines that fit the replies' room from the buffer to the splitter.
  void take_lines(std::vector<SplitLine>& pieces);
  boost::asio::awaitable<void> dispatch_lines(std::vector<SplitLine>& pieces);
  void count_and_log_verdicts(const ChunkOutcome& outcome);
  // Accepted events to the taps: (action, JSON) per line, copied before the dispatch.
  void publish_to_tap(const ChunkOutcome& outcome,
                      const std::vector<std::optional<std::pair<std::string, std::string>>>& tapped);
  void release_buffer();
  void update_held();
  void stop_reading();
  void close_now(const char* reason, std::string message);
  std::size_t unread_bytes() const { return buffer_end_ - buffer_begin_; }

  boost::asio::local::stream_protocol::socket socket_;
  const IngestSettings& settings_;
  const std::shared_ptr<const IngestConfig> config_holder_;  // the section when the connection started
  const IngestConfig& config_;
  Dispatcher& dispatcher_;
  const ReplyBuilder& replies_;
  std::shared_ptr<IngestPolicy> policy_;  // the settings' current one, looked at before each chunk
  BufferBudget& budget_;
  RefusalLog& refusals_;  // policy refusals and forced closes
  std::shared_ptr<spdlog::logger> log_;
  LineSplitter splitter_;
  PeerCredentials peer_;
  SenderIdentity identity_;             // peer_ resolved once, when the connection was accepted
  SenderStamp sender_;                  // identity_ with the host: what each event is stamped with
  SenderRules sender_rules_;            // the [[ingest.allow]] rules that match identity_
  const ForbiddenKeys forbidden_keys_;  // normalized once per connection, not per read
  bool stopping_ = false;               // no new reads; what was read is answered
  bool closing_ = false;                // the client is gone or was dropped: nothing more is read or dispatched
  bool reading_ = false;
  boost::asio::cancellation_signal cancel_read_;  // the pending read only

  // The last read, [buffer_begin_, buffer_end_) not yet split into lines.
  std::unique_ptr<char[]> buffer_;
  std::size_t buffer_size_ = 0;
  std::size_t buffer_begin_ = 0;
  std::size_t buffer_end_ = 0;
  std::size_t next_read_size_;
  std::size_t dispatching_bytes_ = 0;       // input lines being dispatched
  std::size_t reply_bytes_per_line_ = 256;  // estimated from this connection's replies so far
  std::size_t held_ = 0;                    // as reported to budget_
  bool waiting_for_budget_ = false;

  // Dispatched chunks, in order, from the reader to the reply writer.
  std::deque<AnsweredChunk> dispatched_;
  std::size_t queued_reply_bytes_ = 0;  // in dispatched_
  bool reader_done_ = false;
  bool writer_done_ = false;
  WakeSignal chunk_queued_;    // wakes the writer
  WakeSignal chunk_answered_;  // wakes the reader waiting for room

  // Deadlines.
  bool dispatching_ = false;
  bool awaiting_disk_ = false;
  clock::time_point last_activity_;
  std::optional<clock::time_point> line_started_;  // while a line is unfinished and the client is read
  WakeSignal deadlines_changed_;                   // wakes the watchdog
};

// The kernel's view of the connecting process (SO_PEERCRED).
PeerCredentials peer_credentials(int fd);

}  // namespace auditfwd
