"""Hostile clients through the real daemon (issue 10, items 3 and 4): never-reading
connections, slowloris and silent connections, one uid taking every slot, a 1 GiB
line. Each runs with a well-behaved client alongside, which must keep getting its
replies. Memory is the daemon's VmRSS from /proc; speed is only checked against
generous bounds (the measured figures are printed)."""
import json
import os
import re
import resource
import select
import socket
import subprocess
import sys
import threading
import time
import unittest

from harness import AUDITFWD_BIN, DaemonTestCase, event, missing_prerequisite, read_json_lines, wait_until

MIB = 1024 * 1024
NOBODY = 65534


def sanitized_build():
    """ASan and TSan builds carry shadow memory and quarantines: their RSS says nothing about the daemon's."""
    with open(AUDITFWD_BIN, "rb") as f:
        binary = f.read()
    return b"__asan_init" in binary or b"__tsan_init" in binary


SANITIZED = sanitized_build()


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


class RssSampler:
    """Samples a process's VmRSS every few milliseconds in a thread; `peak` is the highest seen."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def raise_descriptor_limit(test, wanted):
    """The test's 1,000 sockets and the daemon's (it inherits the limit) need more than 1024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        if os.geteuid() != 0:
            missing_prerequisite(test, f"RLIMIT_NOFILE hard limit {hard} < {wanted} and not root to raise it")
        hard = wanted
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    test.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def good_client_latencies(d, count, action="good.client"):
    """Sends `count` events one at a time on one connection, each after the previous reply; returns the
    reply latencies in seconds. Every reply must accept its event."""
    latencies = []
    with d.client() as c:
        for i in range(count):
            start = time.perf_counter()
            (reply,) = c.send([event(action, metadata={"n": i})])
            latencies.append(time.perf_counter() - start)
            assert reply.get("ok"), reply
    return latencies


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def connection_closed(sock, timeout):
    """True once the daemon closed `sock` (EOF or reset) within `timeout`; replies before that are read and dropped."""
    deadline = time.monotonic() + timeout
    while True:
        readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            if time.monotonic() >= deadline:
                return False
            continue
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except BlockingIOError:
            continue


def log_reports(log, reason):
    """The log lines for `reason` and the total the last one reports ("N in all")."""
    lines = [line for line in log.splitlines() if f"({reason};" in line]
    totals = [int(m.group(1)) for m in (re.search(r"; (\d+) in all\)", line) for line in lines) if m]
    return lines, (totals[-1] if totals else 0)


def logged_reports(d, reason, total):
    """Waits for the log to account for `total` occurrences of `reason` (counts held back within a
    second are written at the next second); returns the lines."""
    try:
        return wait_until(lambda: (lambda r: r[0] if r[1] >= total else None)(log_reports(d.log(), reason)),
                          timeout=10, message=f"{total} occurrences of {reason} in the log")
    except AssertionError:
        lines, logged = log_reports(d.log(), reason)
        raise AssertionError(f"{reason}: the log accounts for {logged} of {total}:\n" + "\n".join(lines))


