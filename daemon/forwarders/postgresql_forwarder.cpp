// One libpq connection per forwarder, used only on a thread of its own, one batch at a time. A delivery
// cut off by its timeout returns at once; its statement finishes on that thread, and a retry finds the
// rows it stored (the conflict on `id` skips them).
#include "forwarders/postgresql_forwarder.hpp"

#include "common/async_mutex.hpp"
#include "forwarders/libpq_library.hpp"
#include "forwarders/postgresql_outcome.hpp"
#include "forwarders/postgresql_settings.hpp"
#include "forwarders/secret_redactor.hpp"

#include <fmt/format.h>
#include <spdlog/logger.h>
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>

namespace auditfwd {
namespace {

namespace asio = boost::asio;

constexpr const char* insert_statement_name = "auditfwd_insert";

// Every row from one parameter, a JSON array of the events: no SQL is ever built from event data.
std::string insert_sql(const std::string& table) {
  return fmt::format(
      "INSERT INTO {} (id, occurred_at, action, outcome, actor_id, actor_type, target_id, target_type, "
      "organization_id, effective_user_id, ip_address, user_agent, metadata, source, host, received_at) "
      "SELECT (e->>'id')::uuid, (e->>'occurred_at')::timestamptz, e->>'action', e->>'outcome', "
      "(e->>'actor_id')::uuid, e->>'actor_type', (e->>'target_id')::uuid, e->>'target_type', "
      "(e->>'organization_id')::uuid, (e->>'effective_user_id')::uuid, (e->>'ip_address')::inet, "
      "e->>'user_agent', e->'metadata', e->'source', e->'host', (e->>'received_at')::timestamptz "
      "FROM jsonb_array_elements($1::jsonb) AS e ON CONFLICT (id) DO NOTHING",
      table);
}

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The connection and what may touch it: shared with the inserts running on the blocking pool, which may
// outlive a delivery cut off by its timeout (and the forwarder itself, at shutdown).
class Connection {
 public:
  Connection(PostgresqlSettings settings, std::chrono::milliseconds timeout, std::shared_ptr<spdlog::logger> log,
             const asio::any_io_executor& executor)
      : turn(executor),
        settings_(std::move(settings)),
        timeout_(timeout),
        redactor_(settings_.secrets),
        log_(std::move(log)) {}
  ~Connection() { close(); }

  AsyncMutex turn;  // one batch at a time: a delivery holds it until its insert is done, even past its timeout

  // Inserts the events (JSON texts) in one statement; on a data error, halves by halves, so only the
  // faulty rows are refused, in a few statements (about 2 log2(n) per faulty row) rather than n.
  BatchOutcome insert(const std::vector<std::string>& events) {
    std::lock_guard lock(mutex_);
    if (auto error = connect(); !error.empty())
      return same_outcome(events.size(), DeliveryOutcome::retry(redactor_.redact(error)));
    BatchOutcome outcomes(events.size());
    insert_halving(events, 0, events.size(), outcomes);
    return outcomes;
  }

  // After the forwarder stopped (shutdown, or a reload replaced it): closes the connection, and an
  // insert still queued opens no new one.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    drop();
  }

