// Starting and retiring the exec forwarder's child process: pipes, spawn, escalation to SIGKILL, reaping.
#pragma once

#include <spdlog/logger.h>
#include <sys/types.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace auditfwd {

// A running child and the parent's ends of its stdin, stdout and stderr.
struct ChildPipes {
  pid_t pid = -1;
  boost::asio::writable_pipe input;
  boost::asio::readable_pipe output;
  boost::asio::readable_pipe errors;
};

struct SpawnResult {
  std::optional<ChildPipes> child;
  std::string error;  // why it could not start, when `child` is empty
};

// Starts `argv` (argv[0] looked up in PATH unless it holds a '/') with the
// daemon's environment plus `env`, in its own process group, with default
// signal dispositions and an empty signal mask. Only fds 0, 1, 2 are
// inherited: every other descriptor of the daemon is closed in the child.
SpawnResult spawn_child(const boost::asio::any_io_executor& executor, const std::vector<std::string>& argv,
                        const std::vector<std::pair<std::string, std::string>>& env);

// "exited with status 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

// Children that were told to go and are not reaped yet. A retired child gets
// SIGTERM (at once, or after `grace` if its stdin was closed and it may still
// exit by itself) and SIGKILL if it outlives the next deadline; every one is
// reaped, so none is left a zombie. Not thread-safe: its owner serializes.
class ChildReaper {
 public:
  explicit ChildReaper(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

  // `stdin_closed`: the child may finish on its own; give it a moment first.
  void retire(pid_t pid, bool stdin_closed);

  // Reaps whoever has exited and escalates overdue ones; never blocks.
  void collect();

  // At shutdown: blocks until every retired child is reaped (SIGKILL bounds it).
  void finish();

  bool empty() const { return retiring_.empty(); }

 private:
  struct Retiring {
    pid_t pid;
    std::chrono::steady_clock::time_point term_at;
    std::chrono::steady_clock::time_point kill_at;
    bool termed = false;
    bool killed = false;
  };
  std::shared_ptr<spdlog::logger> log_;
  std::vector<Retiring> retiring_;
};

// Waits up to `limit` for `pid` to exit, polling without blocking the thread
// for long; returns its wait status if it exited (and is now reaped).
std::optional<int> reap_within(pid_t pid, std::chrono::milliseconds limit);

}  // namespace auditfwd
