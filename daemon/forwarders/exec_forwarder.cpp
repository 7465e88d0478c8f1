// One ordered stream to one child: write a batch, read one reply per event, restart the child when the stream breaks.
#include "forwarders/exec_forwarder.hpp"
#include "forwarders/forwarder_options.hpp"

#include "common/async_mutex.hpp"
#include "config/config_reader.hpp"
#include "forwarders/exec_child.hpp"
#include "forwarders/exec_reply.hpp"
#include "forwarders/secret_redactor.hpp"
#include "net/reconnect_backoff.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace auditfwd {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t max_reply_bytes = 64 * 1024;
constexpr std::size_t max_stderr_line = 4096;

// Copies the child's stderr to the forwarder's log, line by line, until the child closes it.
// Secret-looking env entries (names_a_secret) are secrets: a child may print them.
asio::awaitable<void> log_stderr(asio::readable_pipe errors, std::shared_ptr<spdlog::logger> log, pid_t pid,
                                 SecretRedactor redactor) {
  std::string buffer;
  for (;;) {
    auto [error, size] = co_await asio::async_read_until(errors, asio::dynamic_buffer(buffer, max_stderr_line), '\n',
                                                         asio::as_tuple(asio::use_awaitable));
    if (error == asio::error::not_found)
      size = buffer.size();  // an over-long line: log it in pieces
    else if (error)
      break;
    std::string_view line(buffer.data(), size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    log->info("child {} stderr: {}", pid, redactor.redact(line));
    buffer.erase(0, size);
  }
  if (!buffer.empty()) log->info("child {} stderr: {}", pid, redactor.redact(buffer));
}

// How reading the replies to one batch ended.
struct ReadResult {
  enum class End { complete, closed, malformed } end = End::complete;
  std::string detail;
};

std::vector<std::string> secret_values(const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> values;
  for (const auto& [name, value] : env)
    if (names_a_secret(name) && !value.empty()) values.push_back(value);
  return values;
}

class ExecForwarder final : public Forwarder {
 public:
  ExecForwarder(asio::any_io_executor executor, std::vector<std::string> command,
                std::vector<std::pair<std::string, std::string>> env, std::shared_ptr<spdlog::logger> log)
      : executor_(std::move(executor)),
        command_(std::move(command)),
        env_(std::move(env)),
        redactor_(secret_values(env_)),
        log_(std::move(log)),
        mutex_(executor_),
        reaper_(log_) {}

  ~ExecForwarder() override { stop(); }

  BatchLimits batch_limits() const override { return {100, 1024 * 1024}; }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    BatchOutcome outcomes(events.size(), DeliveryOutcome::retry("no answer from the child"));
    AsyncMutex::Lock lock;
    try {
      lock = co_await mutex_.lock();
      if (!lock) co_return same_outcome(events.size(), DeliveryOutcome::retry("cancelled while waiting for the child"));
      co_await deliver_locked(events, outcomes);
      co_return outcomes;
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted) throw;
    }
    // Cancelled (the forwarder's timeout): replies still on their way would be
    // taken for the next batch's, so this child's stream is unusable.
    if (lock && child_) {
      retire_child(false, "no answer in time; replacing it");
      fail("the child did not answer within the forwarder's timeout");  // a child that always hangs is not restarted in
                                                                        // a loop
    }
    for (auto& outcome : outcomes)
      if (outcome.kind == DeliveryOutcome::Kind::retry && outcome.reason == "no answer from the child")
        outcome = DeliveryOutcome::retry("cancelled: no answer from the child in time");
    co_return outcomes;
  }

  void reopen() override { restart_requested_ = true; }

  std::vector<std::string> secrets() const override { return secret_values(env_); }

  // After the last delivery: close stdin, give the child a moment, SIGTERM, SIGKILL; reap.
  void stop() override {
    if (child_) retire_child(true, "stopping");
    reaper_.finish();
  }

 private:
  asio::awaitable<void> deliver_locked(std::span<const Event> events, BatchOutcome& outcomes) {
    reaper_.collect();
    if (restart_requested_.exchange(false) && child_) retire_child(true, "restart requested (SIGHUP)");
    if (!child_) {
      if (const auto wait = backoff_.remaining(); wait.count() > 0) {
        std::fill(outcomes.begin(), outcomes.end(),
                  DeliveryOutcome::retry(fmt::format("{} (next start in {}ms)", last_failure_, wait.count())));
        co_return;
      }
      auto spawned = spawn_child(executor_, command_, env_);
      if (!spawned.child) {
        fail(spawned.error);
        std::fill(outcomes.begin(), outcomes.end(), DeliveryOutcome::retry(spawned.error));
        co_return;
      }
      child_.emplace(std::move(*spawned.child));
      replies_.clear();
      log_->info("started {} (pid {})", command_.front(), child_->pid);
      asio::co_spawn(executor_, log_stderr(std::move(child_->errors), log_, child_->pid, redactor_),
                     [log = log_](std::exception_ptr error) {
                       if (!error) return;
                       try {
                         std::rethrow_exception(error);
                       } catch (const std::exception& e) {
                         log->error("reading the child's stderr failed: {}", e.what());
                       }
                     });
    }

    static constexpr char newline = '\n';
    std::vector<asio::const_buffer> lines;
    lines.reserve(events.size() * 2);
    for (const auto& event : events) {
      lines.push_back(asio::buffer(event.json));
      lines.push_back(asio::buffer(&newline, 1));
    }
    // Write and read at once: a child that answers while we still write must
    // never fill its stdout pipe and stall both of us.
    auto [write_error, result] = co_await (write_batch(lines) && read_replies(outcomes));
    if (result.end == ReadResult::End::complete) {
      backoff_.succeeded();
      co_return;
    }
    if (result.end == ReadResult::End::malformed) {
      log_->error("{}; restarting the child", redactor_.redact(result.detail));
      retire_child(false, "its reply stream is out of sync");
      backoff_.failed();
      last_failure_ = result.detail;
      for (auto& outcome : outcomes)
        if (outcome.kind == DeliveryOutcome::Kind::retry && outcome.reason == "no answer from the child")
          outcome = DeliveryOutcome::retry("not answered: the child was restarted after a malformed reply");
      co_return;
    }
    // The child closed stdout: it has exited or is about to.
    const pid_t pid = child_->pid;
    child_->input.close();
    std::optional<int> status;
    asio::steady_timer pause(executor_);
    for (int i = 0; i < 40 && !status; ++i) {  // up to 200ms for its exit status, for the log and the job errors
      int raw = 0;
      if (::waitpid(pid, &raw, WNOHANG) == pid)
        status = raw;
      else {
        pause.expires_after(std::chrono::milliseconds(5));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
    const auto what = fmt::format("the child {} {} before answering every event{}", pid,
                                  status ? describe_wait_status(*status) : std::string("closed its stdout"),
                                  write_error ? fmt::format(" (write: {})", write_error.message()) : std::string());
    child_.reset();
    if (!status) reaper_.retire(pid, true);
    fail(what);
    for (auto& outcome : outcomes)
      if (outcome.kind == DeliveryOutcome::Kind::retry && outcome.reason == "no answer from the child")
        outcome = DeliveryOutcome::retry(what);
  }

  asio::awaitable<boost::system::error_code> write_batch(const std::vector<asio::const_buffer>& lines) {
    auto [error, written] = co_await asio::async_write(child_->input, lines, asio::as_tuple(asio::use_awaitable));
    co_return error;
  }

  // Reads one reply per event. On a broken stream it also cancels the write,
  // which may be stuck on a child that no longer reads.
  asio::awaitable<ReadResult> read_replies(BatchOutcome& outcomes) {
    auto result = co_await read_each_reply(outcomes);
    if (result.end != ReadResult::End::complete) {
      boost::system::error_code ignored;
      child_->input.cancel(ignored);
    }
    co_return result;
  }

  asio::awaitable<ReadResult> read_each_reply(BatchOutcome& outcomes) {
    for (auto& outcome : outcomes) {
      auto [error, size] = co_await asio::async_read_until(
          child_->output, asio::dynamic_buffer(replies_, max_reply_bytes), '\n', asio::as_tuple(asio::use_awaitable));
      if (error == asio::error::not_found)
        co_return ReadResult{
            ReadResult::End::malformed,
            fmt::format("malformed reply from the child: a line longer than {} bytes", max_reply_bytes)};
      if (error) co_return ReadResult{ReadResult::End::closed, error.message()};
      auto reply = parse_exec_reply(std::string_view(replies_).substr(0, size));
      replies_.erase(0, size);
      switch (reply.kind) {
        case ExecReply::Kind::ok: outcome = DeliveryOutcome::success(); break;
        case ExecReply::Kind::retry: outcome = DeliveryOutcome::retry(std::move(reply.error)); break;
        case ExecReply::Kind::permanent: outcome = DeliveryOutcome::permanent(std::move(reply.error)); break;
        case ExecReply::Kind::malformed:
          outcome = DeliveryOutcome::retry(reply.error);
          co_return ReadResult{ReadResult::End::malformed, std::move(reply.error)};
      }
    }
    co_return ReadResult{};
  }

  // Lets go of the current child: closes its pipes (stdin first, so a
  // well-behaved child sees EOF and exits) and hands it to the reaper.
  void retire_child(bool graceful, std::string_view why) {
    log_->info("stopping child {}: {}", child_->pid, why);
    boost::system::error_code ignored;
    child_->input.close(ignored);
    child_->output.close(ignored);
    reaper_.retire(child_->pid, graceful);
    child_.reset();
    replies_.clear();
  }

  void fail(const std::string& what) {
    const auto wait = backoff_.failed();
    log_->warn("{}; next start in {}ms", redactor_.redact(what), wait.count());
    last_failure_ = what;
  }

  asio::any_io_executor executor_;
  const std::vector<std::string> command_;
  const std::vector<std::pair<std::string, std::string>> env_;
  const SecretRedactor redactor_;  // for what the forwarder logs itself; reasons are redacted by make_forwarder
  std::shared_ptr<spdlog::logger> log_;
  AsyncMutex mutex_;
  std::atomic<bool> restart_requested_{false};

  // Guarded by mutex_ (and used by stop() only once deliveries are over).
  std::optional<ChildPipes> child_;
  std::string replies_;  // bytes read from the child's stdout, not yet a whole line
  ChildReaper reaper_;
  ReconnectBackoff backoff_;
  std::string last_failure_;
};

}  // namespace

std::unique_ptr<Forwarder> make_exec_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  auto [command, env] = read_forwarder_options(config, [](ConfigReader& reader) {
    auto program_and_args = reader.string_list("command");
    if (!reader.contains("command"))
      reader.report("command", "is required (a list: program and arguments)");
    else if (reader.holds_list("command") && (program_and_args.empty() || program_and_args.front().empty()))
      reader.report("command", "must name a program");
    std::vector<std::pair<std::string, std::string>> environment;
    for (const auto& [key, value] : reader.table("env")) {
      if (!value.is_string()) {
        reader.report("env." + std::string(key), "must be a string");
      } else if (key.empty() || key.find('=') != std::string_view::npos) {
        reader.report("env." + std::string(key), "is not a valid environment variable name");
      } else {
        environment.emplace_back(std::string(key), std::string(value.get_string()));
      }
    }
    reader.finish();
    return std::pair{std::move(program_and_args), std::move(environment)};
  });
  return std::make_unique<ExecForwarder>(context.executor, std::move(command), std::move(env), context.log);
}

}  // namespace auditfwd
