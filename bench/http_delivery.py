#!/usr/bin/env python3
"""Events/s delivered by the http forwarder to a local receiver, batching off and on.

Starts a keep-alive HTTP/1.1 receiver (standard library, TCP_NODELAY), a release
auditfwd per scenario with one async http forwarder, pushes EVENTS events through
the socket with auditfwd-load, and times first ingest to last event received.

    bench/http_delivery.py [build-dir]        EVENTS=50000 by default
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from counting_receiver import CountingReceiver

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/release"
EVENTS = int(os.environ.get("EVENTS", "50000"))


def count(headers, body):
    """Events in one request of the http forwarder, whatever its format."""
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    kind = headers.get("Content-Type", "")
    if "ndjson" in kind:
        return body.count(b"\n"), 200, b""
    if body.startswith(b"["):
        return len(json.loads(body)), 200, b""
    return 1, 200, b""


def scenario(label, forwarder):
    receiver = CountingReceiver(count)
    work = tempfile.mkdtemp(prefix="auditfwd-http-bench-")
    try:
        url = receiver.url("/ingest")
        lines = [f'[ingest]\nsocket = "{work}/s.sock"\n[store]\npath = "{work}/jobs.db"\n[log]\nlevel = "warn"\n',
                 "[[forwarders]]", 'id = "hook"', 'type = "http"', 'dispatch = "async"', f'url = "{url}"']
        lines += [f"{k} = {json.dumps(v)}" for k, v in forwarder.items()]
        with open(f"{work}/c.toml", "w") as f:
            f.write("\n".join(lines) + "\n")
        daemon = subprocess.Popen([f"{BUILD}/daemon/auditfwd", "--config", f"{work}/c.toml"],
                                  stderr=open(f"{work}/daemon.log", "w"))
        while not os.path.exists(f"{work}/s.sock"):
            time.sleep(0.05)
        started = time.monotonic()
        subprocess.run([f"{BUILD}/bench/auditfwd-load", "--socket", f"{work}/s.sock", "--clients", "2",
                        "--events", str(EVENTS), "--label", "ingest"], check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while receiver.events < EVENTS and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        daemon.terminate()
        daemon.wait()
        print(f"{label:<40} {receiver.events / elapsed:>9,.0f} events/s delivered  "
              f"({receiver.events} events in {receiver.requests} requests, {elapsed:.2f} s)")
    finally:
        receiver.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    print(f"# {os.cpu_count()} cores, {EVENTS} events, Python stdlib receiver on 127.0.0.1")
    scenario("json, no batching, concurrency 1", {"format": "json"})
    scenario("json, no batching, concurrency 4", {"format": "json", "concurrency": 4})
    scenario("ndjson, batches of 100", {"format": "ndjson", "batch_max_events": 100, "batch_timeout": "100ms"})
    scenario("ndjson, batches of 500", {"format": "ndjson", "batch_max_events": 500, "batch_timeout": "100ms"})
    scenario("json_array, batches of 500", {"format": "json_array", "batch_max_events": 500,
                                            "batch_timeout": "100ms"})
    scenario("ndjson, batches of 500, gzip", {"format": "ndjson", "batch_max_events": 500,
                                              "batch_timeout": "100ms", "gzip": True})
