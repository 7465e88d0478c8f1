// Fuzzes load_config_text for one format (AUDITFWD_FUZZ_CONFIG_FORMAT: "toml" or
// "json"; built twice), the parse and validation that the daemon, check-config and
// SIGHUP run on the config file. Type-specific forwarder keys are checked when the
// forwarders are built (make_forwarder), which reads key files: not fuzzed here.
//
// Invariants:
//  - loading either returns a Config or throws ConfigError carrying at least one
//    problem, each naming the file (its text starts with "<file>:"), with a key and a
//    reason, and a line and column of 1 or more (a text always has a place);
//    nothing else escapes (no std::out_of_range, bad_alloc, ...);
//  - check_config_text finds exactly the problems load_config_text throws;
//  - an accepted Config holds what the loader promises: the ingest, store and
//    workers values within their documented ranges, at least one forwarder, each
//    with a valid, unique id, a type, a positive timeout and its concurrency range;
//  - check_dispatch_safety on it, too, throws nothing but ConfigError;
//  - loading is deterministic: the same text loads to the same outcome twice.
#include "config/config.hpp"
#include "config/config_error.hpp"
#include "fuzz_check.hpp"

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>

#ifndef AUDITFWD_FUZZ_CONFIG_FORMAT
#error "define AUDITFWD_FUZZ_CONFIG_FORMAT as \"toml\" or \"json\""
#endif

using namespace auditfwd;

namespace {

const std::string file_name = "fuzz." AUDITFWD_FUZZ_CONFIG_FORMAT;

bool is_forwarder_id(const std::string& id) {
  if (id.empty() || id.size() > 64 || !std::isalnum(static_cast<unsigned char>(id.front()))) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

constexpr std::chrono::milliseconds hundred_years = std::chrono::hours(24 * 365 * 100);

void check_config(const Config& config) {
  FUZZ_CHECK(config.file == file_name);
  const auto& ingest = config.ingest;
  FUZZ_CHECK(!ingest.socket.empty());
  FUZZ_CHECK(ingest.socket_mode <= 0777);
  FUZZ_CHECK(ingest.max_event_bytes >= 256 && ingest.max_event_bytes <= 16 * 1024 * 1024);
  FUZZ_CHECK(ingest.max_nesting_depth >= 2 && ingest.max_nesting_depth <= 256);
  FUZZ_CHECK(ingest.max_connections >= 1 && ingest.max_connections <= 1'000'000);
  FUZZ_CHECK(ingest.reserved_root_connections < ingest.max_connections);
  FUZZ_CHECK(ingest.max_connections_per_uid >= 1 && ingest.max_connections_per_uid <= ingest.max_connections);
  FUZZ_CHECK(ingest.idle_timeout >= std::chrono::milliseconds(100));
  FUZZ_CHECK(ingest.partial_line_timeout >= std::chrono::milliseconds(100));
  FUZZ_CHECK(ingest.max_connection_buffered_bytes >= ingest.max_event_bytes + 256 * 1024);
  FUZZ_CHECK(ingest.max_connection_buffered_bytes <= (std::uint64_t{1} << 30));
  FUZZ_CHECK(ingest.max_buffered_bytes >= ingest.max_connection_buffered_bytes);
  FUZZ_CHECK(ingest.max_buffered_bytes <= (std::uint64_t{1} << 40));
  FUZZ_CHECK(!config.store.path.empty());
  FUZZ_CHECK(config.store.max_pending_jobs >= 1);
  FUZZ_CHECK(config.store.commit_delay <= std::chrono::seconds(1));
  for (auto duration :
       {ingest.idle_timeout, ingest.partial_line_timeout, config.store.completed_retention,
        config.store.dead_retention.value_or(std::chrono::milliseconds{0}), config.store.idempotency_window,
        config.store.commit_delay, config.workers.poll_interval, config.workers.shutdown_grace})
    FUZZ_CHECK(duration.count() >= 0 && duration <= hundred_years);
  FUZZ_CHECK(config.workers.threads >= 1 && config.workers.threads <= 256);
  FUZZ_CHECK(config.workers.poll_interval.count() >= 10);
  FUZZ_CHECK(config.workers.claim_batch >= 1 && config.workers.claim_batch <= 10000);
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  FUZZ_CHECK(levels.contains(config.log.level));
  FUZZ_CHECK(!config.forwarders.empty());
  std::set<std::string> ids;
  for (const auto& f : config.forwarders) {
    FUZZ_CHECK(is_forwarder_id(f.id));
    FUZZ_CHECK(ids.insert(f.id).second);
    FUZZ_CHECK(f.timeout.count() > 0);
    FUZZ_CHECK(f.concurrency >= 1 && f.concurrency <= 1024);
    FUZZ_CHECK(f.file == file_name);
    FUZZ_CHECK(f.timeout <= hundred_years);
    FUZZ_CHECK(f.retry.max_attempts >= 1 && f.retry.max_attempts <= 1000);
    FUZZ_CHECK(f.retry.backoff_min.count() >= 0 && f.retry.backoff_min <= hundred_years);
    if (f.retry.backoff_max)
      FUZZ_CHECK(*f.retry.backoff_max >= f.retry.backoff_min && *f.retry.backoff_max <= hundred_years);
    for (const auto& [key, _] : f.options)
      FUZZ_CHECK(key != "id" && key != "type" && key != "dispatch" && key != "timeout" && key != "concurrency");
  }
}

// "ok" or the ConfigError's text; anything else thrown aborts with its message.
std::string load(const std::string& text) {
  try {
    const Config config = load_config_text(text, AUDITFWD_FUZZ_CONFIG_FORMAT, file_name);
    check_config(config);
    try {
      check_dispatch_safety(config);
    } catch (const ConfigError&) {
    }
    return "ok";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    FUZZ_CHECK(!e.problems().empty());
    for (const auto& problem : e.problems()) {
      FUZZ_CHECK(problem.file == file_name);
      FUZZ_CHECK(problem.text().rfind(file_name + ":", 0) == 0);
      FUZZ_CHECK(!problem.key.empty() && !problem.reason.empty());
      FUZZ_CHECK(problem.line >= 1 && problem.column >= 1);
    }
    const auto checked = check_config_text(text, AUDITFWD_FUZZ_CONFIG_FORMAT, file_name);
    FUZZ_CHECK(checked.problems.size() == e.problems().size());
    for (std::size_t i = 0; i < checked.problems.size(); ++i)
      FUZZ_CHECK(checked.problems[i].text() == e.problems()[i].text());
    return what;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_config_text threw something other than ConfigError: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "load_config_text threw a non-std exception\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // ${NAME} substitution: one variable that is set, so both branches are reachable.
  ::setenv("AUDITFWD_FUZZ", "value", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto first = load(text);
  FUZZ_CHECK(load(text) == first);
  return 0;
}
