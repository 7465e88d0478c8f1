// Wiring: forwarders → dispatcher → ingest server; store → worker pool; signals → graceful stop.
#include "app/daemon.hpp"

#include "admin/admin_server.hpp"
#include "config/config_error.hpp"
#include "config/config_problems.hpp"
#include "dispatch/dispatcher.hpp"
#include "forwarders/registry.hpp"
#include "ingest/peer_identity.hpp"
#include "ingest/unix_server.hpp"
#include "store/job_store.hpp"
#include "workers/worker_pool.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
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

std::vector<ForwarderSlot> build_slots(const Config& config, asio::io_context& io, asio::thread_pool& blocking,
                                       NetServices& net) {
  std::vector<ForwarderSlot> slots;
  for (const auto& f : config.forwarders) {
    ForwarderContext context{io.get_executor(), blocking.get_executor(), forwarder_logger(f.id), net};
    ForwarderSlot slot{f, make_forwarder(f, context), context.log};  // one logger for the forwarder and its slot
    slots.push_back(std::move(slot));
  }
  return slots;
}

// An io_context whose suspended coroutines can be destroyed before the
// objects they refer to: shutdown() destroys every handler still queued (and
// with them the coroutine frames waiting on them), which ~io_context would
// otherwise do only after the server, dispatcher and forwarders are gone.
class IoContext : public asio::io_context {
 public:
  using asio::execution_context::shutdown;
  using asio::io_context::io_context;
};

// glibc gives each thread that contends for the allocator an arena of its own, up to
// 8 per core, and keeps the freed memory of each. The I/O threads, the store writer,
// its syncers and the workers all allocate per event, so the arenas multiplied the
// burst's peak RSS; two arenas measured 1–2 MiB lower and no slower (BENCHMARKS.md).
// MALLOC_ARENA_MAX in the environment still decides when it is set.
void limit_malloc_arenas() {
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
}

}  // namespace

int run_daemon(const Config& config, const std::string& config_path) {
  std::signal(SIGPIPE, SIG_IGN);  // a dead exec child or peer is an EPIPE outcome, not the daemon's death
  limit_malloc_arenas();
  // A file size limit (RLIMIT_FSIZE) reached by an output file is an EFBIG
  // outcome: the write is undone and retried, instead of the daemon being killed mid-line.
  std::signal(SIGXFSZ, SIG_IGN);
  auto log = spdlog::default_logger()->clone("daemon");
  check_dispatch_safety(config);
  IoContext io(config.workers.threads);  // first: destroyed last
  // Declared before the forwarders, which use them until the end.
  asio::thread_pool blocking(2);  // file and stdout writes, so a slow disk never holds an I/O thread
  NetServices net;
  auto slots = build_slots(config, io, blocking, net);

  std::unique_ptr<JobStore> store;
  if (config.store.enabled) {
    try {
      store = std::make_unique<JobStore>(config.store);
    } catch (const std::exception& e) {
      log->critical("cannot open the job store at {}: {}", config.store.path, e.what());
      return 1;
    }
  } else {
    log->warn("store.enabled = false: every forwarder delivers sync; nothing survives a crash before delivery");
  }

  // Read once, before the first connection: every event is stamped with it.
  const auto& host = local_host();
  log->debug("host: {} (machine id {}, boot id {})", host.hostname.empty() ? "unknown" : host.hostname,
             host.machine_id.empty() ? "unknown" : host.machine_id, host.boot_id.empty() ? "unknown" : host.boot_id);
  Dispatcher dispatcher(slots, store.get());
  UnixServer server(io, config.ingest, dispatcher);
  std::unique_ptr<WorkerPool> pool;
  if (store) {
    pool = std::make_unique<WorkerPool>(io, slots, *store, config.workers);
    store->start([&pool](const std::vector<std::string>& ids) { pool->notify(ids); });
    pool->start();
  }
  std::unique_ptr<AdminServer> admin;
  try {
    server.start();
    if (config.admin.listen) {
      admin = std::make_unique<AdminServer>(config, store.get());
      admin->start();
    }
  } catch (const std::exception& e) {
    log->critical("cannot listen: {}", e.what());
    io.stop();
    if (store) store->stop();
    return 1;
  }

  bool abandoned_work = false;  // coroutines still suspended when the grace ran out
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  auto shutdown = [&]() -> asio::awaitable<void> {
    sd_notify(0, "STOPPING=1");
    log->info("stopping: no new connections; answering what was read, then draining deliveries in flight");
    co_await server.stop(config.workers.shutdown_grace);
    if (pool) co_await pool->drain(config.workers.shutdown_grace);
    abandoned_work = server.active_sessions() > 0 || (pool && pool->running() > 0);
    io.stop();
  };
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code error, int number) {
    if (error) return;
    if (number == SIGHUP) {
      log->info("SIGHUP: reopening output files");
      for (auto& slot : slots) slot.forwarder->reopen();
      if (!config_path.empty()) {
        try {
          const auto fresh = load_config_file(config_path);
          validate_forwarders(fresh);
          log->info("{} is valid; changes other than reopened files take effect at the next restart", config_path);
        } catch (const std::exception& e) {
          log->error("SIGHUP: the config on disk is invalid and was not applied: {}", e.what());
        }
      }
      signals.async_wait(on_signal);
      return;
    }
    log->info("received {}", number == SIGTERM ? "SIGTERM" : "SIGINT");
    asio::co_spawn(io, shutdown(), [log](std::exception_ptr e) {
      if (e) log->critical("shutdown sequence failed");
    });
  };
  signals.async_wait(on_signal);

  sd_notify(0, "READY=1");
  log->info("ready: {} forwarder(s), store {}", slots.size(), store ? config.store.path : std::string("disabled"));

  std::vector<std::thread> threads;
  for (int i = 1; i < config.workers.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();

  if (admin) admin->stop();
  if (store) store->stop();  // releases jobs still executing back to available
  for (auto& slot : slots) slot.forwarder->stop();
  if (abandoned_work) {
    // Coroutines still suspended when the grace ran out refer to the server,
    // dispatcher, forwarders and store: their frames go now, while all of
    // those are alive, and with them the handlers the store still holds.
    io.shutdown();
    store.reset();
  }
  log->info("stopped");
  return 0;
}

}  // namespace auditfwd