class NeverReadingClientsTest(DaemonTestCase):
    HOGS = 1000

    def start(self, **ingest):
        # Async (auto) delivery with the store: the usual path; "os" keeps the disk out of the latency.
        return self.daemon(lambda dir: [{"id": "out", "type": "file", "path": os.path.join(dir, "out.log")}],
                           store={"durability": "os"}, ingest=ingest)

    def flood(self, hogs, rounds_without_progress=3):
        """Writes `x` lines to every hog until the daemon has stopped reading all of them (their sockets stay full)."""
        payload = b"x\n" * 32768
        quiet_rounds, written = 0, 0
        deadline = time.monotonic() + 120
        while quiet_rounds < rounds_without_progress and time.monotonic() < deadline:
            this_round = 0
            for s in hogs:
                while True:
                    try:
                        sent = s.send(payload)
                    except BlockingIOError:
                        break
                    this_round += sent
                    if sent < len(payload):
                        break
            written += this_round
            quiet_rounds = quiet_rounds + 1 if this_round < 64 * 1024 else 0
            time.sleep(0.5)
        return written

    def test_a_thousand_never_reading_clients_stay_within_64_MiB_and_a_good_client_is_answered(self):
        raise_descriptor_limit(self, 4096)
        d = self.start()
        good_client_latencies(d, 50)  # warm: the store, the forwarder, the allocator
        baseline = rss_bytes(d.proc.pid)
        hogs = []
        try:
            with RssSampler(d.proc.pid) as sampler:
                for _ in range(self.HOGS):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(d.socket_path)
                    s.setblocking(False)
                    hogs.append(s)
                written = self.flood(hogs)
                latencies = good_client_latencies(d, 500)
                self.flood(hogs, rounds_without_progress=1)  # still pressing while the good client was served
                during = rss_bytes(d.proc.pid)
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            print(f"\n{self.HOGS} never-reading clients wrote {written / MIB:.0f} MiB of x lines; daemon RSS "
                  f"{baseline / MIB:.1f} MiB before, {during / MIB:.1f} MiB with them, peak {sampler.peak / MIB:.1f} MiB; "
                  f"good client p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, max {max(latencies) * 1e3:.2f} ms")
            self.assertEqual(d.proc.poll(), None)
            self.assertLess(p99, 0.2, "the good client's replies were held up behind the never-reading clients")
            if not SANITIZED:
                self.assertLessEqual(sampler.peak, 64 * MIB, "daemon RSS above 64 MiB with 1,000 never-reading clients")
        finally:
            for s in hogs:
                s.close()
        good_client_latencies(d, 20)
        if SANITIZED:
            return
        # Memory comes back once they are gone: the buffers and replies they held are handed back.
        settled = wait_until(lambda: (lambda rss: rss if rss <= baseline + 12 * MIB else None)(rss_bytes(d.proc.pid)),
                             timeout=20, message=f"daemon RSS back within 12 MiB of {baseline / MIB:.1f} MiB "
                                                 f"after the never-reading clients closed")
        print(f"RSS after they closed: {settled / MIB:.1f} MiB")

    def test_one_never_reading_client_holds_about_its_per_connection_bound(self):
        # ingest.max_connection_buffered_bytes (1 MiB): its read buffer, its unfinished line and its
        # unsent replies. x lines make a 100-byte rejection per 2 bytes read: the reply side is what grows.
        d = self.start()
        good_client_latencies(d, 50)
        baseline = rss_bytes(d.proc.pid)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hog:
            hog.connect(d.socket_path)
            hog.setblocking(False)
            with RssSampler(d.proc.pid) as sampler:
                self.flood([hog])
                good_client_latencies(d, 20)
            growth = sampler.peak - baseline
            print(f"\none never-reading client: daemon RSS grew by {growth / MIB:.2f} MiB")
            if not SANITIZED:
                self.assertLess(growth, 4 * MIB, "one connection held far more than ingest.max_connection_buffered_bytes")