 private:
  // Returns why there is no usable connection, or "".
  std::string connect() {
    if (closed_) return "postgresql: the forwarder was stopped";
    if (connection_ && libpq().PQstatus(connection_) == CONNECTION_OK) return {};
    drop();
    const auto seconds = std::to_string(std::max<long long>(2, (timeout_.count() + 999) / 1000));
    // Later entries win: the configured string (expanded from dbname) may set its own values for these.
    const char* keywords[] = {"connect_timeout",
                              "fallback_application_name",
                              "keepalives_idle",
                              "keepalives_interval",
                              "keepalives_count",
                              "dbname",
                              nullptr};
    const char* values[] = {seconds.c_str(), "auditfwd", "10", "5", "3", settings_.conninfo.c_str(), nullptr};
    connection_ = libpq().PQconnectdbParams(keywords, values, 1);
    if (!connection_) return "postgresql: out of memory";
    if (libpq().PQstatus(connection_) != CONNECTION_OK) {
      auto error = postgresql_outcome("", libpq().PQerrorMessage(connection_)).reason;
      drop();
      return error;
    }
    std::string error;
    // The forwarder's timeout bounds each statement on the server too.
    if (!exec(fmt::format("SET statement_timeout = {}", timeout_.count()), error)) return error;
    if (settings_.create_table && !exec(postgresql_create_table_sql(settings_.table), error)) return error;
    Result prepared(
        libpq().PQprepare(connection_, insert_statement_name, insert_sql(settings_.table).c_str(), 1, nullptr),
        libpq().PQclear);
    if (libpq().PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      error = failure(prepared.get()).reason;
      drop();
      return error;
    }
    log_->info("connected to PostgreSQL (server {}), inserting into {}", libpq().PQserverVersion(connection_),
               settings_.table_display);
    return {};
  }

  bool exec(const std::string& sql, std::string& error) {
    Result result(libpq().PQexec(connection_, sql.c_str()), libpq().PQclear);
    if (libpq().PQresultStatus(result.get()) == PGRES_COMMAND_OK) return true;
    error = failure(result.get()).reason;
    drop();
    return false;
  }

  // Inserts events [begin, end) and records their outcomes; a row error splits the range in two.
  void insert_halving(const std::vector<std::string>& events, std::size_t begin, std::size_t end,
                      BatchOutcome& outcomes) {
    const auto outcome = insert_rows(events, begin, end);
    if (outcome.ok() || end - begin == 1 || !postgresql_row_error(last_sqlstate_)) {
      std::fill(outcomes.begin() + static_cast<std::ptrdiff_t>(begin),
                outcomes.begin() + static_cast<std::ptrdiff_t>(end), outcome);
      return;
    }
    const auto middle = begin + (end - begin) / 2;
    insert_halving(events, begin, middle, outcomes);
    insert_halving(events, middle, end, outcomes);
  }

  DeliveryOutcome insert_rows(const std::vector<std::string>& events, std::size_t begin, std::size_t end) {
    if (!connection_) return DeliveryOutcome::retry("postgresql: not connected (an earlier row broke the connection)");
    std::string array = "[";
    for (std::size_t i = begin; i < end; ++i) {
      if (i > begin) array += ',';
      array += events[i];
    }
    array += ']';
    const char* parameters[] = {array.c_str()};
    Result result(libpq().PQexecPrepared(connection_, insert_statement_name, 1, parameters, nullptr, nullptr, 0),
                  libpq().PQclear);
    if (libpq().PQresultStatus(result.get()) == PGRES_COMMAND_OK) {
      last_sqlstate_.clear();
      return DeliveryOutcome::success();
    }
    auto outcome = failure(result.get());
    // Anything but a refused row: start over on a new connection (it reruns CREATE TABLE for a table
    // dropped meanwhile, and finds the new primary after a failover left this one read-only).
    if (!postgresql_row_error(last_sqlstate_) || libpq().PQstatus(connection_) != CONNECTION_OK) drop();
    return outcome;
  }

  // The outcome of a failed result; remembers its SQLSTATE.
  DeliveryOutcome failure(const PGresult* result) {
    const char* sqlstate = result ? libpq().PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    last_sqlstate_ = sqlstate ? sqlstate : "";
    const char* message = result ? libpq().PQresultErrorMessage(result) : "";
    if (!message || !*message) message = libpq().PQerrorMessage(connection_);
    auto outcome = postgresql_outcome(last_sqlstate_, message);
    outcome.reason = redactor_.redact(outcome.reason);
    return outcome;
  }

  void drop() {
    if (connection_) libpq().PQfinish(connection_);
    connection_ = nullptr;
  }

