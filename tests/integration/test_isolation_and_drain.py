"""A hung forwarder delays neither the others nor ingest; SIGTERM drains in-flight deliveries."""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import unittest

from harness import DaemonTestCase, event, read_json_lines, wait_until
from net_receivers import HttpReceiver


def script(dir, name, body):
    path = os.path.join(dir, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body))
    return path


HANG = """
import sys, time
for line in sys.stdin:
    time.sleep(3600)  # never answers
"""

SLOW = """
import json, sys, time
delay = float(sys.argv[1])
for line in sys.stdin:
    time.sleep(delay)
    with open(sys.argv[2], "a") as f:
        f.write(line)
    print(json.dumps({"ok": True}), flush=True)
"""


class IsolationTest(DaemonTestCase):
    def test_a_hung_async_forwarder_delays_neither_others_nor_ingest(self):
        d = self.daemon(lambda dir: [
            {"id": "hung", "type": "exec", "dispatch": "async", "timeout": "2s",
             "command": [sys.executable, script(dir, "hang.py", HANG)]},
            {"id": "fast", "type": "file", "dispatch": "async", "path": os.path.join(dir, "fast.log")},
        ])
        sent = []
        for _ in range(10):  # ten separate round trips while "hung" is stuck in its first delivery
            replies = d.send([event("iso.test") for _ in range(50)])
            self.assertTrue(all(r["ok"] for r in replies))
            sent += [r["id"] for r in replies]
        wait_until(lambda: {e["id"] for e in read_json_lines(d.path("fast.log"))} == set(sent),
                   message="every event at the healthy forwarder")
        # The hung forwarder has delivered nothing and holds at most its claimed batch.
        rows = d.job_list("--forwarder", "hung")
        self.assertNotIn("completed", {row["state"] for row in rows})
        self.assertEqual(sorted(row["event_id"] for row in rows), sorted(sent))


def jobs_by_event(d):
    """`auditfwd jobs list`, by event id (one forwarder per test here)."""
    return {job["event_id"]: job for job in d.job_list()}


def stop_begins(test, d):
    """Sends SIGTERM and waits until the daemon has begun its stop; returns at once otherwise."""
    d.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "stopping:" in d.log() or d.proc.poll() is not None, message="the stop to begin")


