// The signals the daemon answers: SIGTERM and SIGINT stop it, SIGHUP reloads; SIGPIPE and SIGXFSZ are ignored.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>

namespace auditfwd {

// Process-wide, before any thread starts: a dead exec child or peer is an
// EPIPE outcome, not the daemon's death; a file size limit (RLIMIT_FSIZE)
// reached by an output file is an EFBIG outcome (the write is undone and
// retried), not the daemon killed mid-line.
void ignore_outcome_signals();

// Waits for SIGTERM, SIGINT and SIGHUP on the io_context and calls the
// matching handler on one of its threads. SIGHUP is answered every time; the
// first SIGTERM or SIGINT calls `on_stop` and ends the waiting (a second one
// is handled by the stop already running, so it is swallowed while the
// signal_set lives).
class SignalHandler {
 public:
  struct Handlers {
    std::function<void(int signal)> on_stop;
    std::function<void()> on_reload;
  };

  SignalHandler(boost::asio::io_context& io, Handlers handlers);

  // Starts waiting.
  void start();

 private:
  void wait();

  boost::asio::signal_set signals_;
  Handlers handlers_;
};

}  // namespace auditfwd
