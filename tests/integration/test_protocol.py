"""Wire protocol v1 through the real daemon: pipelining, order, every error code, framing."""
import json
import os
import select
import socket
import stat
import subprocess
import threading
import unittest
import uuid

from harness import AUDITFWD_BIN, DaemonTestCase, assert_same_sequence, event, read_json_lines, wait_until

UUID = "0190b2a4-7c1e-7cc2-8e1d-1234567890ab"


def file_forwarder(dir, name="out", dispatch="sync", **extra):
    return {"id": name, "type": "file", "dispatch": dispatch, "path": os.path.join(dir, name + ".log"), **extra}


class ProtocolTest(DaemonTestCase):
    def test_pipelined_replies_come_in_order_one_per_line(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)])
        events = [event("user.login", metadata={"n": i}) for i in range(500)]
        replies = d.send(events)
        self.assertEqual(len(replies), 500)
        self.assertTrue(all(r["ok"] for r in replies))
        written = read_json_lines(d.path("out.log"))
        self.assertEqual([w["metadata"]["n"] for w in written], list(range(500)))
        self.assertEqual([w["id"] for w in written], [r["id"] for r in replies])

    def test_a_client_that_does_not_read_its_replies_is_not_read_either_then_gets_every_reply_in_order(self):
        # Back-pressure per connection: the daemon stops reading a client whose
        # replies pile up, so its memory stays bounded; nothing is dropped.
        d = self.daemon(lambda dir: [file_forwarder(dir, dispatch="async")], store={"durability": "os"})
        total = 50 * 1024 * 1024
        ids, pending, written, stalled_at = [], b"", 0, None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(d.socket_path)
            s.setblocking(False)
            while written < total:
                if not pending:
                    batch = [str(uuid.uuid4()) for _ in range(200)]
                    ids += batch
                    pending = b"".join((json.dumps(event("pressure.test", id=i, metadata={"pad": "p" * 150})) + "\n")
                                       .encode() for i in batch)
                try:
                    sent = s.send(pending)
                except BlockingIOError:
                    # EAGAIN: a daemon still reading makes room again soon; one that
                    # stopped reading (the point) leaves the socket full.
                    _, writable, _ = select.select([], [s], [], 2.0)
                    if not writable:
                        stalled_at = written
                        break
                    continue
                written += sent
                pending = pending[sent:]
            self.assertIsNotNone(stalled_at, f"the daemon read all {written} bytes without the client reading a reply")
            self.assertLess(stalled_at, 16 * 1024 * 1024, "the daemon stopped reading only late")
            self.assertEqual(d.proc.poll(), None)

            # Now the client reads: the daemon reads on, and every line written gets its reply, in order.
            s.setblocking(True)
            s.settimeout(60)
            replies = []

            def read_all():
                with s.makefile("rb") as reader:
                    replies.extend(json.loads(line) for line in reader)

            reader = threading.Thread(target=read_all)
            reader.start()
            s.sendall(pending)  # the rest of the last batch: only whole lines
            s.shutdown(socket.SHUT_WR)
            reader.join(120)
        self.assertFalse(reader.is_alive(), "the replies did not end")
        assert_same_sequence(self, [r.get("id") for r in replies], ids, "replies missing or out of order")
        self.assertTrue(all(r["ok"] and r["results"]["out"]["status"] == "enqueued" for r in replies))
        print(f"\nstopped reading at {stalled_at / 1e6:.1f} MB written; {len(ids)} replies in order")

    def test_every_rejection_code_and_the_connection_stays_usable(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], ingest={"max_event_bytes": 1024})
        lines = [
            "this is not json",
            json.dumps({"action": "nodots"}),
            json.dumps({"action": "a.b", "extra": 1}),
            json.dumps({"action": "a.b", "source": {"uid": 0}}),
            json.dumps({"action": "a.b", "metadata": {"nested": {"password": "hunter2"}}}),
            json.dumps({"action": "a.b", "user_agent": "x" * 2000}),  # over max_event_bytes
            json.dumps({"action": "a.b", "ip_address": "999.0.0.1"}),
            json.dumps({"action": "still.works"}),
        ]
        replies = d.send(lines)
        codes = [r.get("error") for r in replies]
        self.assertEqual(codes, ["invalid_json", "invalid_event", "invalid_event", "invalid_event",
                                 "forbidden_key", "too_large", "invalid_event", None])
        self.assertIn("action", replies[1]["detail"])
        self.assertIn("extra", replies[2]["detail"])
        self.assertIn("source", replies[3]["detail"])
        self.assertIn("metadata.nested.password", replies[4]["detail"])
        self.assertNotIn("hunter2", json.dumps(replies) + d.log())
        self.assertIn("ip_address", replies[6]["detail"])
        self.assertTrue(replies[7]["ok"])
        self.assertEqual([e["action"] for e in read_json_lines(d.path("out.log"))], ["still.works"])

    def test_an_over_long_line_split_across_writes_is_skipped_to_its_newline(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], ingest={"max_event_bytes": 512})
        with d.client() as c:
            c.write([b'{"action":"a.b","user_agent":"' + b"y" * 300])
            c.write([b"y" * 5000])
            c.write([b'"}\n', json.dumps(event("after.long")) + "\n"])
            replies = c.read_replies(2)
        self.assertEqual(replies[0]["error"], "too_large")
        self.assertTrue(replies[1]["ok"])

    def test_stamping_source_received_at_ids_and_defaults(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)])
        replies = d.send([event("a.b"), event("a.b", id=UUID, occurred_at="2026-01-02T03:04:05Z", outcome="failure")])
        written = read_json_lines(d.path("out.log"))
        self.assertEqual(written[0]["source"]["pid"], os.getpid())
        self.assertEqual(written[0]["source"]["uid"], os.getuid())
        self.assertEqual(written[0]["source"]["gid"], os.getgid())
        self.assertEqual(written[0]["id"][14], "7")  # UUIDv7 assigned
        self.assertEqual(written[0]["outcome"], "success")
        self.assertTrue(written[0]["received_at"].endswith("Z"))
        self.assertEqual(written[1]["id"], UUID)
        self.assertEqual(replies[1]["id"], UUID)
        self.assertEqual(written[1]["occurred_at"], "2026-01-02T03:04:05Z")

    def test_a_repeated_client_id_is_a_duplicate_and_not_delivered_twice(self):
        d = self.daemon(lambda dir: [file_forwarder(dir), file_forwarder(dir, "queued", dispatch="async")])
        first = d.send([event("a.b", id=UUID)])[0]
        self.assertTrue(first["ok"])
        self.assertNotIn("duplicate", first)
        again = d.send([event("a.b", id=UUID), event("a.b", id=UUID.upper())])
        self.assertEqual(again, [{"ok": True, "id": UUID, "duplicate": True}] * 2)
        wait_until(lambda: read_json_lines(d.path("queued.log")), message="async delivery")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(len(read_json_lines(d.path("out.log"))), 1)
        self.assertEqual(len(read_json_lines(d.path("queued.log"))), 1)

    def test_socket_mode_is_applied_and_a_stale_socket_file_is_replaced(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], ingest={"socket_mode": "0600"}, start=False)
        # A socket file left by a killed process: bound, then the process is gone.
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(d.socket_path)
        stale.close()
        d.start()
        self.assertEqual(stat.S_IMODE(os.stat(d.socket_path).st_mode), 0o600)
        self.assertTrue(d.send([event("a.b")])[0]["ok"])
        self.assertIn("removed stale socket file", d.log())

    def test_a_live_daemon_is_never_replaced(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)])
        second = subprocess.run([AUDITFWD_BIN, "--config", d.config_path], capture_output=True, text=True, timeout=30)
        self.assertEqual(second.returncode, 1)
        self.assertIn("another process is listening", second.stderr)
        self.assertTrue(d.send([event("a.b")])[0]["ok"])

    def test_send_subcommand_prints_replies(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)])
        proc = subprocess.run([AUDITFWD_BIN, "send", "--socket", d.socket_path],
                              input=json.dumps(event("a.b")) + "\nbad\n", capture_output=True, text=True, timeout=30)
        lines = [json.loads(l) for l in proc.stdout.splitlines()]
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0]["ok"])
        self.assertEqual(lines[1]["error"], "invalid_json")
        self.assertEqual(proc.returncode, 1)  # one line was refused


if __name__ == "__main__":
    unittest.main()
