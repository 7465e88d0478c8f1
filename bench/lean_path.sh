#!/usr/bin/env bash
# The two workloads of issue 9, each on a fresh daemon and store: one client sends
# ~310-byte events with client-supplied ids; one async `tcp` forwarder delivers them to
# bench/auditfwd-tcp-receiver, which checks that every id arrives exactly once.
#   bench/lean_path.sh [burst|steady] [fsync|os] [build-dir]   (default: burst fsync build/release)
#   burst:  EVENTS (200,000) pipelined on one connection, the whole burst allowed in flight
#   steady: RATE (1,000) events/s for DURATION (30) s, each event its own write(2)
# Prints one line: acknowledged events/s (up to the last reply), end-to-end events/s (up
# to the last expected line at the receiver), the daemon's CPU per event (utime + stime,
# /proc/PID/stat) and bytes written per event (write_bytes, /proc/PID/io), both as deltas
# from the first event sent until the daemon is quiet again after the last delivery (so
# completion bookkeeping and the checkpoint count), reply latency p50/p99 and peak RSS.
# Exits 1 unless every event was acknowledged and arrived exactly once.
# IDS=daemon: events without an id (the daemon assigns UUIDv7s, nothing goes to its
# idempotency table); the receiver then checks that the ids it gets are distinct and as
# many as were sent. Default IDS=client: ids from the load generator, checked one by one.
# COMMIT_DELAY=10ms sets store.commit_delay (default 0s).
# IO_THREADS=N sets workers.threads (the daemon's I/O threads; default 2).
# SMAPS_FILE=FILE keeps the daemon's /proc/PID/smaps at the end of the run (where the RSS is).
# PERF_DATA=FILE also records `perf record -g` of the daemon over the same window
# (PERF_ARGS replaces -g, e.g. PERF_ARGS="--call-graph dwarf -F 999").
set -euo pipefail
cd "$(dirname "$0")/.."
WORKLOAD=${1:-burst}
DURABILITY=${2:-fsync}
BUILD=${3:-build/release}
BIN=$BUILD/daemon/auditfwd
LOAD=$BUILD/bench/auditfwd-load
RECEIVER=$BUILD/bench/auditfwd-tcp-receiver
case $WORKLOAD in
  burst)
    EVENTS=${EVENTS:-200000}
    LOAD_ARGS=(--window "${WINDOW:-$EVENTS}")
    ;;
  steady)
    RATE=${RATE:-1000}
    EVENTS=$((RATE * ${DURATION:-30}))
    LOAD_ARGS=(--rate "$RATE" --single-writes)
    ;;
  *) echo "usage: $0 [burst|steady] [fsync|os] [build-dir]" >&2; exit 64 ;;
esac
case $DURABILITY in fsync | os) ;; *) echo "durability is fsync or os" >&2; exit 64 ;; esac

WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/auditfwd-lean.XXXXXX")
DAEMON_PID='' RECEIVER_PID='' PERF_PID=''
cleanup() {
  for pid in $PERF_PID $DAEMON_PID $RECEIVER_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "lean_path.sh: $*" >&2; for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -5 "$f" >&2; done; exit 1; }

# Ids: a random UUIDv4-shaped prefix for this run + the event's index in 12 hex digits.
HEX=$(od -An -tx1 -N9 /dev/urandom | tr -d ' \n')
ID_ARGS=(--id-prefix "${HEX:0:8}-${HEX:8:4}-4${HEX:12:3}-8${HEX:15:3}-")
case ${IDS:-client} in
  client) ;;
  daemon) ID_ARGS=() ;;
  *) echo "IDS is client or daemon" >&2; exit 64 ;;
esac

"$RECEIVER" --port-file "$WORK/port" --expect "$EVENTS" "${ID_ARGS[@]}" --linger 0.5 --idle-timeout 60 \
  --result-file "$WORK/receiver.txt" >"$WORK/receiver.log" 2>&1 &
RECEIVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || fail "the receiver did not start"

