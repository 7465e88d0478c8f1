// The daemon's configuration, loaded from TOML or JSON (one structure for both).
#pragma once

#include "config/admin_address.hpp"
#include "config/config_error.hpp"
#include "config/source_positions.hpp"
#include "event/action_pattern.hpp"

#include <sys/types.h>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace auditfwd {

using std::chrono::milliseconds;

enum class DispatchMode { automatic, async, sync };
enum class BackoffKind { sigra, exponential, fixed };

struct RetryPolicy {
  int max_attempts = 20;
  BackoffKind backoff = BackoffKind::sigra;
  milliseconds backoff_min{std::chrono::seconds{1}};
  // Cap for "exponential" (default 1h); "sigra" is uncapped unless it is set.
  std::optional<milliseconds> backoff_max;
};

// The canonical keys of one [[forwarders]] entry. Keys that belong to the
// forwarder's type stay in `options` (already ${ENV}-substituted) for the
// type's factory to validate.
struct ForwarderConfig {
  std::string id;
  std::string type;
  DispatchMode dispatch = DispatchMode::automatic;
  milliseconds timeout{std::chrono::seconds{5}};
  int concurrency = 1;
  RetryPolicy retry;
  boost::json::object options;
  std::string file;  // the config file, for error messages
  std::string path;  // "forwarders[2]", for error messages
};

// One [[ingest.allow]] rule (see ingest/ingest_policy.hpp for how rules decide).
// The sender criteria it sets must all hold; within one, any listed value matches
// (`uids` and `users` are one criterion, as are `gids` and `groups`). A rule sets
// at least one criterion, or `any_sender = true`.
struct AllowRule {
  std::string path;  // "ingest.allow[0]": how replies and logs name the rule
  std::string name;  // optional, shown beside the path
  bool any_sender = false;
  std::vector<uid_t> uids;
  std::vector<std::string> users;
  std::vector<gid_t> gids;  // the primary group (SO_PEERCRED)
  std::vector<std::string> groups;
  std::vector<std::string> units;  // systemd units, exactly as the sender's `unit`
  std::vector<std::string> exes;   // absolute paths, exactly as the sender's `exe`
  std::vector<ActionPattern> actions;
  std::optional<double> max_events_per_second;  // none: no rate limit
  std::int64_t burst = 1;                       // with a rate: tokens the bucket holds
};

struct IngestConfig {
  std::string socket = "./var/auditfwd.sock";
  std::optional<unsigned> socket_mode;  // e.g. 0660; default: umask
  std::size_t max_event_bytes = 64 * 1024;
  std::size_t max_metadata_bytes = 8192;
  std::size_t max_nesting_depth = 32;  // levels of a line; the event object is level 1, metadata 2
  std::size_t max_connections = 1024;
  // Metadata keys refused besides DESIGN.md's list, compared like it (NFKC case folded, separators removed).
  std::vector<std::string> forbidden_keys;
  std::size_t max_connections_per_uid = 256;                    // root is exempt
  std::size_t reserved_root_connections = 4;                    // of max_connections, taken by root only
  milliseconds idle_timeout{std::chrono::minutes{5}};           // nothing read or written for this long: closed
  milliseconds partial_line_timeout{std::chrono::seconds{30}};  // a line unfinished for this long: closed
  // Buffered input and unsent replies: across all connections, and per connection.
  std::size_t max_buffered_bytes = 16 * 1024 * 1024;
  std::size_t max_connection_buffered_bytes = 1024 * 1024;
  // [[ingest.allow]]: none means any sender may send any action.
  std::vector<AllowRule> allow;
};

struct StoreConfig {
  bool enabled = true;
  std::string path = "./var/auditfwd.db";
  bool durability_fsync = true;  // "fsync" → synchronous=FULL; "os" → NORMAL
  std::uint64_t max_pending_jobs = 10'000'000;
  std::uint64_t max_bytes = 0;          // 0: no limit besides the disk
  milliseconds completed_retention{0};  // 0: a delivered job is deleted at once
  // Discarded and cancelled jobs are pruned this long after they ended; none
  // (the default): kept until the operator purges them (DESIGN.md: audit
  // events are never deleted unasked).
  std::optional<milliseconds> dead_retention;
  milliseconds idempotency_window{std::chrono::hours{24}};
  // At low rates, how long a small commit waits for more events to share its
  // page writes (PostgreSQL's commit_delay). 0: commit at once.
  milliseconds commit_delay{0};
};

struct WorkersConfig {
  int threads = 2;  // I/O threads shared by sessions and workers
  milliseconds poll_interval{std::chrono::seconds{1}};
  milliseconds shutdown_grace{std::chrono::seconds{10}};
  int claim_batch = 500;  // jobs claimed per delivery when the forwarder batches
};

// How the daemon's own log lines are written (stderr; see app/logging.hpp).
enum class LogFormat { text, json };

struct LogConfig {
  std::string level = "info";
  LogFormat format = LogFormat::text;  // "json": one JSON object per line
};

// [admin]: the HTTP endpoint for metrics, health and the event tap; off when absent.
struct AdminConfig {
  std::optional<AdminAddress> listen;
};

struct Config {
  std::string file;  // where it came from: a path, or "<embedded default>"
  // Where each key is in the file, to place problems found after loading
  // (a forwarder's type keys); null when not loaded from text.
  std::shared_ptr<const SourcePositions> positions;
  IngestConfig ingest;
  StoreConfig store;
  WorkersConfig workers;
  LogConfig log;
  AdminConfig admin;
  std::vector<ForwarderConfig> forwarders;
};

struct LoadOptions {
  // ${VAR} of an unset variable below `forwarders` is left as written instead
  // of refused: for the commands that read only the socket and store paths
  // (jobs, send), which must work without the forwarders' secrets.
  bool forwarder_secrets_optional = false;
};

// A config as loaded with every problem found in it (none: it is valid).
// With problems, `config` holds what could be read, with defaults in place
// of the refused values: good for checking more (forwarder types), never for running.
struct ConfigLoad {
  Config config;
  std::vector<ConfigProblem> problems;
};

// Reads `path` (.toml or .json by extension) and checks it all, telling a
// missing file, an unreadable one and malformed text apart.
// Structural checks only: forwarder-type keys are checked when the forwarders
// are built (see forwarders/registry.hpp), and check-config does both.
ConfigLoad check_config_file(const std::string& path, const LoadOptions& options = {});
// The same for text in the given format ("toml" or "json"); `file` names it in problems.
ConfigLoad check_config_text(const std::string& text, const std::string& format, const std::string& file,
                             const LoadOptions& options = {});

// In the order of the text (stable: problems at one place keep their order), as a compiler lists them.
void sort_by_position(std::vector<ConfigProblem>& problems);

// As above, but throws ConfigError carrying every problem when there is one.
Config load_config_file(const std::string& path, const LoadOptions& options = {});
Config load_config_text(const std::string& text, const std::string& format, const std::string& file,
                        const LoadOptions& options = {});

// The embedded default: socket and database under ./var, a stdout forwarder
// (sync) and a file forwarder at ./var/audit.log (auto).
const std::string& embedded_default_config();

// Boot-time safety rule: async without a store is refused, naming each such
// forwarder and the three fixes. The problems (none when safe), or thrown as ConfigError.
std::vector<ConfigProblem> dispatch_safety_problems(const Config& config);
void check_dispatch_safety(const Config& config);

}  // namespace auditfwd
