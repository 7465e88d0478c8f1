// What the dispatcher decided for one chunk of lines: per line a verdict, per line and forwarder a result.
#pragma once

#include "dispatch/forwarder_set.hpp"
#include "event/event_validator.hpp"
#include "store/job_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace auditfwd {

// A line as the session read it: a validated event, or why it was refused.
using ParsedLine = boost::system::result<Event, Rejection>;

// One forwarder's part in one event.
struct ForwarderResult {
  enum class Status { none, ok, enqueued, error } status = Status::none;
  std::int64_t job = 0;
  std::string error;        // wire code, for Status::error
  std::string reason;       // human text, for Status::error
  bool in_enqueue = false;  // this event's EnqueueItem carries a job for this forwarder

  // Once the chunk is dispatched: the forwarder did not take the event.
  bool failed() const noexcept { return status == Status::error || status == Status::none; }
};

// The results of a chunk: one row of `forwarders` per line, in one allocation.
class ResultTable {
 public:
  ResultTable(std::size_t lines, std::size_t forwarders) : forwarders_(forwarders), results_(lines * forwarders) {}
  ForwarderResult& at(std::size_t line, std::size_t forwarder) { return results_[line * forwarders_ + forwarder]; }
  const ForwarderResult& at(std::size_t line, std::size_t forwarder) const {
    return results_[line * forwarders_ + forwarder];
  }
  std::size_t forwarders() const noexcept { return forwarders_; }

 private:
  std::size_t forwarders_;
  std::vector<ForwarderResult> results_;
};

// How a line is answered.
enum class Verdict : unsigned char {
  refused,    // `rejection` says why; nothing was stored or delivered
  duplicate,  // the id names an event already taken: nothing done again
  accepted,   // every forwarder took it (results)
  not_taken,  // some forwarder did not (results say which)
};

// The outcome of Dispatcher::dispatch for one chunk, in the lines' order. The
// replies it reports may reach the client only once every commit is on disk
// (see wait_until_durable).
struct ChunkOutcome {
  ChunkOutcome() : ChunkOutcome({}, std::make_shared<const ForwarderSet>()) {}
  ChunkOutcome(std::vector<ParsedLine> parsed, std::shared_ptr<const ForwarderSet> set)
      : lines(std::move(parsed)),
        forwarders(std::move(set)),
        verdicts(lines.size(), Verdict::not_taken),
        rejections(lines.size()),
        results(lines.size(), forwarders->slots.size()) {}

  std::vector<ParsedLine> lines;  // an event's text may have been handed to the store
  // The forwarders the chunk was dispatched to: the results' columns. Held
  // until the replies are built, so a reload never stops one mid-chunk.
  std::shared_ptr<const ForwarderSet> forwarders;
  std::vector<Verdict> verdicts;
  std::vector<std::optional<Rejection>> rejections;  // for Verdict::refused
  ResultTable results;
  std::vector<std::shared_ptr<DurableCommit>> commits;  // empty: nothing to wait for
};

// Completes once every commit in `commits` is on disk.
boost::asio::awaitable<void> wait_until_durable(const std::vector<std::shared_ptr<DurableCommit>>& commits);

}  // namespace auditfwd
