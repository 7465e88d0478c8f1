// The admin endpoint ([admin] listen): /metrics, /health, /ready, /status and /tap over HTTP/1.1.
#pragma once

#include "config/config.hpp"
#include "store/job_store.hpp"

#include <memory>

namespace auditfwd {

// Serves on its own thread and io_context, so a scrape (which reads the store)
// or a slow tap client never takes time from the ingest I/O threads.
//   GET /metrics  Prometheus text format 0.0.4
//   GET /health   200 {"status":"ok"}, or 503 {"status":"failing","reason":"…"}
//   GET /ready    200 while the ingest socket accepts events, else 503
//   GET /status   one JSON object for `auditfwd status` (uptime, rates over 10 s, forwarders)
//   GET /tap?action=PATTERN&forwarder=ID   accepted events as NDJSON, chunked, until the client leaves
// At most 32 connections at once; a request must arrive within 10 s.
class AdminServer {
 public:
  // Listens on config.admin.listen (which must be set). `store` is null when
  // the store is disabled; it must outlive stop(). The config's forwarders
  // show in the metrics from 0.
  AdminServer(const Config& config, const JobStore* store);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds (throws std::runtime_error when it cannot) and starts the thread.
  void start();
  // Closes the listener and every connection (taps included) and joins the thread. Idempotent.
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace auditfwd
