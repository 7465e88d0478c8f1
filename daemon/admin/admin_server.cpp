// Boost.Beast on one thread: a small request/response loop per connection, and chunked NDJSON for taps.
#include "admin/admin_server.hpp"

#include "admin/admin_views.hpp"
#include "admin/process_stats.hpp"
#include "common/time_format.hpp"
#include "metrics/daemon_metrics.hpp"
#include "tap/tap_hub.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

namespace auditfwd {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

constexpr int max_connections = 32;
constexpr auto request_timeout = 10s;
constexpr auto tap_write_timeout = 30s;
constexpr auto tap_poll_interval = 100ms;
constexpr std::size_t tap_buffer_bytes = 1024 * 1024;

// An io_context whose queued handlers (and the coroutine frames waiting on them)
// can be destroyed while the server's state is still alive.
class AdminIoContext : public asio::io_context {
 public:
  using asio::execution_context::shutdown;
  using asio::io_context::io_context;
};

struct Reply {
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string body;
};

Reply json_reply(http::status status, const boost::json::object& body) {
  return {status, "application/json", boost::json::serialize(body) + "\n"};
}

Reply error_reply(http::status status, std::string message) {
  return json_reply(status, {{"error", std::move(message)}});
}

}  // namespace

struct AdminServer::State {
  State(const Config& config, const JobStore* job_store)
      : address(*config.admin.listen),
        store(job_store),
        store_config(config.store),
        log(spdlog::default_logger()->clone("admin")) {
    for (const auto& f : config.forwarders) forwarder_ids.push_back(f.id);
  }

  AdminAddress address;
  const JobStore* store;
  StoreConfig store_config;
  std::vector<std::string> forwarder_ids;
  std::shared_ptr<spdlog::logger> log;
  AdminIoContext io{1};
  std::optional<asio::ip::tcp::acceptor> tcp_acceptor;
  std::optional<asio::local::stream_protocol::acceptor> unix_acceptor;
  bool owns_socket_file = false;
  std::thread thread;
  bool started = false;
  bool stopped = false;
  bool stopping = false;  // the io thread only: taps send what they hold, then end
  std::atomic<int> open_taps{0};
  int connections = 0;  // the io thread only
  RateWindow rates;     // the io thread only

  std::map<std::string, std::uint64_t> totals();
  std::optional<StoreBacklog> read_backlog();
  Reply metrics();
  Reply health();
  Reply ready();
  Reply status();
  Reply route(const http::request<http::empty_body>& request);
  asio::awaitable<void> sample_rates();
  template <typename Socket>
  asio::awaitable<void> serve(Socket socket);
  template <typename Socket>
  asio::awaitable<void> tap(Socket& socket, const http::request<http::empty_body>& request, TapFilter filter);
  template <typename Acceptor>
  asio::awaitable<void> accept_loop(Acceptor& acceptor);
};

std::map<std::string, std::uint64_t> AdminServer::State::totals() {
  auto& metrics = daemon_metrics();
  std::map<std::string, std::uint64_t> totals{{"received", metrics.events_received.value()},
                                              {"accepted", metrics.events_accepted.value()}};
  std::uint64_t delivered = 0;
  for (const auto& id : metrics.forwarder_ids()) {
    const auto count = metrics.forwarder(id).delivered_events->value();
    totals["delivered:" + id] = count;
    delivered += count;
  }
  totals["delivered"] = delivered;
  return totals;
}

std::optional<StoreBacklog> AdminServer::State::read_backlog() {
  if (!store) return std::nullopt;
  try {
    return store_backlog(store_config.path);
  } catch (const std::exception& e) {
    log->debug("cannot read the job store for a scrape: {}", e.what());
    return std::nullopt;
  }
}

Reply AdminServer::State::metrics() {
  ScrapeInputs inputs;
  inputs.process = read_process_stats();
  inputs.store_enabled = store != nullptr;
  if (store) {
    inputs.store_bytes = store->counters().used_bytes;
    inputs.store_limit_bytes = store_config.max_bytes;
    inputs.backlog = read_backlog();
  }
  inputs.now_unix_ms = unix_millis_now();
  return {http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
          daemon_metrics().registry().render(scrape_families(inputs))};
}

Reply AdminServer::State::health() {
  const auto verdict =
      judge_health(daemon_metrics().ingest_listening.load(), store != nullptr, store == nullptr || store->healthy());
  return {verdict.ok ? http::status::ok : http::status::service_unavailable, "application/json",
          health_json(verdict) + "\n"};
}

