"""The admin endpoint (DESIGN.md, Operations; issue 13 items 1, 2 and 4): /metrics
scraped with Prometheus' own text parser, counters that move by exactly the
events sent and refused; /health and /ready, a failing disk seen within seconds;
refusals and store errors logged at most once a second per kind; `auditfwd
status`, `auditfwd tap`, and `jobs stats` on a failing store."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import AUDITFWD_BIN, DaemonTestCase, event, missing_prerequisite, read_json_lines, to_toml, wait_until

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # Debian's python3-prometheus-client, when python3 is not Debian's (pyenv, venv)
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        text_string_to_metric_families = None


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def get(d, target):
    """(status, body) of GET `target` on the daemon's admin socket."""
    connection = UnixHTTPConnection(d.path("admin.sock"))
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def admin_socket(dir):
    return {"listen": "unix:" + os.path.join(dir, "admin.sock")}


# While FLAG exists, every pwrite to the job store's files (DB and WAL) fails
# with ENOSPC, as on a full disk; other files pass through. fdatasync is left
# alone: a failed sync stops the daemon by design (exit 74).
FULL_STORE_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
static int store_file_while_full(int fd) {
  const char* flag = getenv("AUDITFWD_TEST_FULL_FLAG");
  const char* db = getenv("AUDITFWD_TEST_DB");
  char link[64], path[4097];
  if (!flag || !db || access(flag, F_OK) != 0) return 0;
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = 0;
  return strncmp(path, db, strlen(db)) == 0;
}
ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  static ssize_t (*real)(int, const void*, size_t, off_t);
  if (!real) real = (ssize_t (*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
  if (store_file_while_full(fd)) { errno = ENOSPC; return -1; }
  return real(fd, buf, count, offset);
}
ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static ssize_t (*real)(int, const void*, size_t, off_t);
  if (!real) real = (ssize_t (*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  if (store_file_while_full(fd)) { errno = ENOSPC; return -1; }
  return real(fd, buf, count, offset);
}
"""


def with_full_store_shim(test, d):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        missing_prerequisite(test, "no C compiler (cc or gcc) for the LD_PRELOAD shim")
    shim, source = d.path("full_store.so"), d.path("full_store.c")
    with open(source, "w") as f:
        f.write(FULL_STORE_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", shim, source, "-ldl"], check=True)
    flag = d.path("disk-full")
    d.env.update({"LD_PRELOAD": shim, "AUDITFWD_TEST_FULL_FLAG": flag, "AUDITFWD_TEST_DB": d.db_path,
                  "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    return flag


class Scrape:
    """One /metrics answer, parsed by prometheus_client: value(name, **labels)."""

    def __init__(self, test, d):
        if text_string_to_metric_families is None:
            missing_prerequisite(test, "no prometheus_client (Debian: python3-prometheus-client)")
        status, self.text = get(d, "/metrics")
        test.assertEqual(status, 200, self.text)
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}

    def samples(self, sample_name):
        return [s for f in self.families.values() for s in f.samples if s.name == sample_name]

    def value(self, sample_name, **labels):
        matching = [s.value for s in self.samples(sample_name) if all(s.labels.get(k) == v for k, v in labels.items())]
        if len(matching) != 1:
            raise AssertionError(f"{len(matching)} samples {sample_name}{labels} in:\n{self.text}")
        return matching[0]


def file_forwarder(dir, id="file", dispatch="async"):
    return {"id": id, "type": "file", "dispatch": dispatch, "path": os.path.join(dir, id + ".log")}


class MetricsTest(DaemonTestCase):
    def test_counters_move_by_exactly_the_events_sent_and_refused(self):
        d = self.daemon(lambda dir: [file_forwarder(dir), file_forwarder(dir, "inline", "sync")], admin=admin_socket)
        before = Scrape(self, d)
        for name in ("auditfwd_events_received_total", "auditfwd_events_accepted_total"):
            self.assertEqual(before.value(name), 0)
        for code in ("invalid_json", "invalid_event", "too_large", "forbidden_key", "unavailable", "id_conflict",
                     "not_permitted", "rate_limited"):
            self.assertEqual(before.value("auditfwd_events_refused_total", error=code), 0, code)
        self.assertEqual(before.value("auditfwd_config_reloads_total", result="ok"), 0)
        self.assertEqual(before.value("auditfwd_config_reloads_total", result="failed"), 0)
        self.assertEqual(before.value("auditfwd_tap_dropped_total"), 0)
        for forwarder in ("file", "inline"):
            for outcome in ("ok", "retry", "permanent", "timeout"):
                self.assertEqual(before.value("auditfwd_deliveries_total", forwarder=forwarder, outcome=outcome), 0)

        valid = [event("user.login", metadata={"n": i}) for i in range(7)]
        bad = ["not json", "{", event("user.login", actor_id="nope"), event("user.login", metadata={"password": "x"})]
        replies = d.send(valid + bad)
        self.assertEqual([r["ok"] for r in replies], [True] * 7 + [False] * 4)
        wait_until(lambda: len(read_json_lines(d.path("file.log"))) == 7, message="the async deliveries")

        after = wait_until(lambda: (lambda s: s if s.value("auditfwd_delivered_events_total", forwarder="file") == 7
                                    else None)(Scrape(self, d)), message="7 delivered events in the metrics")
        self.assertEqual(after.value("auditfwd_events_received_total"), 11)
        self.assertEqual(after.value("auditfwd_events_accepted_total"), 7)
        self.assertEqual(after.value("auditfwd_events_refused_total", error="invalid_json"), 2)
        self.assertEqual(after.value("auditfwd_events_refused_total", error="invalid_event"), 1)
        self.assertEqual(after.value("auditfwd_events_refused_total", error="forbidden_key"), 1)
        self.assertEqual(after.value("auditfwd_events_refused_total", error="too_large"), 0)
        self.assertEqual(after.value("auditfwd_delivered_events_total", forwarder="inline"), 7)
        self.assertEqual(after.value("auditfwd_deliveries_total", forwarder="inline", outcome="ok"), 1,
                         "one pipelined chunk: one sync delivery of 7 events")
        self.assertGreaterEqual(after.value("auditfwd_deliveries_total", forwarder="file", outcome="ok"), 1)
        self.assertEqual(after.value("auditfwd_deliveries_total", forwarder="file", outcome="retry"), 0)
        # Histograms: every reply timed once; commits and syncs of the store timed.
        self.assertEqual(after.value("auditfwd_reply_seconds_count"), 11)
        self.assertEqual(after.value("auditfwd_reply_seconds_bucket", le="+Inf"), 11)
        self.assertGreaterEqual(after.value("auditfwd_commit_seconds_count"), 1)
        self.assertGreaterEqual(after.value("auditfwd_fsync_seconds_count"), 1)
        self.assertEqual(after.families["auditfwd_commit_seconds"].type, "histogram")
        # Store and process figures.
        self.assertGreater(after.value("auditfwd_store_bytes"), 0)
        self.assertEqual(after.value("auditfwd_store_limit_bytes"), 0)
        self.assertEqual(after.value("auditfwd_connections"), 0)
        self.assertGreater(after.value("process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(after.value("process_open_fds"), 3)
        self.assertGreaterEqual(after.value("process_cpu_seconds_total"), 0)
        [info] = after.samples("auditfwd_build_info")
        self.assertEqual(info.value, 1)
        version = subprocess.run([AUDITFWD_BIN, "--version"], capture_output=True, text=True).stdout.split(None, 1)[1]
        self.assertEqual(info.labels["version"], version.strip())

    def test_jobs_and_the_oldest_pending_job_per_forwarder(self):
        d = self.daemon(lambda dir: [{"id": "down", "type": "tcp", "dispatch": "async",
                                      "address": "tcp://127.0.0.1:9", "backoff": "fixed", "backoff_min": "1h",
                                      "timeout": "1s"}], admin=admin_socket)
        self.assertTrue(all(r["ok"] for r in d.send([event()] * 3)))
        scrape = wait_until(lambda: (lambda s: s if s.value("auditfwd_deliveries_total", forwarder="down",
                                                            outcome="retry") >= 1 else None)(Scrape(self, d)),
                            message="a failed delivery in the metrics")
        time.sleep(1.2)
        scrape = Scrape(self, d)
        pending = sum(s.value for s in scrape.samples("auditfwd_jobs") if s.labels["forwarder"] == "down"
                      and s.labels["state"] in ("available", "retryable", "executing"))
        self.assertEqual(pending, 3, scrape.text)
        self.assertGreaterEqual(scrape.value("auditfwd_oldest_pending_seconds", forwarder="down"), 1.0)


class ReloadMetricsTest(DaemonTestCase):
    def test_reloads_are_counted_by_result_and_an_added_forwarder_shows_at_zero(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], admin=admin_socket)
        d.config["forwarders"] = [file_forwarder(d.dir), file_forwarder(d.dir, "added", "sync")]
        d.reload_with(to_toml(d.config))
        scrape = Scrape(self, d)
        self.assertEqual(scrape.value("auditfwd_config_reloads_total", result="ok"), 1)
        self.assertEqual(scrape.value("auditfwd_config_reloads_total", result="failed"), 0)
        self.assertEqual(scrape.value("auditfwd_deliveries_total", forwarder="added", outcome="ok"), 0)

        d.reload_with("this is = not [valid toml")
        scrape = Scrape(self, d)
        self.assertEqual(scrape.value("auditfwd_config_reloads_total", result="ok"), 1)
        self.assertEqual(scrape.value("auditfwd_config_reloads_total", result="failed"), 1)


class HealthTest(DaemonTestCase):
    def test_health_and_ready_answer_ok_while_the_daemon_works(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], admin=admin_socket)
        self.assertEqual(get(d, "/health"), (200, '{"status":"ok"}\n'))
        self.assertEqual(get(d, "/ready"), (200, '{"status":"ready"}\n'))
        status, body = get(d, "/nothing")
        self.assertEqual(status, 404)
        self.assertEqual(oct(os.stat(d.path("admin.sock")).st_mode & 0o777), "0o600")

    def test_a_failing_disk_shows_in_health_within_seconds_and_the_log_does_not_repeat_itself(self):
        d = self.daemon(lambda dir: [file_forwarder(dir, dispatch="auto")], admin=admin_socket, start=False)
        flag = with_full_store_shim(self, d)
        d.start()
        self.assertTrue(all(r["ok"] for r in d.send([event()] * 3)))
        self.assertEqual(get(d, "/health")[0], 200)
        log_lines_before = len(d.log().splitlines())

        open(flag, "w").close()  # the disk is full from now on
        started = time.monotonic()
        status, body = wait_until(lambda: (lambda r: r if r[0] == 503 else None)(get(d, "/health")), timeout=10,
                                  message="/health to fail")
        self.assertLess(time.monotonic() - started, 5, "a failing disk must show within seconds")
        self.assertEqual(json.loads(body)["status"], "failing")
        self.assertIn("commit failed", json.loads(body)["reason"])
        self.assertEqual(get(d, "/ready")[0], 200, "the socket still takes events (auto falls back to sync)")
        # jobs stats reads a row the daemon can no longer rewrite: it must not say healthy.
        stats = wait_until(lambda: (lambda s: s if s["daemon"]["healthy"] is False else None)(
            json.loads(d.jobs("stats", "--json").stdout)), timeout=30, message="jobs stats to see the failing store")
        self.assertTrue(stats["daemon"]["stale"], stats)
        # A disk-full episode under load: thousands of events, a bounded number of log lines.
        for _ in range(20):
            replies = d.send([event("user.login", metadata={"n": i}) for i in range(100)])
            self.assertTrue(all(r["ok"] for r in replies), replies[:2])  # auto: delivered inline instead
        time.sleep(2)
        during = d.log().splitlines()[log_lines_before:]
        store_lines = [line for line in during if "[store]" in line and " debug:" not in line]
        self.assertLessEqual(len(store_lines), 12, "\n".join(store_lines[:40]))

        os.remove(flag)  # space again
        wait_until(lambda: get(d, "/health")[0] == 200, timeout=10, message="/health to recover")
        wait_until(lambda: json.loads(d.jobs("stats", "--json").stdout)["daemon"]["healthy"] is True, timeout=20,
                   message="jobs stats to see the store healthy again")
        self.assertEqual(d.stop(), 0)

    def test_jobs_stats_and_status_need_none_of_the_forwarders_secrets(self):
        d = self.daemon(lambda dir: [file_forwarder(dir),
                                     {"id": "hook", "type": "http", "dispatch": "async", "url": "http://127.0.0.1:9/",
                                      "bearer_token": "${AUDITFWD_TEST_SECRET_TOKEN}", "backoff": "fixed",
                                      "backoff_min": "1h"}],
                        admin=admin_socket, env={"AUDITFWD_TEST_SECRET_TOKEN": "s3cret"})
        self.assertTrue(all(r["ok"] for r in d.send([event()] * 2)))
        env = {k: v for k, v in os.environ.items() if k != "AUDITFWD_TEST_SECRET_TOKEN"}
        stats = subprocess.run([AUDITFWD_BIN, "jobs", "stats", "--json", "--config", d.config_path],
                               capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(stats.returncode, 0, stats.stderr)
        self.assertIn("hook", json.loads(stats.stdout)["jobs"])
        status = subprocess.run([AUDITFWD_BIN, "status", "--config", d.config_path], capture_output=True, text=True,
                                env=env, timeout=30)
        self.assertIn(status.returncode, (0, 1), status.stderr)
        self.assertIn("hook", status.stdout)
        self.assertNotIn("s3cret", status.stdout + status.stderr)


class ConfigTest(unittest.TestCase):
    def check(self, admin_table):
        directory = tempfile.mkdtemp(prefix="auditfwd-admin-cfg-")
        self.addCleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
        path = os.path.join(directory, "bad.toml")
        with open(path, "w") as f:
            f.write(f'[admin]\n{admin_table}\n\n[[forwarders]]\nid = "s"\ntype = "stdout"\n')
        return path, subprocess.run([AUDITFWD_BIN, "check-config", "--config", path], capture_output=True, text=True)

    def test_a_bad_admin_address_is_refused_with_file_line_key_and_reason(self):
        path, result = self.check('listen = "0.0.0.0:9880"')
        self.assertEqual(result.returncode, 78, result.stderr)
        self.assertIn(f"{path}:2:1: admin.listen: \"0.0.0.0:9880\": only a loopback address", result.stderr)
        path, result = self.check('listen = "localhost:9880"\nport = 1')
        self.assertEqual(result.returncode, 78)
        self.assertIn("admin.listen: \"localhost:9880\": \"localhost\" is not an IP address", result.stderr)
        self.assertIn("admin.port: unknown key", result.stderr)
        path, result = self.check('listen = "unix:/run/auditfwd/admin.sock"')
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_the_daemon_refuses_to_start_when_the_admin_address_is_taken(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            d = Daemonless(self, {"listen": f"127.0.0.1:{port}"})
            result = d.run()
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn(f"cannot bind 127.0.0.1:{port}", result.stderr)


class Daemonless:
    """Runs the daemon in the foreground until it exits by itself (a start-up failure)."""

    def __init__(self, test, admin):
        from harness import Daemon
        self.d = Daemon([{"id": "s", "type": "stdout"}], admin=admin)
        test.addCleanup(self.d.cleanup)

    def run(self):
        return subprocess.run([AUDITFWD_BIN, "--config", self.d.config_path], capture_output=True, text=True,
                              timeout=30)


class RefusalLogTest(DaemonTestCase):
    def test_refused_events_are_logged_at_most_once_a_second_per_code_and_uid_with_a_count(self):
        d = self.daemon([{"id": "s", "type": "stdout", "dispatch": "sync"}])
        replies = d.send(["not json"] * 500 + [event("user.login", actor_id="x")] * 3)
        self.assertEqual([r.get("error") for r in replies], ["invalid_json"] * 500 + ["invalid_event"] * 3)
        uid = os.getuid()
        key = f"(invalid_json from uid {uid};"
        wait_until(lambda: f"{key[:-1]}; 500 in all)" in d.log(), message="the held-back count in the log")
        lines = [line for line in d.log().splitlines() if key in line]
        self.assertLessEqual(len(lines), 3, lines)
        self.assertIn("refused an event from pid", lines[0])
        self.assertIn("more like this within a second", "\n".join(lines))
        wait_until(lambda: f"(invalid_event from uid {uid}; 3 in all)" in d.log(), message="the invalid_event count")


class StatusAndTapTest(DaemonTestCase):
    def status(self, d, *args):
        return subprocess.run([AUDITFWD_BIN, "status", "--admin", "unix:" + d.path("admin.sock"), *args],
                              capture_output=True, text=True, timeout=30)

    def test_status_is_one_screen_with_exit_0_healthy_1_degraded_2_unreachable(self):
        d = self.daemon(lambda dir: [file_forwarder(dir),
                                     {"id": "down", "type": "tcp", "dispatch": "async", "address": "tcp://127.0.0.1:9",
                                      "backoff": "fixed", "backoff_min": "1h", "timeout": "1s"}],
                        admin=admin_socket)
        healthy = self.status(d)
        self.assertEqual(healthy.returncode, 0, healthy.stdout + healthy.stderr)
        self.assertIn("health: ok", healthy.stdout)
        self.assertRegex(healthy.stdout, r"up \d")
        self.assertIn("events/s over the last 10 s", healthy.stdout)

        self.assertTrue(all(r["ok"] for r in d.send([event()] * 4)))
        degraded = wait_until(lambda: (lambda r: r if r.returncode == 1 else None)(self.status(d)),
                              message="status to report the failing forwarder")
        row = next(line for line in degraded.stdout.splitlines() if line.startswith("down "))
        self.assertIn("FAILING since", row)
        self.assertRegex(row, r"down\s+0\.0\s+4\s")
        # The file forwarder delivered all four: no backlog, no error (a delivered batch leaves the store within a second).
        file_row = re.compile(r"^file\s+\d+\.\d\s+0\s+-\s+-$", re.M)
        wait_until(lambda: file_row.search(self.status(d).stdout), message="the file forwarder's row without backlog")
        as_json = json.loads(self.status(d, "--json").stdout)
        self.assertGreater(as_json["events_per_second"]["received"], 0)

        d.stop()
        unreachable = self.status(d)
        self.assertEqual(unreachable.returncode, 2)
        self.assertIn("cannot connect", unreachable.stderr)

    def tap(self, d, *args):
        proc = subprocess.Popen([AUDITFWD_BIN, "tap", "--admin", "unix:" + d.path("admin.sock"), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def test_tap_streams_the_accepted_events_its_filters_match(self):
        d = self.daemon(lambda dir: [file_forwarder(dir), {"id": "console", "type": "stdout", "dispatch": "sync"}],
                        admin=admin_socket)
        logins = self.tap(d, "--action", "user.*")
        everything = self.tap(d, "--forwarder", "console")
        for proc in (logins, everything):  # each says so once subscribed
            self.assertIn("streaming", proc.stderr.readline())
        replies = d.send([event("user.login"), event("sudo.exec"), "not json", event("user.logout")])
        ids = [r.get("id") for r in replies]
        d.stop()  # ends the streams
        out, err = logins.communicate(timeout=30)
        self.assertEqual([json.loads(line)["id"] for line in out.splitlines()], [ids[0], ids[3]], err)
        self.assertEqual(logins.returncode, 0, err)
        out, err = everything.communicate(timeout=30)
        self.assertEqual([json.loads(line)["action"] for line in out.splitlines()],
                         ["user.login", "sudo.exec", "user.logout"], err)

    def test_a_bad_tap_filter_is_refused(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], admin=admin_socket)
        proc = self.tap(d, "--action", "a*b")
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 64, err)
        self.assertIn("is not a pattern", err)

    def test_a_slow_tap_never_slows_ingest_and_is_told_what_it_dropped(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], admin=admin_socket)
        stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(d.path("admin.sock"))
        self.addCleanup(stalled.close)
        stalled.sendall(b"GET /tap HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.5)
        big = "x" * 4000
        started = time.monotonic()
        for _ in range(10):  # 4 MB of events: far more than the tap's buffer and the socket's
            replies = d.send([event("user.login", metadata={"pad": big}) for _ in range(100)])
            self.assertTrue(all(r["ok"] for r in replies))
        self.assertLess(time.monotonic() - started, 60)
        dropped = Scrape(self, d).value("auditfwd_tap_dropped_total")
        self.assertGreater(dropped, 0)
        # The stalled client, once it reads, is told how many it missed.
        stalled.settimeout(10)
        received = b""
        deadline = time.monotonic() + 20
        while b'"tap_dropped":' not in received and time.monotonic() < deadline:
            chunk = stalled.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        self.assertIn(b'"tap_dropped":', received)


if __name__ == "__main__":
    unittest.main()