class TimeoutsTest(DaemonTestCase):
    def start(self, **ingest):
        return self.daemon(lambda dir: [{"id": "out", "type": "file", "dispatch": "sync",
                                         "path": os.path.join(dir, "out.log")}], ingest=ingest)

    def test_slowloris_connections_are_closed_after_the_partial_line_timeout(self):
        d = self.start(partial_line_timeout="1s", idle_timeout="1m")
        slow = []
        for _ in range(20):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.socket_path)
            s.sendall(b'{"action":"slow.loris","metadata":{"pad":"')
            slow.append(s)
        started = time.monotonic()
        closed = set()
        try:
            # One byte per connection every 100 ms, never a newline: each line stays unfinished.
            while len(closed) < len(slow) and time.monotonic() - started < 20:
                for i, s in enumerate(slow):
                    if i in closed:
                        continue
                    try:
                        s.send(b"a")
                    except (BrokenPipeError, ConnectionResetError):
                        closed.add(i)
                        continue
                    if connection_closed(s, 0):
                        closed.add(i)
                self.assertTrue(good_client_latencies(d, 1))  # a well-behaved client alongside
                time.sleep(0.1)
            elapsed = time.monotonic() - started
        finally:
            for s in slow:
                s.close()
        self.assertEqual(len(closed), len(slow), f"{len(slow) - len(closed)} slowloris connection(s) still open "
                                                 f"after {elapsed:.1f}s with partial_line_timeout = 1s")
        self.assertGreaterEqual(elapsed, 0.9, "closed before the partial-line timeout")
        lines = logged_reports(d, "ingest.partial_line_timeout", len(slow))
        self.assertLessEqual(len(lines), int(elapsed) + 2, "more than one log line per second:\n" + "\n".join(lines))
        self.assertEqual(log_reports(d.log(), "ingest.partial_line_timeout")[1], len(slow))
        # Nothing of theirs was delivered; the good client's events were.
        delivered = read_json_lines(d.path("out.log"))
        self.assertTrue(delivered and all(e["action"] == "good.client" for e in delivered))

    def test_silent_connections_are_closed_after_the_idle_timeout_and_active_ones_are_not(self):
        d = self.start(idle_timeout="1s", partial_line_timeout="1m")
        silent = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(10)]
        for s in silent:
            s.connect(d.socket_path)
        # A client that answered once and then stays silent is idle too; so is one that never reads its replies.
        with d.client() as answered_then_silent, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as never_reads:
            self.assertTrue(answered_then_silent.send([event("once.only")])[0]["ok"])
            never_reads.connect(d.socket_path)
            never_reads.setblocking(False)
            with self.assertRaises(BlockingIOError):
                while True:
                    never_reads.send(b"x\n" * 32768)
            # Meanwhile a client sending an event every 300 ms for 3 s (three idle timeouts) stays connected.
            with d.client() as active:
                for i in range(10):
                    self.assertTrue(active.send([event("still.here", metadata={"n": i})])[0]["ok"])
                    time.sleep(0.3)
            for s in silent + [answered_then_silent.sock]:
                self.assertTrue(connection_closed(s, 10), "a silent connection was not closed after idle_timeout = 1s")
            never_reads.setblocking(True)
            self.assertTrue(connection_closed(never_reads, 10), "a never-reading connection was kept")
        for s in silent:
            s.close()
        logged_reports(d, "ingest.idle_timeout", len(silent) + 2)
        self.assertEqual(log_reports(d.log(), "ingest.idle_timeout")[1], len(silent) + 2)

    def test_a_client_reading_its_replies_slowly_is_not_idle(self):
        # Everything is sent (and read by the daemon) at once; for several idle timeouts
        # after that, only replies move: writing them is progress too.
        # (About 400 KB/s: the kernel wakes a blocked writer only once most of the socket's
        # buffer is read, so a much slower reader would leave the daemon no progress to see.)
        d = self.start(idle_timeout="1s", partial_line_timeout="1m")
        count = 12000
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(d.socket_path)
            s.sendall(b"x\n" * count)
            s.shutdown(socket.SHUT_WR)
            received, started = b"", time.monotonic()
            while True:
                time.sleep(0.04)
                chunk = s.recv(16384)
                if not chunk:
                    break
                received += chunk
            elapsed = time.monotonic() - started
        replies = [json.loads(line) for line in received.splitlines()]
        self.assertEqual(len(replies), count, f"the connection was closed after {elapsed:.1f}s of reading")
        self.assertTrue(all(r["error"] == "invalid_json" for r in replies))
        self.assertGreater(elapsed, 2, "the replies came too fast to show anything")