Reply AdminServer::State::ready() {
  if (daemon_metrics().ingest_listening.load()) return json_reply(http::status::ok, {{"status", "ready"}});
  return json_reply(http::status::service_unavailable,
                    {{"status", "not_ready"}, {"reason", "the ingest socket is not listening (starting or stopping)"}});
}

Reply AdminServer::State::status() {
  auto& metrics = daemon_metrics();
  const auto process = read_process_stats();
  const auto now_ms = unix_millis_now();
  const auto verdict =
      judge_health(metrics.ingest_listening.load(), store != nullptr, store == nullptr || store->healthy());
  boost::json::object health{{"status", verdict.ok ? "ok" : "failing"}};
  if (!verdict.ok) health["reason"] = verdict.reason;
  boost::json::object body{
      {"version", metrics.version()},
      {"uptime_seconds", std::max(0.0, static_cast<double>(now_ms) / 1000.0 - process.start_time_seconds)},
      {"health", std::move(health)},
      {"connections", metrics.connections.value()},
      {"events_per_second",
       {{"received", rates.rate("received")},
        {"accepted", rates.rate("accepted")},
        {"delivered", rates.rate("delivered")}}},
      {"events_total", {{"received", metrics.events_received.value()}, {"accepted", metrics.events_accepted.value()}}}};
  const auto backlog = read_backlog();
  if (store) {
    const auto counters = store->counters();
    body["store"] = {{"healthy", store->healthy()},
                     {"full", store->full()},
                     {"bytes", counters.used_bytes},
                     {"limit_bytes", store_config.max_bytes},
                     {"pending_jobs", counters.pending_jobs}};
  } else {
    body["store"] = nullptr;
  }
  std::set<std::string> ids(forwarder_ids.begin(), forwarder_ids.end());
  for (const auto& id : metrics.forwarder_ids()) ids.insert(id);
  boost::json::array forwarders;
  for (const auto& id : ids) {
    auto& forwarder = metrics.forwarder(id);
    std::int64_t pending = 0;
    boost::json::value oldest = nullptr;
    if (backlog) {
      for (const auto& [name, state, count] : backlog->jobs_by_state)
        if (name == id && (state == "available" || state == "retryable" || state == "executing")) pending += count;
      for (const auto& [name, inserted_ms] : backlog->oldest_pending_ms)
        if (name == id) oldest = static_cast<double>(std::max<std::int64_t>(0, now_ms - inserted_ms)) / 1000.0;
    }
    boost::json::object item{{"id", id},
                             {"delivered_per_second", rates.rate("delivered:" + id)},
                             {"delivered_total", forwarder.delivered_events->value()},
                             {"backlog", backlog ? boost::json::value(pending) : boost::json::value(nullptr)},
                             {"oldest_pending_seconds", oldest},
                             {"failing", forwarder.last_delivery_failed.load()}};
    if (const auto last = forwarder.last_error()) {
      item["last_error"] = last->reason;
      item["last_error_at"] = format_rfc3339(sys_micros(std::chrono::milliseconds(last->at_unix_ms)));
    } else {
      item["last_error"] = nullptr;
      item["last_error_at"] = nullptr;
    }
    forwarders.push_back(std::move(item));
  }
  body["forwarders"] = std::move(forwarders);
  return json_reply(http::status::ok, body);
}

Reply AdminServer::State::route(const http::request<http::empty_body>& request) {
  if (request.method() != http::verb::get && request.method() != http::verb::head)
    return error_reply(http::status::method_not_allowed, "only GET");
  const auto target = boost::urls::parse_origin_form(request.target());
  if (!target) return error_reply(http::status::bad_request, "not a valid request target");
  const auto path = target->path();
  if (path == "/metrics") return metrics();
  if (path == "/health") return health();
  if (path == "/ready") return ready();
  if (path == "/status") return status();
  return error_reply(http::status::not_found, "no such endpoint: /metrics, /health, /ready, /status or /tap");
}

asio::awaitable<void> AdminServer::State::sample_rates() {
  asio::steady_timer timer(io);
  for (;;) {
    rates.add(RateWindow::clock::now(), totals());
    timer.expires_after(1s);
    auto [error] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
  }
}

