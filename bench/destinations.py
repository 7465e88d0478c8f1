#!/usr/bin/env python3
"""Events/s delivered with batching to each destination of issue 14, and the daemon's CPU per event.

For each destination: a release auditfwd with one async forwarder of that type, EVENTS events pushed
through the socket by auditfwd-load (2 clients), timed from the first event ingested until the
destination holds the last one. The destinations are the cheapest faithful stand-ins, so the daemon
is the bottleneck, not them:
  - splunk_hec, elasticsearch, loki: a Python keep-alive HTTP/1.1 receiver that counts the events of
    each request and answers what the service answers on success (HEC code 0; a _bulk "items" list of
    201 creates, one per document; Loki 204), without storing them;
  - kafka: librdkafka's mock cluster (tests/kafka, built with the tests: pass the build directory that
    has it as the second argument), one broker, 3 partitions; delivered = no job left in the store;
  - postgresql: a real PostgreSQL 15 server in a temporary directory (tests/integration/pg_server.py,
    fsync off), delivered = no job left in the store.

    bench/destinations.py [release-build-dir [tests-build-dir]]      EVENTS=50000 by default
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from counting_receiver import CountingReceiver

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/release")
TESTS_BUILD = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "build/ci")
EVENTS = int(os.environ.get("EVENTS", "50000"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def hec(headers, body):
    return body.count(b'{"time":'), 200, b'{"text":"Success","code":0}'


def bulk(headers, body):
    documents = body.count(b"\n") // 2
    items = b",".join([b'{"create":{"status":201,"result":"created"}}'] * documents)
    return documents, 200, b'{"took":1,"errors":false,"items":[' + items + b"]}"


def loki(headers, body):
    return sum(len(stream["values"]) for stream in json.loads(body)["streams"]), 204, b""


def jobs_left(work):
    stats = subprocess.run([f"{BUILD}/daemon/auditfwd", "--config", f"{work}/c.toml", "jobs", "stats", "--json"],
                           capture_output=True, text=True, check=True)
    counts = json.loads(stats.stdout)
    return sum(n for forwarder in counts.get("jobs", {}).values() for state, n in forwarder.items()
               if state not in ("completed", "cancelled", "discarded"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scenario(label, forwarder, delivered):
    """`delivered(work)` -> events the destination holds so far."""
    work = tempfile.mkdtemp(prefix="auditfwd-dest-bench-")
    try:
        lines = [f'[ingest]\nsocket = "{work}/s.sock"\n[store]\npath = "{work}/jobs.db"\n[log]\nlevel = "warn"\n',
                 "[[forwarders]]", 'id = "dest"', 'dispatch = "async"']
        lines += [f"{k} = {json.dumps(v)}" for k, v in forwarder.items() if not isinstance(v, dict)]
        for k, v in forwarder.items():
            if isinstance(v, dict):
                lines.append(f"[forwarders.{k}]")
                lines += [f'"{name}" = {json.dumps(value)}' for name, value in v.items()]
        with open(f"{work}/c.toml", "w") as f:
            f.write("\n".join(lines) + "\n")
        daemon = subprocess.Popen([f"{BUILD}/daemon/auditfwd", "--config", f"{work}/c.toml"],
                                  stderr=open(f"{work}/daemon.log", "w"))
        while not os.path.exists(f"{work}/s.sock"):
            time.sleep(0.05)
        cpu_before = cpu_seconds(daemon.pid)
        started = time.monotonic()
        subprocess.run([f"{BUILD}/bench/auditfwd-load", "--socket", f"{work}/s.sock", "--clients", "2",
                        "--events", str(EVENTS), "--label", "ingest"], check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while delivered(work) < EVENTS and time.monotonic() < deadline:
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(daemon.pid) - cpu_before
        daemon.terminate()
        daemon.wait()
        done = delivered(work)
        print(f"{label:<44} {done / elapsed:>9,.0f} events/s delivered  {cpu / done * 1e6:6.1f} µs CPU/event  "
              f"({done} events, {elapsed:.2f} s)", flush=True)
        if done < EVENTS:
            print(f"  only {done} of {EVENTS} delivered; daemon log: {open(f'{work}/daemon.log').read()[-2000:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def http_scenario(label, kind, count_and_answer, **keys):
    receiver = CountingReceiver(count_and_answer)
    try:
        scenario(label, {"type": kind, "url": receiver.url(), "gzip": False, **keys},
                 lambda work: receiver.events)
    finally:
        receiver.shutdown()


def expected_left(work):
    return EVENTS - jobs_left(work)


def main():
    os.chdir(ROOT)
    print(f"# {os.cpu_count()} cores, {EVENTS} events per destination, batches of 500, receivers on loopback",
          flush=True)
    batch = {"batch_max_events": 500, "batch_timeout": "100ms"}
    http_scenario("splunk_hec (ack off)", "splunk_hec", hec, token="bench-token", **batch)
    http_scenario("elasticsearch (_bulk create)", "elasticsearch", bulk, **batch)
    http_scenario("loki (push)", "loki", loki, **batch)

    from kafka_cluster import MockKafkaCluster
    import kafka_cluster
    kafka_cluster.MOCK_CLUSTER_BIN = os.path.join(TESTS_BUILD, "tests", "auditfwd_kafka_mock_cluster")
    if os.access(kafka_cluster.MOCK_CLUSTER_BIN, os.X_OK):
        cluster = MockKafkaCluster(partitions=3, brokers=1)
        try:
            scenario("kafka (mock cluster, acks=all, idempotent)",
                     {"type": "kafka", "topic": cluster.topic, "properties": {"bootstrap.servers": cluster.bootstrap,
                                                                              "linger.ms": 5}},
                     expected_left)
            scenario("kafka, concurrency 4",
                     {"type": "kafka", "topic": cluster.topic, "concurrency": 4,
                      "properties": {"bootstrap.servers": cluster.bootstrap, "linger.ms": 5}},
                     expected_left)
        finally:
            cluster.stop()
    else:
        print(f"kafka: skipped, no {kafka_cluster.MOCK_CLUSTER_BIN} (build the tests)")

    import pg_server
    if pg_server.available():
        server = pg_server.PostgresServer()
        try:
            scenario("postgresql (one INSERT per batch)",
                     {"type": "postgresql", "conninfo": server.conninfo(), "timeout": "30s"}, expected_left)
        finally:
            server.destroy()
    else:
        print(f"postgresql: skipped, no server binaries in {pg_server.PG_BIN}")


if __name__ == "__main__":
    main()