class SlotExhaustionTest(DaemonTestCase):
    """Needs root: connections are opened as other uids by child processes."""

    HOLDER = ("import json,select,socket,sys\n"
              "path,count=sys.argv[1],int(sys.argv[2]);held,refused=[],[]\n"
              "for _ in range(count):\n"
              "  s=socket.socket(socket.AF_UNIX);s.connect(path)\n"
              "  if select.select([s],[],[],0.3)[0]:\n"
              "    refused.append(json.loads(s.makefile('rb').readline()));s.close()\n"
              "  else: held.append(s)\n"
              "print(json.dumps({'held':len(held),'refused':refused}),flush=True)\n"
              "sys.stdin.read()\n")

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            missing_prerequisite(self, "needs root to open connections as other uids")
        self.python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

    def hold(self, d, uid, count):
        """A child running as `uid` opens `count` connections and holds the ones accepted; returns its report."""
        child = subprocess.Popen([self.python, "-c", self.HOLDER, d.socket_path, str(count)], user=uid,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        def finish():
            child.stdin.close()
            child.wait(30)
            child.stdout.close()
            child.stderr.close()
        self.addCleanup(finish)
        line = child.stdout.readline()
        self.assertTrue(line, child.stderr.read() if child.poll() is not None else "no report from the child")
        return json.loads(line)

    def test_one_uid_cannot_take_every_slot_and_root_keeps_its_reserved_ones(self):
        d = self.daemon(lambda dir: [{"id": "out", "type": "file", "dispatch": "sync", "path": os.path.join(dir, "out.log")}],
                        ingest={"socket_mode": "0666", "max_connections": 20, "max_connections_per_uid": 5,
                                "reserved_root_connections": 2}, start=False)
        os.chmod(d.dir, 0o755)  # the other uids must reach the socket
        d.start()
        # One uid floods: it gets its 5 slots, every other attempt is refused at once, and saying why.
        flood = self.hold(d, NOBODY, 40)
        self.assertEqual(flood["held"], 5, flood)
        self.assertEqual(len(flood["refused"]), 35)
        self.assertTrue(all(r["error"] == "unavailable" and "max_connections_per_uid" in r["detail"]
                            for r in flood["refused"]), flood["refused"][:3])
        # Another uid still gets in, and its events are delivered.
        other = self.hold(d, NOBODY - 1, 5)
        self.assertEqual(other["held"], 5, other)
        # Non-root uids fill what is left but the reserved slots: 20 - 2 - 10 = 8.
        third = self.hold(d, NOBODY - 2, 5)
        fourth = self.hold(d, NOBODY - 3, 5)
        self.assertEqual(third["held"] + fourth["held"], 8, (third, fourth))
        self.assertTrue(all("reserved_root_connections" in r["detail"] for r in fourth["refused"]), fourth)
        # Root still gets in through the reserved slots.
        with d.client() as first, d.client() as second:
            self.assertTrue(first.send([event("root.first")])[0]["ok"])
            self.assertTrue(second.send([event("root.second")])[0]["ok"])
            # Every slot is taken now: even root is refused, by max_connections.
            with d.client() as third_root:
                refusal = third_root.read_replies(1)[0]
                self.assertEqual(refusal["error"], "unavailable")
                self.assertIn("ingest.max_connections =", refusal["detail"])
        # The refusals were logged at most once a second per reason, with their count.
        lines = logged_reports(d, "ingest.max_connections_per_uid", 35)
        self.assertEqual(log_reports(d.log(), "ingest.max_connections_per_uid")[1], 35)
        self.assertLessEqual(len(lines), 3, "35 refusals in about a second make at most 3 lines:\n" + "\n".join(lines))
        logged_reports(d, "ingest.reserved_root_connections", len(fourth["refused"]) + len(third["refused"]))


class LongLineTest(DaemonTestCase):
    def test_a_1_GiB_line_is_streamed_past_and_a_good_client_is_answered_meanwhile(self):
        d = self.daemon(lambda dir: [{"id": "out", "type": "file", "dispatch": "sync", "path": os.path.join(dir, "out.log")}],
                        ingest={"partial_line_timeout": "1h"})  # the time the line takes is not the point here
        good_client_latencies(d, 20)
        baseline = rss_bytes(d.proc.pid)
        stop = threading.Event()
        good_replies = []

        def good_client():
            while not stop.is_set():
                good_replies.extend(good_client_latencies(d, 5))
                time.sleep(0.02)

        helper = threading.Thread(target=good_client)
        with RssSampler(d.proc.pid) as sampler, d.client() as c:
            helper.start()
            try:
                c.sock.sendall(b'{"action":"huge.line","metadata":{"pad":"')
                block = b"a" * MIB
                for _ in range(1024):
                    c.sock.sendall(block)
                c.sock.sendall(b'"}}\n' + json.dumps(event("after.huge")).encode() + b"\n")
                replies = c.read_replies(2)
            finally:
                stop.set()
                helper.join()
        print(f"\n1 GiB line: daemon RSS {baseline / MIB:.1f} MiB before, peak {sampler.peak / MIB:.1f} MiB; "
              f"{len(good_replies)} good replies meanwhile")
        self.assertEqual(replies[0]["error"], "too_large")
        self.assertTrue(replies[1]["ok"], replies[1])
        self.assertGreater(len(good_replies), 0)
        if not SANITIZED:
            self.assertLess(sampler.peak, baseline + 16 * MIB, "the long line was held in memory")
        self.assertNotIn("huge.line", [e["action"] for e in read_json_lines(d.path("out.log"))])


if __name__ == "__main__":
    unittest.main()
