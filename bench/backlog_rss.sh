#!/usr/bin/env bash
# Bounded memory with a deep backlog: the only forwarder is down (its directory is
# blocked), JOBS events are pushed through the socket, and the daemon's RSS is read
# when idle, after every million jobs, and at the end. Ingest must keep going.
#   bench/backlog_rss.sh [build-dir]       JOBS=5000000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
JOBS=${JOBS:-5000000}
STEP=${STEP:-1000000}
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/auditfwd-backlog.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
echo "not a directory" >"$WORK/blocked"
cat >"$WORK/c.toml" <<TOML
[ingest]
socket = "$WORK/s.sock"
[store]
path = "$WORK/jobs.db"
durability = "fsync"
max_pending_jobs = 100000000
[log]
level = "error"
[[forwarders]]
id = "down"
type = "file"
dispatch = "async"
path = "$WORK/blocked/out.log"
TOML
"$BUILD/daemon/auditfwd" --config "$WORK/c.toml" 2>"$WORK/daemon.log" &
PID=$!
for _ in $(seq 100); do [ -S "$WORK/s.sock" ] && break; sleep 0.05; done
rss() { awk '/^VmRSS/{print $2}' "/proc/$PID/status"; }
sleep 1
IDLE=$(rss)
echo "idle RSS: $((IDLE / 1024)) MiB ($IDLE KiB)"
for ((done_jobs = 0; done_jobs < JOBS; done_jobs += STEP)); do
  "$BUILD/bench/auditfwd-load" --socket "$WORK/s.sock" --clients 4 --events "$STEP" --label "jobs $((done_jobs + STEP))"
  echo "  RSS after $((done_jobs + STEP)) jobs waiting: $(( $(rss) / 1024 )) MiB ($(rss) KiB); database $(du -m "$WORK/jobs.db" | cut -f1) MiB"
done
sleep 2
echo "final RSS with $JOBS jobs waiting: $(( $(rss) / 1024 )) MiB ($(rss) KiB), idle was $((IDLE / 1024)) MiB; peak $(awk '/^VmHWM/{print $2}' "/proc/$PID/status") KiB"
"$BUILD/daemon/auditfwd" jobs stats --config "$WORK/c.toml"
kill -TERM $PID; wait $PID