class DrainTest(DaemonTestCase):
    def http_daemon(self, receiver, grace, **forwarder):
        return self.daemon([{"id": "hook", "type": "http", "dispatch": "async", "url": receiver.url(),
                             "timeout": "60s", "backoff": "fixed", "backoff_min": "200ms", **forwarder}],
                           store={"completed_retention": "1h"}, workers={"shutdown_grace": grace})

    def receiver(self, **kwargs):
        r = HttpReceiver(**kwargs)
        self.addCleanup(r.stop)
        return r

    def test_sigterm_lets_the_delivery_in_flight_finish_and_leaves_the_rest_available(self):
        r = self.receiver(hold=1)  # the first delivery stays in flight until released
        d = self.http_daemon(r, grace="30s")
        replies = d.send([event("drain.test") for _ in range(20)])
        self.assertTrue(all(reply["ok"] for reply in replies), replies)
        wait_until(r.holding.is_set, message="a delivery held in flight")

        stop_begins(self, d)
        with self.assertRaises(subprocess.TimeoutExpired, msg="the daemon exited with a delivery in flight"):
            d.proc.wait(timeout=1)
        r.release.set()  # the receiver answers 200 now
        self.assertEqual(d.wait(), 0)

        [request] = r.received()  # no new delivery began after SIGTERM
        [held_event] = r.events(request)
        jobs = jobs_by_event(d)
        self.assertEqual(set(jobs), {reply["id"] for reply in replies})
        held = jobs.pop(held_event["id"])
        self.assertEqual((held["state"], held["attempt"]), ("completed", 1), "the delivery in flight was recorded")
        self.assertEqual({(job["state"], job["attempt"]) for job in jobs.values()}, {("available", 0)},
                         "the rest stays available, and a graceful stop consumes no attempt")

    def test_a_graceful_stop_spends_no_attempt_of_the_jobs_it_releases(self):
        def respond(request):
            return (503, {}, b"busy") if len(r.received()) == 0 else (200, {}, b"")

        # Request 1 fails (attempt 1); request 2, its retry (attempt 2), is held past the grace.
        r = self.receiver(respond=respond, hold=2)
        d = self.http_daemon(r, grace="1s")
        [retried] = d.send([event("attempts.retried")])
        wait_until(r.holding.is_set, message="the retry held in flight")
        waiting = d.send([event("attempts.waiting") for _ in range(5)])  # handed over or queued, not delivered

        stop_begins(self, d)
        self.assertEqual(d.wait(), 0)
        jobs = jobs_by_event(d)
        job = jobs[retried["id"]]
        self.assertEqual((job["state"], job["attempt"]), ("available", 1),
                         f"the stop spent an attempt of the delivery it cut short: {job}")
        self.assertEqual([e["attempt"] for e in job["errors"]], [1])
        for reply in waiting:
            self.assertEqual((jobs[reply["id"]]["state"], jobs[reply["id"]]["attempt"]), ("available", 0))

        r.release.set()
        d.start()  # the next start delivers each of them, counting only real attempts
        wait_until(lambda: all(job["state"] == "completed" for job in jobs_by_event(d).values()),
                   message="every job completed after the restart")
        jobs = jobs_by_event(d)
        self.assertEqual(jobs[retried["id"]]["attempt"], 2)
        self.assertEqual({jobs[reply["id"]]["attempt"] for reply in waiting}, {1})
        self.assertEqual(d.stop(), 0)

    def test_sigterm_records_what_completed_so_the_next_start_delivers_only_the_rest(self):
        d = self.daemon(lambda dir: [
            {"id": "slow", "type": "exec", "dispatch": "async", "timeout": "30s",
             "command": [sys.executable, script(dir, "slow.py", SLOW), "0.02", os.path.join(dir, "slow.log")]},
        ], workers={"shutdown_grace": "20s"})
        replies = d.send([event("drain.test") for _ in range(400)])  # one commit: one stored batch
        wait_until(lambda: len(read_json_lines(d.path("slow.log"))) >= 3, message="deliveries under way")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        delivered = {e["id"] for e in read_json_lines(d.path("slow.log"))}
        rows = d.job_list()
        self.assertEqual({row["state"] for row in rows}, {"available"})
        available = {row["event_id"] for row in rows}
        self.assertEqual(delivered | available, {r["id"] for r in replies})
        self.assertEqual(delivered & available, set(), "a finished delivery is recorded before exit")
        self.assertEqual({row["attempt"] for row in rows}, {0}, "a graceful stop does not consume attempts")

    def test_sigterm_still_answers_a_client_that_has_not_read_its_replies_yet(self):
        d = self.daemon(lambda dir: [{"id": "file", "type": "file", "dispatch": "async",
                                      "path": os.path.join(dir, "out.log")}],
                        workers={"shutdown_grace": "20s"})
        count = 6000  # ~600 KiB of replies: more than the socket buffers hold, so a reply write is pending
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(d.socket_path)
            s.sendall(b"".join((json.dumps(event("drain.reader", metadata={"n": i})) + "\n").encode()
                               for i in range(count)))
            wait_until(lambda: len(read_json_lines(d.path("out.log"))) == count,
                       message="every event read and delivered, its reply still unread")
            d.proc.send_signal(signal.SIGTERM)  # stop reading, answer what was read
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        self.assertTrue(answer.endswith(b"\n"), f"a reply was cut off: {answer[-200:]!r}")
        replies = [json.loads(line) for line in answer.splitlines()]
        self.assertEqual(len(replies), count, "every event read before the stop is answered")
        self.assertTrue(all(r["ok"] for r in replies))
        self.assertEqual(d.wait(), 0)

    def test_a_delivery_longer_than_the_grace_is_released_for_the_next_start(self):
        r = self.receiver(hold=1)  # never released before the daemon has exited
        d = self.http_daemon(r, grace="1s")
        replies = d.send([event("drain.test") for _ in range(5)])
        wait_until(r.holding.is_set, message="a delivery in flight")
        started = time.monotonic()
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - started, 30, "shutdown_grace bounds the stop")
        jobs = jobs_by_event(d)
        self.assertEqual(set(jobs), {reply["id"] for reply in replies})
        self.assertEqual({(job["state"], job["attempt"]) for job in jobs.values()}, {("available", 0)})
        self.assertIn("still delivering after workers.shutdown_grace", d.log())

    def test_a_stop_that_abandons_a_delivery_returns_from_main(self):
        # The dynamic linker reports the library destructors it runs at a normal exit
        # (LD_DEBUG=files: "calling fini"); an _Exit runs none.
        r = self.receiver(hold=1)  # never released before the daemon has exited
        d = self.daemon([{"id": "hook", "type": "http", "dispatch": "async", "url": r.url(), "timeout": "60s"}],
                        workers={"shutdown_grace": "500ms"}, env={"LD_DEBUG": "files"}, start=False)
        d.env["LD_DEBUG_OUTPUT"] = d.path("ld-debug")
        d.start()
        d.send([event("drain.test")])
        wait_until(r.holding.is_set, message="a delivery in flight")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        self.assertIn("still delivering after workers.shutdown_grace", d.log())
        with open(d.path(f"ld-debug.{d.proc.pid}"), errors="replace") as f:
            finis = "".join(line for line in f if "calling fini" in line)
        self.assertIn("libc.so", finis, "the daemon left through exit(), running the destructors")


if __name__ == "__main__":
    unittest.main()
