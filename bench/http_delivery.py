#!/usr/bin/env python3
"""Events/s delivered by the http forwarder to a local receiver, batching off and on.

Starts a keep-alive HTTP/1.1 receiver (standard library, TCP_NODELAY), a release
auditfwd per scenario with one async http forwarder, pushes EVENTS events through
the socket with auditfwd-load, and times first ingest to last event received
(the scenario of bench/destinations.py, with the `http` type).

    bench/http_delivery.py [build-dir]        EVENTS=50000 by default
"""
import gzip
import json
import os

from destinations import EVENTS, http_scenario


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
    http_scenario(label, "http", count, **forwarder)


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