template <typename Socket>
asio::awaitable<void> AdminServer::State::serve(Socket socket) {
  boost::beast::flat_buffer buffer;
  asio::steady_timer deadline(socket.get_executor());
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    deadline.expires_after(request_timeout);
    auto read = co_await (http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable)) ||
                          deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (read.index() != 0 || std::get<0>(std::get<0>(read))) co_return;  // timed out, closed or malformed
    const auto& request = parser.get();
    const auto target = boost::urls::parse_origin_form(request.target());
    if (request.method() == http::verb::get && target && target->path() == "/tap") {
      TapFilter filter;
      std::optional<Reply> refused;
      for (const auto& param : target->params()) {
        if (param.key == "action") {
          filter.action = ActionPattern::parse(param.value);
          if (!filter.action)
            refused = error_reply(http::status::bad_request,
                                  fmt::format("action \"{}\" is not a pattern: use \"*\", an action name or a prefix "
                                              "like \"user.*\"",
                                              param.value));
        } else if (param.key == "forwarder") {
          filter.forwarder = param.value;
        } else {
          refused = error_reply(http::status::bad_request,
                                fmt::format("unknown parameter \"{}\": /tap takes action and forwarder", param.key));
        }
      }
      if (!refused) {
        co_await tap(socket, request, std::move(filter));
        co_return;
      }
      http::response<http::string_body> response{refused->status, request.version()};
      response.set(http::field::content_type, refused->content_type);
      response.body() = refused->body;
      response.prepare_payload();
      co_await http::async_write(socket, response, asio::as_tuple(asio::use_awaitable));
      co_return;
    }
    const auto reply = route(request);
    http::response<http::string_body> response{reply.status, request.version()};
    response.set(http::field::content_type, reply.content_type);
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(request.keep_alive());
    response.body() = request.method() == http::verb::head ? std::string() : reply.body;
    response.prepare_payload();
    if (request.method() == http::verb::head) response.content_length(reply.body.size());
    deadline.expires_after(request_timeout);
    auto written = co_await (http::async_write(socket, response, asio::as_tuple(asio::use_awaitable)) ||
                             deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (written.index() != 0 || std::get<0>(std::get<0>(written)) || !request.keep_alive()) co_return;
  }
}

template <typename Socket>
asio::awaitable<void> AdminServer::State::tap(Socket& socket, const http::request<http::empty_body>& request,
                                              TapFilter filter) {
  http::response<http::empty_body> head{http::status::ok, request.version()};
  head.set(http::field::content_type, "application/x-ndjson");
  head.set(http::field::cache_control, "no-store");
  head.chunked(true);
  head.keep_alive(false);
  // Subscribed before the header goes out: once a client has the header, it misses no event.
  auto subscription = event_tap().subscribe(std::move(filter), tap_buffer_bytes);
  struct Unsubscribe {
    std::shared_ptr<TapSubscription> subscription;
    ~Unsubscribe() { event_tap().unsubscribe(subscription); }
  } unsubscribe{subscription};
  http::response_serializer<http::empty_body> serializer{head};
  auto [header_error, header_bytes] =
      co_await http::async_write_header(socket, serializer, asio::as_tuple(asio::use_awaitable));
  if (header_error) co_return;
  ++open_taps;
  struct Closed {
    std::atomic<int>& open_taps;
    ~Closed() { --open_taps; }
  } closed{open_taps};
  log->debug("a tap connected");

  // The client only reads; its end of input (it went away) ends the tap at once.
  auto watch_close = [&socket]() -> asio::awaitable<void> {
    char byte;
    for (;;) {
      auto [error, bytes] =
          co_await socket.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
      if (error) co_return;
    }
  };
  auto stream_events = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(socket.get_executor());
    std::uint64_t dropped_shown = 0;
    for (;;) {
      timer.expires_after(tap_poll_interval);
      auto [wait_error] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (wait_error) co_return;
      const bool last = stopping;  // the daemon has answered its last event: send what is held, then end
      auto taken = subscription->take();
      std::string data;
      for (const auto& line : taken.lines) {
        data += line;
        data += '\n';
      }
      if (taken.dropped != dropped_shown) {
        data += fmt::format("{{\"tap_dropped\":{}}}\n", taken.dropped);
        dropped_shown = taken.dropped;
      }
      if (!data.empty()) {
        timer.expires_after(tap_write_timeout);
        auto written = co_await (
            asio::async_write(socket, http::make_chunk(asio::buffer(data)), asio::as_tuple(asio::use_awaitable)) ||
            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (written.index() != 0 || std::get<0>(std::get<0>(written))) co_return;
      }
      if (last) {
        timer.expires_after(tap_poll_interval);
        co_await (asio::async_write(socket, http::make_chunk_last(), asio::as_tuple(asio::use_awaitable)) ||
                  timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        co_return;
      }
    }
  };
  co_await (watch_close() || stream_events());
  log->debug("a tap disconnected");
}

template <typename Acceptor>
asio::awaitable<void> AdminServer::State::accept_loop(Acceptor& acceptor) {
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (error) {
      log->warn("admin endpoint: accept failed: {}", error.message());
      asio::steady_timer pause(io, 50ms);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (connections >= max_connections) {
      log->warn("admin endpoint: {} connections already open; closing a new one", max_connections);
      continue;  // the socket closes as it goes out of scope
    }
    ++connections;
    asio::co_spawn(io, serve(std::move(socket)), [this](std::exception_ptr failure) {
      --connections;
      if (!failure) return;
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        log->error("admin connection ended by an exception: {}", e.what());
      }
    });
  }
}

