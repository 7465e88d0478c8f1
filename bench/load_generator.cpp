// auditfwd-load: N clients pipelining ~300-byte events into the socket; prints events/s,
// reply latency percentiles and the daemon's peak RSS. Also measures the baseline the
// store is judged against: one SQLite commit per event, on the same disk.
// With --id-prefix every event carries a client-supplied id (the prefix and the event's
// index in 12 hex digits), so a receiver (auditfwd-tcp-receiver) can check that each
// event arrived exactly once; --summary-file writes the figures as key=value lines.
#include "store/schema.hpp"

#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket_path;
  int clients = 4;
  std::size_t events = 200'000;  // total, across clients
  double rate = 0;               // events/s across clients; 0 = as fast as replies allow
  std::size_t window = 4096;     // events in flight per client
  int daemon_pid = 0;
  std::string baseline_db;
  std::string label = "run";
  std::string latency_log;     // when set: one "sent_us latency_us" line per reply, to find when slow replies happen
  std::string id_prefix;       // when set: events carry "id": prefix + 12 hex digits of their index across clients
  bool single_writes = false;  // one write(2) per event instead of up to 256 KiB at a time
  std::string summary_file;    // when set: the figures as key=value lines, for scripts
};

// A ~300-byte event, as a typical application emits: ids, an address, a user agent, metadata.
// With an id prefix it is led by "id":"<prefix><index in 12 hex digits>" (~310 bytes).
std::string make_event(std::size_t client, std::size_t sequence, const std::string& id_prefix = {},
                       std::size_t index = 0) {
  std::string event = "{";
  if (!id_prefix.empty()) fmt::format_to(std::back_inserter(event), R"("id":"{}{:012x}",)", id_prefix, index);
  fmt::format_to(std::back_inserter(event),
                 R"("action":"user.login","outcome":"success","actor_id":"0190b2a4-7c1e-7cc2-8e1d-{:012x}",)"
                 R"("ip_address":"192.0.2.{}","user_agent":"Mozilla/5.0 (X11; Linux x86_64) bench/1.0",)"
                 R"("metadata":{{"client":{},"seq":{},"method":"password","mfa":true,"tenant":"acme-corp"}}}})"
                 "\n",
                 sequence, sequence % 250, client, sequence);
  return event;
}

int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror("connect");
    std::exit(2);
  }
  return fd;
}

struct ClientResult {
  std::vector<std::int64_t> sent_us;  // send time since the start, kept only for --latency-log
  std::vector<std::int64_t> latencies_us;
  std::size_t ok = 0;
  std::size_t refused = 0;
  std::size_t duplicates = 0;  // ok replies that say "duplicate":true
  Clock::time_point last_reply;
};

