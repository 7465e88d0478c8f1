// One reload: read, check, refuse or apply (ingest, log level, forwarders), then retire what was replaced.
#include "app/reload.hpp"

#include "app/logging.hpp"
#include "common/time_format.hpp"
#include "config/config_error.hpp"
#include "config/config_problems.hpp"
#include "forwarders/registry.hpp"
#include "metrics/daemon_metrics.hpp"
#include "store/job_admin.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

namespace auditfwd {
namespace asio = boost::asio;

std::shared_ptr<const ForwarderSet> watched_forwarder_set(asio::io_context& io,
                                                          std::vector<std::shared_ptr<ForwarderSlot>> slots,
                                                          std::shared_ptr<SetReleased>& released) {
  released = std::make_shared<SetReleased>(io.get_executor(), 1);
  return make_forwarder_set(std::move(slots), [watch = released] { watch->try_send(boost::system::error_code{}); });
}

std::shared_ptr<ForwarderSlot> build_slot(const ForwarderConfig& config, asio::io_context& io,
                                          asio::thread_pool& blocking, NetServices& net) {
  ForwarderContext context{io.get_executor(), blocking.get_executor(), forwarder_logger(config.id), net};
  auto forwarder = make_forwarder(config, context);
  return std::make_shared<ForwarderSlot>(
      ForwarderSlot{config, std::move(forwarder), context.log});  // one logger for the forwarder and its slot
}

Reloader::Reloader(Parts parts, Config running, std::string config_path, std::shared_ptr<SetReleased> initial_released)
    : parts_(parts),
      running_(std::move(running)),
      config_path_(std::move(config_path)),
      log_(spdlog::default_logger()->clone("reload")),
      current_slots_(parts.dispatcher.forwarders()->slots),
      current_released_(std::move(initial_released)),
      strand_(asio::make_strand(parts.io)),
      requested_(strand_),
      tasks_(parts.io.get_executor()) {}

void Reloader::start() {
  tasks_.spawn(strand_, serve(), [log = log_](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log->critical("the reloader ended by an exception (a bug); SIGHUP is ignored from now on: {}", e.what());
    }
  });
}

void Reloader::request() {
  asio::post(strand_, [this] { requested_.notify(); });
}

asio::awaitable<void> Reloader::stop(std::chrono::steady_clock::time_point deadline) {
  asio::post(strand_, [this] { requested_.close(); });
  if (!co_await tasks_.wait_until(deadline)) log_->warn("a reload was still in progress at the end of the grace");
}

asio::awaitable<void> Reloader::serve() {
  while (co_await requested_.wait()) {
    std::string failure;
    try {
      co_await reload_once();
    } catch (const std::exception& e) {  // a bug or a broken environment: this reload only
      failure = e.what();
    }
    if (!failure.empty()) refuse("the reload failed part-way (" + failure + "); what it applied so far stays");
  }
}

namespace {
// "<file> is invalid: <first problem> (and N more)": the reason counted and logged last.
std::string invalid_file(const std::string& path, const std::vector<std::string>& problems) {
  if (problems.empty()) return path + " is invalid";
  if (problems.size() == 1) return fmt::format("{} is invalid: {}", path, problems.front());
  return fmt::format("{} is invalid: {} (and {} more problem(s) above)", path, problems.front(), problems.size() - 1);
}
}  // namespace

namespace {
// "N job(s) of it stay in the store (3 available, 1 retryable)". Blocking: SQLite.
asio::awaitable<std::string> count_jobs(std::string db_path, std::string forwarder_id) {
  std::int64_t total = 0;
  std::vector<std::string> by_state;
  for (const auto& [forwarder, state, count] : store_stats(db_path).jobs_by_state) {
    if (forwarder != forwarder_id || count == 0) continue;
    total += count;
    by_state.push_back(fmt::format("{} {}", count, state));
  }
  co_return fmt::format("{} job(s) of it stay in the store ({})", total,
                        by_state.empty() ? std::string("none") : fmt::format("{}", fmt::join(by_state, ", ")));
}
}  // namespace

void Reloader::refuse(const std::string& reason, const std::vector<std::string>& problems) {
  for (const auto& problem : problems) log_->error("{}", problem);
  log_->error("SIGHUP: {}; the running config stays", reason);
  parts_.counters.record(ReloadCounters::Result::failed, reason, unix_millis_now());
  daemon_metrics().config_reloads_failed.add();
}