AdminServer::AdminServer(const Config& config, const JobStore* store) : state_(std::make_unique<State>(config, store)) {
  for (const auto& f : config.forwarders) daemon_metrics().forwarder(f.id);  // every forwarder's series from 0
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() {
  auto& s = *state_;
  if (s.address.kind == AdminAddress::Kind::unix_socket) {
    using stream = asio::local::stream_protocol;
    const std::filesystem::path path(s.address.path);
    std::error_code status_error;
    if (std::filesystem::is_socket(path, status_error)) {
      stream::socket probe(s.io);
      boost::system::error_code connect_error;
      probe.connect(stream::endpoint(s.address.path), connect_error);
      if (!connect_error)
        throw std::runtime_error("another process is listening on " + s.address.path + "; refusing to replace it");
      std::filesystem::remove(path);
    } else if (std::filesystem::exists(path, status_error)) {
      throw std::runtime_error(s.address.path + " exists and is not a socket; refusing to remove it");
    }
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    s.unix_acceptor.emplace(s.io);
    s.unix_acceptor->open(stream());
    // Only the daemon's user (and root) may connect: the tap shows every event.
    const mode_t previous = ::umask(0177);
    boost::system::error_code bind_error;
    s.unix_acceptor->bind(stream::endpoint(s.address.path), bind_error);
    ::umask(previous);
    if (bind_error) throw std::runtime_error("cannot bind " + s.address.path + ": " + bind_error.message());
    s.owns_socket_file = true;
    s.unix_acceptor->listen();
    asio::co_spawn(s.io, s.accept_loop(*s.unix_acceptor), asio::detached);
  } else {
    using tcp = asio::ip::tcp;
    const tcp::endpoint endpoint(asio::ip::make_address(s.address.host), s.address.port);
    s.tcp_acceptor.emplace(s.io);
    s.tcp_acceptor->open(endpoint.protocol());
    s.tcp_acceptor->set_option(asio::socket_base::reuse_address(true));
    boost::system::error_code bind_error;
    s.tcp_acceptor->bind(endpoint, bind_error);
    if (bind_error) throw std::runtime_error("cannot bind " + s.address.text + ": " + bind_error.message());
    s.tcp_acceptor->listen();
    asio::co_spawn(s.io, s.accept_loop(*s.tcp_acceptor), asio::detached);
  }
  asio::co_spawn(s.io, s.sample_rates(), asio::detached);
  s.started = true;
  s.thread = std::thread([&s] {
    pthread_setname_np(pthread_self(), "auditfwd-admin");
    s.io.run();
  });
  s.log->info("admin endpoint on {} (/metrics, /health, /ready, /status, /tap)", s.address.describe());
}

void AdminServer::stop() {
  auto& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  if (s.started) {
    // Taps get what they hold (the daemon has answered its last event by now), within a second.
    asio::post(s.io, [&s] {
      s.stopping = true;
      boost::system::error_code ignored;
      if (s.tcp_acceptor) s.tcp_acceptor->close(ignored);
      if (s.unix_acceptor) s.unix_acceptor->close(ignored);
    });
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    while (s.open_taps.load() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  }
  s.io.stop();
  if (s.thread.joinable()) s.thread.join();
  s.io.shutdown();  // the connections' coroutines go now, while the state they use is alive
  if (s.owns_socket_file) {
    std::error_code ignored;
    std::filesystem::remove(s.address.path, ignored);
  }
}

}  // namespace auditfwd
