#!/usr/bin/env bash
# Runs every ingest scenario against a release build, plus the one-commit-per-event
# baseline on the same disk, and prints one line of figures per scenario.
#   bench/run_benchmarks.sh [build-dir]      (default: build/release)
#   SCENARIOS="fsync steady" bench/run_benchmarks.sh   only some of: sync fsync os steady baseline
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
BIN=$BUILD/daemon/auditfwd
LOAD=$BUILD/bench/auditfwd-load
EVENTS=${EVENTS:-1000000}
CLIENTS=${CLIENTS:-4}
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/auditfwd-bench.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

# start_daemon NAME DISPATCH DURABILITY: a daemon with one file forwarder. The
# forwarder leaves its file to the OS (FILE_FSYNC=true: its default, an fdatasync per
# batch), so the figures are the ingest path's, comparable with the earlier ones.
start_daemon() {
  local dir=$WORK/$1
  mkdir -p "$dir"
  cat >"$dir/c.toml" <<TOML
[ingest]
socket = "$dir/s.sock"
[store]
path = "$dir/jobs.db"
durability = "$3"
[log]
level = "warn"
[[forwarders]]
id = "file"
type = "file"
dispatch = "$2"
path = "$dir/out.log"
fsync = ${FILE_FSYNC:-false}
TOML
  "$BIN" --config "$dir/c.toml" 2>"$dir/daemon.log" &
  DAEMON_PID=$!
  for _ in $(seq 100); do [ -S "$dir/s.sock" ] && return; sleep 0.05; done
  echo "daemon did not start: $(cat "$dir/daemon.log")" >&2; exit 1
}

# Each scenario starts on a clean slate: the previous one's files are deleted
# and its dirty pages are on disk, so its fsyncs do not queue behind another
# scenario's writeback. (Left in place, the sync scenario's ~450 MB output made
# the next scenario's durable ingest ~12 % slower on the development VM.)
stop_daemon() { kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true; rm -rf "$WORK/$1"; sync; }

echo "# $(nproc) cores, $(uname -r), disk: $(df -h "$WORK" | awk 'NR==2{print $1" ("$2")"}'), $EVENTS events x $CLIENTS clients"
SCENARIOS=" ${SCENARIOS:-sync fsync os steady baseline} "
wanted() { [[ $SCENARIOS == *" $1 "* ]]; }
# scenario NAME DISPATCH DURABILITY LABEL [load options]: one daemon, one load run.
scenario() {
  wanted "$1" || return 0
  start_daemon "$1" "$2" "$3"
  "$LOAD" --socket "$WORK/$1/s.sock" --clients "$CLIENTS" --daemon-pid "$DAEMON_PID" --label "$4" "${@:5}"
  stop_daemon "$1"
}
scenario sync sync fsync "sync file" --events "$EVENTS"
scenario fsync async fsync "async, durability=fsync" --events "$EVENTS"
scenario os async os "async, durability=os" --events "$EVENTS"
scenario steady async fsync "async fsync @10k/s steady" --events 300000 --rate 10000
if wanted baseline; then
  "$LOAD" --baseline-db "$WORK/baseline.db" --events "${BASELINE_EVENTS:-3000}" --label "baseline: commit per event"
fi
