// posix_spawn with dup2/closefrom file actions: no fd of the daemon leaks into the child.
#include "forwarders/exec_child.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <thread>

extern char** environ;

namespace auditfwd {
namespace {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return true;
}

// Holds the posix_spawn structures and releases them however we leave.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

}  // namespace

SpawnResult spawn_child(const boost::asio::any_io_executor& executor, const std::vector<std::string>& argv,
                        const std::vector<std::pair<std::string, std::string>>& env) {
  const auto fail = [&argv](const std::string& what, int error) {
    return SpawnResult{std::nullopt, fmt::format("cannot start {}: {}: {}", argv.at(0), what, std::strerror(error))};
  };
  Fd stdin_read, stdin_write, stdout_read, stdout_write, stderr_read, stderr_write;
  if (!make_pipe(stdin_read, stdin_write) || !make_pipe(stdout_read, stdout_write) ||
      !make_pipe(stderr_read, stderr_write))
    return fail("pipe", errno);

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, stdin_read.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, stdout_write.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, stderr_write.fd, STDERR_FILENO);
  // Whatever the daemon opened without O_CLOEXEC (sockets, listeners) stays ours.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);

  sigset_t no_signals, defaults;
  sigemptyset(&no_signals);
  sigemptyset(&defaults);
  for (int number : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, number);
  posix_spawnattr_setsigmask(&setup.attributes, &no_signals);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);  // SIGPIPE is ignored in the daemon, not in the child
  posix_spawnattr_setpgroup(&setup.attributes,
                            0);  // a terminal's Ctrl-C reaches the daemon, which stops the child in order
  posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::map<std::string, std::string> merged;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals != std::string_view::npos) merged[std::string(text.substr(0, equals))] = text.substr(equals + 1);
  }
  for (const auto& [key, value] : env) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy(argv);
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  pid_t pid = -1;
  const bool use_path = argv[0].find('/') == std::string::npos;
  const int error = use_path
                        ? ::posix_spawnp(&pid, args[0], &setup.actions, &setup.attributes, args.data(), envp.data())
                        : ::posix_spawn(&pid, args[0], &setup.actions, &setup.attributes, args.data(), envp.data());
  if (error != 0) return fail("spawn", error);

  ChildPipes child{pid, boost::asio::writable_pipe(executor, stdin_write.release()),
                   boost::asio::readable_pipe(executor, stdout_read.release()),
                   boost::asio::readable_pipe(executor, stderr_read.release())};
  return {std::move(child), {}};
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("stopped (wait status {})", status);
}

std::optional<int> reap_within(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return std::nullopt;  // not ours any more
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void ChildReaper::retire(pid_t pid, bool stdin_closed) {
  const auto now = std::chrono::steady_clock::now();
  Retiring r{pid, stdin_closed ? now + std::chrono::seconds(1) : now, {}};
  r.kill_at = r.term_at + std::chrono::seconds(2);
  retiring_.push_back(r);
  collect();
}

void ChildReaper::collect() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(retiring_, [&](Retiring& r) {
    int status = 0;
    const pid_t done = ::waitpid(r.pid, &status, WNOHANG);
    if (done == r.pid) {
      log_->debug("child {} {}", r.pid, describe_wait_status(status));
      return true;
    }
    if (done < 0 && errno == ECHILD) return true;
    if (!r.killed && now >= r.kill_at) {
      log_->warn("child {} did not exit after SIGTERM; sending SIGKILL", r.pid);
      ::kill(r.pid, SIGKILL);
      r.killed = true;
    } else if (!r.termed && now >= r.term_at) {
      ::kill(r.pid, SIGTERM);
      r.termed = true;
    }
    return false;
  });
}

void ChildReaper::finish() {
  while (!retiring_.empty()) {
    collect();
    if (!retiring_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace auditfwd