asio::awaitable<void> Reloader::reload_once() {
  log_->info("SIGHUP: reopening output files");
  for (const auto& slot : current_slots_) slot->forwarder->reopen();
  if (config_path_.empty()) {
    log_->info("SIGHUP: running the embedded default config: no file to re-read");
    co_return;
  }

  Config fresh;
  try {
    fresh = load_config_file(config_path_);
    check_dispatch_safety(fresh);
  } catch (const ConfigError& e) {
    std::vector<std::string> lines;
    for (const auto& problem : e.problems()) lines.push_back(problem.text());
    refuse(invalid_file(config_path_, lines), lines);
    co_return;
  } catch (const std::exception& e) {
    refuse(fmt::format("{} could not be read: {}", config_path_, e.what()));
    co_return;
  }
  if (const auto restart = restart_only_changes(running_, fresh); !restart.empty()) {
    refuse(
        fmt::format("{} changes {}: a running daemon cannot; restart it to apply the new config (nothing of it "
                    "was applied)",
                    config_path_, fmt::join(restart, ", ")));
    co_return;
  }

  // Every new instance is built before anything changes: a refused type key refuses it all.
  const auto changes = diff_forwarders(running_.forwarders, fresh.forwarders);
  std::map<std::string, std::shared_ptr<ForwarderSlot>> built;
  ConfigProblems problems(fresh.file, fresh.positions.get());
  for (const auto& f : fresh.forwarders) {
    if (std::find(changes.unchanged.begin(), changes.unchanged.end(), f.id) != changes.unchanged.end()) continue;
    try {
      built[f.id] = build_slot(f, parts_.io, parts_.blocking, parts_.net);
    } catch (const ConfigError& e) {
      for (const auto& problem : e.problems()) problems.add(problem);
    }
  }
  if (!problems.list().empty()) {
    std::vector<std::string> lines;
    for (const auto& problem : problems.list()) lines.push_back(problem.text());
    refuse(invalid_file(config_path_, lines), lines);
    co_return;
  }

  for (const auto& key : deferred_changes(running_, fresh))
    log_->warn("SIGHUP: {} changed: kept as it is until the next restart", key);
  parts_.server.apply(fresh.ingest);
  if (fresh.log.level != running_.log.level) {
    log_->info("SIGHUP: log.level {} → {}", running_.log.level, fresh.log.level);  // before: seen at either level
    set_log_level(fresh.log.level);
  }

  std::vector<std::shared_ptr<ForwarderSlot>> slots;
  for (const auto& f : fresh.forwarders) {
    if (auto it = built.find(f.id); it != built.end()) {
      slots.push_back(it->second);
      continue;
    }
    slots.push_back(*std::find_if(current_slots_.begin(), current_slots_.end(),
                                  [&](const auto& slot) { return slot->config.id == f.id; }));
  }
  std::vector<std::shared_ptr<ForwarderSlot>> retired;
  auto longest_timeout = std::chrono::milliseconds{0};
  for (const auto& slot : current_slots_) {
    longest_timeout = std::max(longest_timeout, slot->config.timeout);
    if (std::find(changes.unchanged.begin(), changes.unchanged.end(), slot->config.id) == changes.unchanged.end())
      retired.push_back(slot);
  }
  std::shared_ptr<SetReleased> released;
  parts_.dispatcher.replace_forwarders(watched_forwarder_set(parts_.io, slots, released));
  auto previous_released = std::exchange(current_released_, std::move(released));
  current_slots_ = std::move(slots);
  running_.ingest = fresh.ingest;
  running_.log.level = fresh.log.level;
  running_.forwarders = fresh.forwarders;

  // The worker pool follows: the dispatcher already routes by the new set.
  for (const auto& id : changes.added) {
    daemon_metrics().forwarder(id);  // its series show from now on, at 0
    if (parts_.pool) co_await parts_.pool->add(built.at(id));
    log_->info("SIGHUP: forwarder {} added", id);
  }
  for (const auto& id : changes.changed) {
    if (parts_.pool) co_await parts_.pool->replace(built.at(id));
    log_->info("SIGHUP: forwarder {} replaced with its new settings; its queued jobs go to the new one", id);
  }
  for (const auto& id : changes.removed) {
    std::size_t handed_back = 0;
    if (parts_.pool) handed_back = co_await parts_.pool->remove(id);
    co_await report_left_jobs(id, handed_back);
  }
  co_await retire(std::move(previous_released), std::move(retired),
                  std::chrono::steady_clock::now() + longest_timeout + running_.workers.shutdown_grace);
  log_->info("SIGHUP: {} applied: {} forwarder(s) ({} added, {} changed, {} removed, {} unchanged)", config_path_,
             current_slots_.size(), changes.added.size(), changes.changed.size(), changes.removed.size(),
             changes.unchanged.size());
  parts_.counters.record(ReloadCounters::Result::ok, {}, unix_millis_now());
  daemon_metrics().config_reloads_ok.add();
}

asio::awaitable<void> Reloader::retire(std::shared_ptr<SetReleased> released,
                                       std::vector<std::shared_ptr<ForwarderSlot>> retired,
                                       std::chrono::steady_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto woken = co_await (released->async_receive(asio::as_tuple(asio::use_awaitable)) ||
                         timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (woken.index() != 0) {
    log_->warn("SIGHUP: connections still deliver through {} replaced forwarder(s); they stop at the daemon's end",
               retired.size());
    still_in_use_.insert(still_in_use_.end(), retired.begin(), retired.end());
    co_return;
  }
  for (const auto& slot : retired) {
    slot->forwarder->stop();
    stopped_.push_back(slot);
  }
}

asio::awaitable<void> Reloader::report_left_jobs(const std::string& forwarder_id, std::size_t handed_back) {
  const std::string hint = fmt::format(
      "list them with `auditfwd jobs list --forwarder {0}`, drop them with "
      "`auditfwd jobs purge --forwarder {0}`, or add the forwarder again to deliver "
      "them",
      forwarder_id);
  if (!running_.store.enabled) {
    log_->info("SIGHUP: forwarder {} removed after its deliveries in flight", forwarder_id);
    co_return;
  }
  // A read of its own beside the writer, off the I/O threads.
  auto [error, summary] = co_await asio::co_spawn(parts_.blocking, count_jobs(running_.store.path, forwarder_id),
                                                  asio::as_tuple(asio::use_awaitable));
  if (error) summary = "its jobs stay in the store (they could not be counted)";
  log_->info("SIGHUP: forwarder {} removed after its deliveries in flight ({} handed-over job(s) put back); {}; {}",
             forwarder_id, handed_back, summary, hint);
}

void Reloader::stop_forwarders() {
  for (const auto& slot : current_slots_) slot->forwarder->stop();
  for (const auto& slot : still_in_use_) slot->forwarder->stop();
  still_in_use_.clear();
}

}  // namespace auditfwd