  const PostgresqlSettings settings_;
  const std::chrono::milliseconds timeout_;
  const SecretRedactor redactor_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mutex_;
  PGconn* connection_ = nullptr;
  bool closed_ = false;
  std::string last_sqlstate_;
};

// One delivery's rows and its result, handed from the blocking pool back to the delivery's executor.
struct InsertJob {
  explicit InsertJob(const asio::any_io_executor& executor) : done(executor, 1) {}
  std::vector<std::string> events;
  BatchOutcome outcomes;
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

class PostgresqlForwarder final : public Forwarder {
 public:
  PostgresqlForwarder(std::shared_ptr<Connection> connection, std::vector<std::string> secrets)
      : connection_(std::move(connection)), secrets_(std::move(secrets)) {}

  ~PostgresqlForwarder() override {
    connection_->close();  // an insert still queued returns at once
    if (thread_) thread_->join();
  }

  std::vector<std::string> secrets() const override { return secrets_; }

  BatchLimits batch_limits() const override { return {500, 8 * 1024 * 1024, std::chrono::milliseconds{0}}; }

  asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    if (events.empty()) co_return BatchOutcome{};
    const auto timed_out = DeliveryOutcome::timeout(
        "timeout: PostgreSQL did not answer in time (an insert still running may store the rows; the retry skips "
        "them)");
    auto turn = co_await connection_->turn.lock();
    if (!turn) co_return same_outcome(events.size(), timed_out);
    auto job = std::make_shared<InsertJob>(co_await asio::this_coro::executor);
    job->events.reserve(events.size());
    for (const auto& event : events) job->events.push_back(event.json);
    asio::post(libpq_thread(), [connection = connection_, job, turn = std::move(turn)]() mutable {
      try {
        job->outcomes = connection->insert(job->events);
      } catch (const std::exception& e) {  // a bug or no memory: never an escaped exception on the pool
        job->outcomes =
            same_outcome(job->events.size(), DeliveryOutcome::retry(std::string("internal error: ") + e.what()));
      }
      turn = {};  // the next batch may start
      job->done.try_send(boost::system::error_code{});
    });
    auto [cancelled] = co_await job->done.async_receive(asio::as_tuple(asio::use_awaitable));
    if (cancelled) co_return same_outcome(events.size(), timed_out);
    co_return std::move(job->outcomes);
  }

  void stop() override { connection_->close(); }

 private:
  // libpq blocks for as long as a connect or a statement takes (up to the forwarder's timeout, and more
  // per host for an unreachable one): on a thread of its own, started by the first delivery, it never
  // holds the daemon's shared blocking pool, which file and stdout forwarders need. One is enough: the
  // connection takes one batch at a time.
  asio::thread_pool& libpq_thread() {
    std::call_once(thread_started_, [this] { thread_ = std::make_unique<asio::thread_pool>(1); });
    return *thread_;
  }

  std::shared_ptr<Connection> connection_;
  std::vector<std::string> secrets_;
  std::once_flag thread_started_;
  std::unique_ptr<asio::thread_pool> thread_;
};

}  // namespace

std::string postgresql_create_table_sql(const std::string& table) {
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS {} (\n"
      "  id uuid PRIMARY KEY,\n"
      "  occurred_at timestamptz NOT NULL,\n"
      "  action text NOT NULL,\n"
      "  outcome text NOT NULL,\n"
      "  actor_id uuid,\n"
      "  actor_type text,\n"
      "  target_id uuid,\n"
      "  target_type text,\n"
      "  organization_id uuid,\n"
      "  effective_user_id uuid,\n"
      "  ip_address inet,\n"
      "  user_agent text,\n"
      "  metadata jsonb,\n"
      "  source jsonb,\n"
      "  host jsonb,\n"
      "  received_at timestamptz NOT NULL\n"
      ")",
      table);
}

std::unique_ptr<Forwarder> make_postgresql_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  auto settings = parse_postgresql_settings(config);
  auto secrets = settings.secrets;
  auto connection = std::make_shared<Connection>(std::move(settings), config.timeout, context.log, context.executor);
  return std::make_unique<PostgresqlForwarder>(std::move(connection), std::move(secrets));
}

}  // namespace auditfwd
