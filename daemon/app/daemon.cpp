// Wiring: forwarders → dispatcher → ingest server; store → worker pool; signals → graceful stop or reload.
#include "app/daemon.hpp"

#include "admin/admin_server.hpp"
#include "config/config_error.hpp"
#include "config/config_problems.hpp"
#include "forwarders/registry.hpp"
#include "ingest/peer_identity.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace auditfwd {
namespace asio = boost::asio;

std::vector<ConfigProblem> forwarder_problems(const Config& config) {
  // Nothing runs: building a forwarder reads its files and opens no connection.
  asio::io_context scratch;
  NetServices net;
  ConfigProblems problems(config.file, config.positions.get());
  for (const auto& f : config.forwarders) {
    try {
      (void)make_forwarder(
          f, ForwarderContext{scratch.get_executor(), scratch.get_executor(), forwarder_logger(f.id), net});
    } catch (const ConfigError& e) {
      for (const auto& problem : e.problems()) problems.add(problem);
    }
  }
  return problems.list();
}

void validate_forwarders(const Config& config) {
  auto problems = forwarder_problems(config);
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

namespace {

std::vector<std::shared_ptr<ForwarderSlot>> build_slots(const Config& config, asio::io_context& io,
                                                        asio::thread_pool& blocking, NetServices& net) {
  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  for (const auto& f : config.forwarders) slots.push_back(build_slot(f, io, blocking, net));
  return slots;
}

// The config, once the dispatch rule holds (an async forwarder needs the store).
const Config& safe_to_dispatch(const Config& config) {
  check_dispatch_safety(config);
  return config;
}

std::unique_ptr<JobStore> open_store(const StoreConfig& config, spdlog::logger& log) {
  if (!config.enabled) {
    log.warn("store.enabled = false: every forwarder delivers sync; nothing survives a crash before delivery");
    return nullptr;
  }
  try {
    return std::make_unique<JobStore>(config);
  } catch (const std::exception& e) {
    throw StartupError(fmt::format("cannot open the job store at {}: {}", config.path, e.what()));
  }
}

// glibc gives each thread that contends for the allocator an arena of its own, up to
// 8 per core, and keeps the freed memory of each. The I/O threads, the store writer,
// its syncers and the workers all allocate per event, so the arenas multiplied the
// burst's peak RSS; two arenas measured 1–2 MiB lower and no slower (BENCHMARKS.md).
// MALLOC_ARENA_MAX in the environment still decides when it is set.
void limit_malloc_arenas() {
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
}

// Read once, before the first connection: every event is stamped with it.
void log_host(spdlog::logger& log) {
  const auto& host = local_host();
  log.debug("host: {} (machine id {}, boot id {})", host.hostname.empty() ? "unknown" : host.hostname,
            host.machine_id.empty() ? "unknown" : host.machine_id, host.boot_id.empty() ? "unknown" : host.boot_id);
}

}  // namespace

Daemon::Daemon(const Config& config, std::string config_path)
    : config_(safe_to_dispatch(config)),
      config_path_(std::move(config_path)),
      log_(spdlog::default_logger()->clone("daemon")),
      io_(config_.workers.threads),
      store_(open_store(config_.store, *log_)),
      dispatcher_(watched_forwarder_set(io_, build_slots(config_, io_, blocking_, net_), initial_set_released_),
                  store_.get()),
      server_(io_, config_.ingest, dispatcher_),
      pool_(store_ ? std::make_unique<WorkerPool>(io_, dispatcher_.forwarders()->slots, *store_, config_.workers)
                   : nullptr),
      reloader_(Reloader::Parts{io_, blocking_, net_, dispatcher_, server_, pool_.get(), reload_counters_}, config_,
                config_path_, initial_set_released_),
      watchdog_(io_, WatchdogTiming::from_environment(),
                Watchdog::Sources{[this] { return dispatcher_.events_accepted(); },
                                  [this]() -> std::optional<std::uint64_t> {
                                    if (!store_) return std::nullopt;
                                    return store_->counters().pending_jobs;
                                  },
                                  [this]() -> std::optional<std::chrono::milliseconds> {
                                    if (!store_) return std::nullopt;
                                    return store_->stalled_for();
                                  }}),
      stop_(io_, server_, pool_.get(), reloader_, watchdog_, config_.workers.shutdown_grace, log_),
      signals_(io_, SignalHandler::Handlers{[this](int number) {
                                              log_->info("received {}", number == SIGTERM ? "SIGTERM" : "SIGINT");
                                              stop_.begin();
                                            },
                                            [this] { reloader_.request(); }}) {
  log_host(*log_);
}

Daemon::~Daemon() = default;

int Daemon::run() {
  if (pool_) {
    store_->start([pool = pool_.get()](const std::vector<std::string>& ids) { pool->notify(ids); });
    pool_->start();
  }
  try {
    server_.start();
    if (config_.admin.listen) {
      admin_ = std::make_unique<AdminServer>(config_, store_.get());
      admin_->start();
    }
  } catch (const std::exception& e) {
    log_->critical("cannot listen: {}", e.what());
    io_.stop();
    if (store_) store_->stop();
    return 1;
  }
  reloader_.start();
  signals_.start();

  sd_notify(0, "READY=1");
  watchdog_.start();
  log_->info("ready: {} forwarder(s), store {}", reloader_.forwarder_count(),
             store_ ? config_.store.path : std::string("disabled"));

  std::vector<std::thread> threads;
  for (int i = 1; i < config_.workers.threads; ++i) threads.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& thread : threads) thread.join();
  finish();
  log_->info("stopped");
  return 0;
}

void Daemon::finish() {
  if (admin_) admin_->stop();
  if (store_) store_->stop();  // releases jobs still executing back to available
  reloader_.stop_forwarders();
  if (stop_.abandoned_work()) {
    // Coroutines still suspended when the grace ran out refer to the server,
    // dispatcher, forwarders and store: their frames go now, while all of
    // those are alive, and with them the handlers the store still holds.
    io_.shutdown();
    store_.reset();
  }
}

int run_daemon(const Config& config, const std::string& config_path) {
  ignore_outcome_signals();
  limit_malloc_arenas();
  std::unique_ptr<Daemon> daemon;
  try {
    daemon = std::make_unique<Daemon>(config, config_path);
  } catch (const StartupError& e) {
    spdlog::default_logger()->clone("daemon")->critical("{}", e.what());
    return 1;
  }
  return daemon->run();
}

}  // namespace auditfwd
