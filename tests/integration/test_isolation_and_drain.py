"""A hung forwarder delays neither the others nor ingest; SIGTERM drains in-flight deliveries."""
import json
import os
import signal
import socket
import sys
import textwrap
import time
import unittest

from harness import DaemonTestCase, event, read_json_lines, wait_until


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
        states = dict(d.query("SELECT state, count(*) FROM jobs WHERE forwarder = 'hung' GROUP BY state"))
        self.assertNotIn("completed", states)
        self.assertEqual(sum(states.values()), len(sent))


class DrainTest(DaemonTestCase):
    def test_sigterm_lets_the_delivery_in_flight_finish_and_leaves_the_rest_available(self):
        d = self.daemon(lambda dir: [
            {"id": "slow", "type": "exec", "dispatch": "async", "timeout": "30s",
             "command": [sys.executable, script(dir, "slow.py", SLOW), "0.02", os.path.join(dir, "slow.log")]},
        ], workers={"shutdown_grace": "20s"})
        replies = d.send([event("drain.test") for _ in range(400)])
        wait_until(lambda: d.query("SELECT count(*) FROM jobs WHERE state = 'executing'")[0][0] > 0,
                   message="a delivery in flight")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        delivered = {e["id"] for e in read_json_lines(d.path("slow.log"))}
        self.assertGreater(len(delivered), 0)
        self.assertEqual(d.query("SELECT count(*) FROM jobs WHERE state = 'executing'"), [(0,)])
        available = {r[0] for r in d.query("SELECT event_id FROM jobs WHERE state = 'available'")}
        self.assertEqual(delivered | available, {r["id"] for r in replies})
        self.assertEqual(delivered & available, set(), "a finished delivery is recorded before exit")
        attempts = {r[0] for r in d.query("SELECT attempt FROM jobs")}
        self.assertEqual(attempts, {0}, "a graceful stop does not consume attempts")

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
        self.assertEqual(d.proc.wait(timeout=30), 0)

    def test_a_delivery_longer_than_the_grace_is_released_for_the_next_start(self):
        d = self.daemon(lambda dir: [
            {"id": "stuck", "type": "exec", "dispatch": "async", "timeout": "60s",
             "command": [sys.executable, script(dir, "hang.py", HANG)]},
        ], workers={"shutdown_grace": "1s"})
        d.send([event("drain.test") for _ in range(5)])
        wait_until(lambda: d.query("SELECT count(*) FROM jobs WHERE state = 'executing'")[0][0] > 0,
                   message="a delivery in flight")
        started = time.monotonic()
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - started, 30, "shutdown_grace bounds the stop")
        self.assertEqual(d.query("SELECT state, attempt, count(*) FROM jobs GROUP BY state, attempt"),
                         [("available", 0, 5)])
        self.assertIn("still delivering after workers.shutdown_grace", d.log())


if __name__ == "__main__":
    unittest.main()
