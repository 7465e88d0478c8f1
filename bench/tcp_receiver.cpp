// auditfwd-tcp-receiver: the far end of a `tcp` forwarder for benchmarks. Listens on
// 127.0.0.1, reads JSON lines from any number of connections, takes each line's "id"
// without parsing the rest, and checks that every expected event arrived exactly once.
// Prints one line of key=value figures (also to --result-file) and exits once the
// expected number of distinct ids arrived (after --linger, to catch late duplicates),
// after --idle-timeout without a line, or on SIGINT/SIGTERM.
//
// Ids: with --id-prefix P (the 24 characters "xxxxxxxx-xxxx-xxxx-xxxx-" that
// auditfwd-load --id-prefix P sends), an id is P followed by 12 hex digits, the
// event's index below --expect; the tally is then one byte per expected event.
// Without it, ids are kept in a hash set (any ids, slower, still far above 1M lines/s).
//
// Never the bottleneck: one thread, 1 MiB reads, memchr for line ends, the clock read
// once per read (every line of a read gets that read's time), no JSON parser.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, as auditfwd-load's start time

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral
  std::string port_file;
  std::size_t expect = 0;  // 0: run until idle or a signal
  std::string id_prefix;
  double linger = 0;         // seconds to keep reading after the last expected id
  double idle_timeout = 60;  // seconds without a line (once started) before giving up
  std::string result_file;
  bool quiet = false;
};

// The value of the line's "id" field. The daemon writes it first ({"id":"…",…}), so
// that is checked first; otherwise the first "id": key in the line is taken.
std::optional<std::string_view> find_id(std::string_view line) {
  constexpr std::string_view head = R"({"id":")";
  std::size_t start;
  if (line.starts_with(head)) {
    start = head.size();
  } else {
    const auto key = line.find(R"("id":)");
    if (key == std::string_view::npos) return std::nullopt;
    start = key + 5;
    while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
    if (start >= line.size() || line[start] != '"') return std::nullopt;
    ++start;
  }
  const auto end = line.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return line.substr(start, end - start);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

class Tally {
 public:
  explicit Tally(const Options& options) : options_(options) {
    if (!options.id_prefix.empty())
      seen_.assign(options.expect, 0);
    else
      ids_.reserve(options.expect);
  }

  // Counts one line received at `at` (ns); true once every expected id is in.
  bool line(std::string_view text, std::int64_t at) {
    ++lines_;
    if (first_ns_ == 0) first_ns_ = at;
    last_ns_ = at;
    const auto id = find_id(text);
    if (!id) {
      ++malformed_;
      return complete();
    }
    bool fresh;
    if (!options_.id_prefix.empty()) {
      const auto index = index_of(*id);
      if (!index) {
        ++foreign_;
        return complete();
      }
      fresh = seen_[*index] == 0;
      if (seen_[*index] < 255) ++seen_[*index];
    } else {
      fresh = ids_.emplace(*id).second;
    }
    if (fresh) {
      ++distinct_;
      if (complete() && complete_ns_ == 0) complete_ns_ = at;
    } else {
      ++duplicates_;
      if (duplicate_examples_.size() < 5) duplicate_examples_.emplace_back(*id);
    }
    return complete();
  }

  bool complete() const { return options_.expect > 0 && distinct_ >= options_.expect; }
  void connection() { ++connections_; }

  std::string report() const {
    const std::size_t missing = options_.expect > distinct_ ? options_.expect - distinct_ : 0;
    const double span = static_cast<double>(last_ns_ - first_ns_) / 1e9;
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    return fmt::format(
        "lines={} distinct={} expected={} duplicates={} missing={} foreign={} malformed={} connections={} "
        "first_line_ns={} complete_ns={} last_line_ns={} lines_per_s={:.0f} cpu_s={:.3f}",
        lines_, distinct_, options_.expect, duplicates_, missing, foreign_, malformed_, connections_, first_ns_,
        complete_ns_, last_ns_, span > 0 ? static_cast<double>(lines_) / span : 0.0, cpu);
  }

  // A few duplicate and missing ids, to find them in the daemon's store or logs.
  void print_examples() const {
    for (const auto& id : duplicate_examples_) std::fprintf(stderr, "duplicate id: %s\n", id.c_str());
    if (options_.id_prefix.empty()) return;
    int shown = 0;
    for (std::size_t i = 0; i < seen_.size() && shown < 5; ++i)
      if (seen_[i] == 0) {
        std::fprintf(stderr, "missing id: %s%012zx\n", options_.id_prefix.c_str(), i);
        ++shown;
      }
  }

  bool clean() const { return distinct_ >= options_.expect && duplicates_ == 0 && foreign_ == 0 && malformed_ == 0; }
  std::int64_t last_ns() const { return last_ns_; }

 private:
  std::optional<std::size_t> index_of(std::string_view id) const {
    if (id.size() != 36 || !id.starts_with(options_.id_prefix)) return std::nullopt;
    std::size_t index = 0;
    for (const char c : id.substr(24)) {
      const int digit = hex_digit(c);
      if (digit < 0) return std::nullopt;
      index = index * 16 + static_cast<std::size_t>(digit);
    }
    if (index >= seen_.size()) return std::nullopt;
    return index;
  }

