// SIGTERM/SIGINT → stop, SIGHUP → reload, through one asio::signal_set.
#include "app/signals.hpp"

#include <csignal>

namespace auditfwd {

void ignore_outcome_signals() {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
}

SignalHandler::SignalHandler(boost::asio::io_context& io, Handlers handlers)
    : signals_(io, SIGTERM, SIGINT, SIGHUP), handlers_(std::move(handlers)) {}

void SignalHandler::start() { wait(); }

void SignalHandler::wait() {
  signals_.async_wait([this](boost::system::error_code error, int number) {
    if (error) return;
    if (number == SIGHUP) {
      handlers_.on_reload();
      wait();
      return;
    }
    handlers_.on_stop(number);
  });
}

}  // namespace auditfwd