cat >"$WORK/c.toml" <<TOML
[ingest]
socket = "$WORK/s.sock"
[store]
path = "$WORK/jobs.db"
durability = "$DURABILITY"
commit_delay = "${COMMIT_DELAY:-0s}"
[log]
level = "warn"
[workers]
threads = ${IO_THREADS:-2}
[[forwarders]]
id = "tcp"
type = "tcp"
dispatch = "async"
address = "tcp://127.0.0.1:$(cat "$WORK/port")"
TOML
"$BIN" --config "$WORK/c.toml" 2>"$WORK/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$WORK/s.sock" ] && break; sleep 0.05; done
[ -S "$WORK/s.sock" ] || fail "the daemon did not start"

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$DAEMON_PID/stat"; }
write_bytes() { awk '/^write_bytes:/ { print $2 }' "/proc/$DAEMON_PID/io"; }

if [ -n "${PERF_DATA:-}" ]; then
  # shellcheck disable=SC2086
  perf record ${PERF_ARGS:--g} -p "$DAEMON_PID" -o "$PERF_DATA" >"$WORK/perf.log" 2>&1 &
  PERF_PID=$!
  sleep 1  # attached
fi
sleep 0.5  # start-up done (the first checkpointer and prune passes)
CPU0=$(cpu_ticks) BYTES0=$(write_bytes)
"$LOAD" --socket "$WORK/s.sock" --clients 1 --events "$EVENTS" "${ID_ARGS[@]}" "${LOAD_ARGS[@]}" \
  --daemon-pid "$DAEMON_PID" --label "$WORKLOAD $DURABILITY" --summary-file "$WORK/load.txt" >"$WORK/load.log" 2>&1 ||
  fail "the load generator failed"
RECEIVER_RC=0
wait "$RECEIVER_PID" || RECEIVER_RC=$?
RECEIVER_PID=''
[ -s "$WORK/receiver.txt" ] || fail "the receiver wrote no figures"

# Then wait until the daemon is back to its idle level (over 1.5 s: < 64 KiB written,
# < 3 ticks of CPU; at most 15 s), so the jobs' completion and the WAL checkpoint that
# follow the last delivery are in the figures. (This build writes ~24 KiB/s when idle:
# the store's counters row, rewritten every second.)
CPUS=() WRITES=()
for i in $(seq 0 60); do
  CPUS[i]=$(cpu_ticks) WRITES[i]=$(write_bytes)
  if [ "$i" -ge 6 ] && [ $((CPUS[i] - CPUS[i - 6])) -lt 3 ] && [ $((WRITES[i] - WRITES[i - 6])) -lt 65536 ]; then break; fi
  sleep 0.25
done
CPU1=${CPUS[i]} BYTES1=${WRITES[i]}
RSS_KIB=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")
[ -z "${SMAPS_FILE:-}" ] || cp "/proc/$DAEMON_PID/smaps" "$SMAPS_FILE"
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; PERF_PID=''; fi
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || true
DAEMON_PID=''

# key=value files: the load generator's (one per line) and the receiver's (one line).
tr ' ' '\n' <"$WORK/receiver.txt" >"$WORK/figures.txt"
sed 's/^/load_/' "$WORK/load.txt" >>"$WORK/figures.txt"
awk -F= -v label="$WORKLOAD $DURABILITY" -v cpu_ticks=$((CPU1 - CPU0)) -v hz="$(getconf CLK_TCK)" \
  -v bytes=$((BYTES1 - BYTES0)) -v rss="$RSS_KIB" '
  { f[$1] = $2 }
  END {
    n = f["load_events"]
    e2e = (f["complete_ns"] - f["load_start_ns"]) / 1e9
    e2e_rate = 0
    if (e2e > 0) e2e_rate = f["distinct"] / e2e
    fmt = "%-13s acked %7.0f events/s  end-to-end %7.0f events/s  CPU %6.1f us/event  disk %6.0f B/event  "
    fmt = fmt "reply p50 %7.3f ms p99 %7.3f ms  peak RSS %5.1f MiB  "
    fmt = fmt "(%d events: %d ok, %d refused; receiver: %d distinct, %d duplicates, %d missing)\n"
    printf fmt,
      label, f["load_acked_per_s"], e2e_rate, cpu_ticks / hz * 1e6 / n, bytes / n,
      f["load_p50_ms"], f["load_p99_ms"], rss / 1024, n, f["load_ok"], f["load_refused"], f["distinct"],
      f["duplicates"], f["missing"]
  }' "$WORK/figures.txt"
[ "$RECEIVER_RC" = 0 ] || fail "not every event arrived exactly once: $(cat "$WORK/receiver.txt")"