// One connection: a writer thread keeps up to `window` events in flight (paced when a
// rate is set); this thread reads replies and times each against its send time: the
// moment the write(2) that took the event's last byte returned. `first_index` is the
// index of this client's first event across clients (for ids).
ClientResult run_client(const Options& options, std::size_t client, std::size_t count, std::size_t first_index,
                        Clock::time_point start) {
  const int fd = connect_unix(options.socket_path);
  // Nanoseconds since `start`, + 1 so that 0 means "not stamped yet": the writer stamps an
  // event after its write returns, and its reply could in principle be read before that.
  std::vector<std::atomic<std::int64_t>> sent_ns(count);
  std::atomic<std::size_t> replies_seen{0};
  std::thread writer([&] {
    const double per_client_rate = options.rate / options.clients;
    const std::size_t max_batch_bytes = options.single_writes ? 1 : 256 * 1024;
    std::string buffer;
    std::vector<std::size_t> ends;  // end offset of each event in `buffer`
    std::size_t next = 0;
    while (next < count) {
      std::size_t allowed = std::min(count, replies_seen.load(std::memory_order_acquire) + options.window);
      if (per_client_rate > 0) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        allowed = std::min(allowed, static_cast<std::size_t>(elapsed * per_client_rate) + 1);
      }
      if (next >= allowed) {
        if (per_client_rate > 0 && next < count &&
            replies_seen.load(std::memory_order_acquire) + options.window > next) {
          // Paced: sleep until the next event is due, not in short naps, so the
          // generator's own wake-ups do not compete with the daemon for the CPU.
          const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(static_cast<double>(next) / per_client_rate));
          std::this_thread::sleep_until(due);
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
        continue;
      }
      buffer.clear();
      ends.clear();
      const std::size_t batch_first = next;
      for (; next < allowed && buffer.size() < max_batch_bytes; ++next) {
        buffer += make_event(client, next, options.id_prefix, first_index + next);
        ends.push_back(buffer.size());
      }
      std::size_t stamped = 0;
      for (std::size_t offset = 0; offset < buffer.size();) {
        const auto written = ::write(fd, buffer.data() + offset, buffer.size() - offset);
        if (written <= 0) {
          std::perror("write");
          std::exit(2);
        }
        offset += static_cast<std::size_t>(written);
        const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count() + 1;
        for (; stamped < ends.size() && ends[stamped] <= offset; ++stamped)
          sent_ns[batch_first + stamped].store(now, std::memory_order_relaxed);
      }
    }
  });

  ClientResult result;
  result.latencies_us.reserve(count);
  std::vector<char> buffer(1 << 20);
  std::string partial;
  std::size_t replies = 0;
  while (replies < count) {
    const auto got = ::read(fd, buffer.data(), buffer.size());
    if (got <= 0) {
      std::fprintf(stderr, "connection closed after %zu of %zu replies\n", replies, count);
      std::exit(2);
    }
    const auto now = Clock::now();
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count() + 1;
    result.last_reply = now;
    partial.append(buffer.data(), static_cast<std::size_t>(got));
    std::size_t start_of_line = 0;
    for (auto newline = partial.find('\n'); newline != std::string::npos;
         start_of_line = newline + 1, newline = partial.find('\n', start_of_line)) {
      if (partial.compare(start_of_line, 10, "{\"ok\":true") == 0) {
        ++result.ok;
        const std::string_view line(partial.data() + start_of_line, newline - start_of_line);
        if (line.find("\"duplicate\":true") != std::string_view::npos) ++result.duplicates;
      } else {
        ++result.refused;
      }
      auto sent = sent_ns[replies].load(std::memory_order_relaxed);
      if (sent == 0) sent = now_ns;  // replied before the writer stamped it: count it as 0
      result.latencies_us.push_back((now_ns - sent) / 1000);
      if (!options.latency_log.empty()) result.sent_us.push_back((sent - 1) / 1000);
      ++replies;
    }
    partial.erase(0, start_of_line);
    replies_seen.store(replies, std::memory_order_release);
  }
  writer.join();
  ::close(fd);
  return result;
}