  const Options& options_;
  std::vector<std::uint8_t> seen_;  // copies per index (saturating), with --id-prefix
  std::unordered_set<std::string> ids_;
  std::vector<std::string> duplicate_examples_;
  std::size_t lines_ = 0, distinct_ = 0, duplicates_ = 0, foreign_ = 0, malformed_ = 0, connections_ = 0;
  std::int64_t first_ns_ = 0, complete_ns_ = 0, last_ns_ = 0;
};

class Receiver {
 public:
  Receiver(asio::io_context& io, const Options& options)
      : io_(io), options_(options), tally_(options), acceptor_(io), linger_(io), watchdog_(io), signals_(io) {}

  std::uint16_t listen() {
    const tcp::endpoint endpoint(asio::ip::make_address(options_.host), options_.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    return acceptor_.local_endpoint().port();
  }

  void start() {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    asio::co_spawn(io_, watch_idle(), asio::detached);
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](boost::system::error_code error, int) {
      if (!error) finish();
    });
  }

  const Tally& tally() const { return tally_; }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [error, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (error) co_return;  // closed by finish()
      tally_.connection();
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(io_, read_lines(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> read_lines(tcp::socket socket) {
    std::vector<char> buffer(1 << 20);
    std::size_t filled = 0;  // bytes of a partial line kept at the front
    for (;;) {
      if (filled == buffer.size()) buffer.resize(buffer.size() * 2);  // a line longer than the buffer
      auto [error, got] = co_await socket.async_read_some(asio::buffer(buffer.data() + filled, buffer.size() - filled),
                                                          asio::as_tuple(asio::use_awaitable));
      if (error || finished_) co_return;  // the forwarder reconnects with a new connection if it must
      const auto at = now_ns();
      last_activity_ = Clock::now();
      const char* begin = buffer.data();
      const char* const end = buffer.data() + filled + got;
      const char* scan = buffer.data() + filled;
      while (const auto* newline =
                 static_cast<const char*>(std::memchr(scan, '\n', static_cast<std::size_t>(end - scan)))) {
        if (newline > begin && tally_.line(std::string_view(begin, static_cast<std::size_t>(newline - begin)), at))
          on_complete();
        begin = scan = newline + 1;
      }
      filled = static_cast<std::size_t>(end - begin);
      if (filled > 0 && begin != buffer.data()) std::memmove(buffer.data(), begin, filled);
    }
  }

  void on_complete() {
    if (completed_) return;
    completed_ = true;
    if (options_.linger <= 0) return finish();
    linger_.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.linger)));
    linger_.async_wait([this](boost::system::error_code) { finish(); });
  }

  asio::awaitable<void> watch_idle() {
    const auto limit =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.idle_timeout));
    last_activity_ = Clock::now();
    while (!finished_) {
      watchdog_.expires_after(std::chrono::milliseconds(100));
      co_await watchdog_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!finished_ && Clock::now() - last_activity_ > limit) {
        std::fprintf(stderr, "auditfwd-tcp-receiver: no line for %.0f s, giving up\n", options_.idle_timeout);
        finish();
      }
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    io_.stop();  // every connection is dropped with the io_context
  }

  asio::io_context& io_;
  const Options& options_;
  Tally tally_;
  tcp::acceptor acceptor_;
  asio::steady_timer linger_, watchdog_;
  asio::signal_set signals_;
  Clock::time_point last_activity_;
  bool completed_ = false, finished_ = false;
};

void write_atomically(const std::string& path, const std::string& text) {
  const auto temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << text << '\n';
  }
  std::rename(temporary.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"auditfwd benchmark receiver: counts JSON lines, checks each event id arrives exactly once"};
  Options options;
  app.add_option("--host", options.host, "address to listen on");
  app.add_option("--port", options.port, "port (0: ephemeral)");
  app.add_option("--port-file", options.port_file, "write the port to this file once listening");
  app.add_option("--expect", options.expect, "distinct ids to wait for (0: until idle or a signal)");
  app.add_option("--id-prefix", options.id_prefix, "ids are this 24-character prefix + 12 hex digits < --expect");
  app.add_option("--linger", options.linger, "seconds to keep reading after the last expected id (duplicates)");
  app.add_option("--idle-timeout", options.idle_timeout, "seconds without a line before giving up");
  app.add_option("--result-file", options.result_file, "also write the key=value figures here");
  app.add_flag("--quiet", options.quiet, "do not print the listening address");
  CLI11_PARSE(app, argc, argv);
  if (!options.id_prefix.empty() && (options.id_prefix.size() != 24 || options.expect == 0)) {
    std::fprintf(stderr, "--id-prefix takes 24 characters (\"xxxxxxxx-xxxx-xxxx-xxxx-\") and needs --expect\n");
    return 64;
  }

  asio::io_context io(1);
  Receiver receiver(io, options);
  const auto port = receiver.listen();
  if (!options.quiet) std::fprintf(stderr, "auditfwd-tcp-receiver: listening on %s:%u\n", options.host.c_str(), port);
  if (!options.port_file.empty()) write_atomically(options.port_file, std::to_string(port));
  receiver.start();
  io.run();

  const auto report = receiver.tally().report();
  std::printf("%s\n", report.c_str());
  std::fflush(stdout);
  if (!options.result_file.empty()) write_atomically(options.result_file, report);
  receiver.tally().print_examples();
  return receiver.tally().clean() ? 0 : 1;
}