std::size_t peak_rss_kib(int pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

double percentile(std::vector<std::int64_t>& values, double p) {
  if (values.empty()) return 0;
  const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return static_cast<double>(values[index]) / 1000.0;
}

int run_load(const Options& options) {
  std::vector<ClientResult> results(static_cast<std::size_t>(options.clients));
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  std::size_t first_index = 0;
  const auto clients = static_cast<std::size_t>(options.clients);
  for (std::size_t c = 0; c < clients; ++c) {
    const std::size_t share = options.events / clients + (c < options.events % clients ? 1u : 0u);
    threads.emplace_back(
        [&, c, share, first_index] { results[c] = run_client(options, c, share, first_index, start); });
    first_index += share;
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!options.latency_log.empty()) {
    std::ofstream log(options.latency_log);
    // The start on the monotonic clock, to line replies up with the daemon's own traces.
    log << "# start_monotonic_us "
        << std::chrono::duration_cast<std::chrono::microseconds>(start.time_since_epoch()).count() << '\n';
    for (const auto& r : results)
      for (std::size_t i = 0; i < r.sent_us.size(); ++i) log << r.sent_us[i] << ' ' << r.latencies_us[i] << '\n';
  }
  std::vector<std::int64_t> latencies;
  std::size_t ok = 0, refused = 0, duplicates = 0;
  auto last_reply = start;
  for (auto& r : results) {
    latencies.insert(latencies.end(), r.latencies_us.begin(), r.latencies_us.end());
    ok += r.ok;
    refused += r.refused;
    duplicates += r.duplicates;
    last_reply = std::max(last_reply, r.last_reply);
  }
  const double p50 = percentile(latencies, 50), p99 = percentile(latencies, 99), p999 = percentile(latencies, 99.9);
  const double rss_mib = options.daemon_pid ? static_cast<double>(peak_rss_kib(options.daemon_pid)) / 1024.0 : 0.0;
  fmt::print(
      "{:<28} {:>10.0f} events/s  p50 {:>7.3f} ms  p99 {:>7.3f} ms  p99.9 {:>7.3f} ms  peak RSS {:>7.1f} MiB  "
      "({} ok, {} refused, {} clients, {:.2f} s)\n",
      options.label, static_cast<double>(ok + refused) / seconds, p50, p99, p999, rss_mib, ok, refused, options.clients,
      seconds);
  if (!options.summary_file.empty()) {
    const auto ns = [](Clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    };
    const double acked_seconds = std::chrono::duration<double>(last_reply - start).count();
    std::ofstream summary(options.summary_file);
    summary << fmt::format(
        "events={}\nok={}\nrefused={}\nduplicate_replies={}\nclients={}\nstart_ns={}\nlast_reply_ns={}\n"
        "acked_per_s={:.0f}\np50_ms={:.3f}\np99_ms={:.3f}\np999_ms={:.3f}\npeak_rss_kib={}\n",
        ok + refused, ok, refused, duplicates, options.clients, ns(start), ns(last_reply),
        acked_seconds > 0 ? static_cast<double>(ok + refused) / acked_seconds : 0.0, p50, p99, p999,
        options.daemon_pid ? peak_rss_kib(options.daemon_pid) : 0);
  }
  return refused == 0 ? 0 : 1;
}

// The naive durable design: one transaction (one fsync) per event, same schema and pragmas.
int run_baseline(const Options& options) {
  auto db = auditfwd::open_store_database(options.baseline_db, true);
  SQLite::Statement insert(db,
                           "INSERT INTO jobs (forwarder, event_id, state, attempt, max_attempts, payload, "
                           "inserted_at, scheduled_at) VALUES ('bench', ?1, 'available', 0, 20, ?2, 0, 0)");
  std::vector<std::int64_t> latencies;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < options.events; ++i) {
    const auto began = Clock::now();
    db.exec("BEGIN IMMEDIATE");
    insert.bind(1, fmt::format("baseline-{}", i));
    insert.bind(2, make_event(0, i));
    insert.exec();
    insert.reset();
    db.exec("COMMIT");
    latencies.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - began).count());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print(
      "{:<28} {:>10.0f} events/s  p50 {:>7.3f} ms  p99 {:>7.3f} ms  p99.9 {:>7.3f} ms  (one commit per event, "
      "synchronous=FULL, {} events)\n",
      options.label, static_cast<double>(options.events) / seconds, percentile(latencies, 50),
      percentile(latencies, 99), percentile(latencies, 99.9), options.events);
  return 0;
}

// The first 24 characters of a lower-case UUID: 8-4-4-4 hex digits, each group followed by '-'.
bool valid_id_prefix(std::string_view prefix) {
  if (prefix.size() != 24) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = prefix[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"auditfwd load generator and store baseline"};
  Options options;
  app.add_option("--socket", options.socket_path, "daemon socket (load mode)");
  app.add_option("--clients", options.clients, "concurrent connections")->check(CLI::Range(1, 256));
  app.add_option("--events", options.events, "events in total");
  app.add_option("--rate", options.rate, "target events/s across clients (0: as fast as possible)");
  app.add_option("--window", options.window, "events in flight per client");
  app.add_option("--daemon-pid", options.daemon_pid, "report this process's peak RSS");
  app.add_option("--baseline-db", options.baseline_db, "measure one SQLite commit per event in this file instead");
  app.add_option("--label", options.label, "name printed with the figures");
  app.add_option("--latency-log", options.latency_log, "write \"sent_us latency_us\" per reply to this file");
  app.add_option("--id-prefix", options.id_prefix,
                 "send client-supplied ids: this 24-character prefix (\"xxxxxxxx-xxxx-4xxx-8xxx-\") + 12 hex digits");
  app.add_flag("--single-writes", options.single_writes, "one write(2) per event");
  app.add_option("--summary-file", options.summary_file, "also write the figures here, as key=value lines");
  CLI11_PARSE(app, argc, argv);
  if (!options.baseline_db.empty()) return run_baseline(options);
  if (!options.id_prefix.empty() && !valid_id_prefix(options.id_prefix)) {
    std::fprintf(stderr, "--id-prefix must be 24 lower-case characters like \"0123abcd-0123-4abc-8abc-\"\n");
    return 64;
  }
  if (options.socket_path.empty()) {
    std::fprintf(stderr, "--socket or --baseline-db is required\n");
    return 64;
  }
  return run_load(options);
}
