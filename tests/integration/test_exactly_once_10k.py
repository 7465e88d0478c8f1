"""Acceptance: 10,000 events pipelined through one connection to a sync and an async
(durability fsync) file forwarder are each written to both files exactly once."""
import collections
import os
import threading
import time
import unittest
import uuid

from harness import DaemonTestCase, assert_same_sequence, event, read_json_lines, wait_until

COUNT = 10_000


class ExactlyOnceTest(DaemonTestCase):
    def test_10k_pipelined_events_reach_both_files_exactly_once(self):
        d = self.daemon(lambda dir: [
            {"id": "sync-file", "type": "file", "dispatch": "sync", "path": os.path.join(dir, "sync.log")},
            {"id": "async-file", "type": "file", "dispatch": "async", "path": os.path.join(dir, "async.log")},
        ], store={"durability": "fsync"})
        # Client-supplied ids: each reply, and each line of the files, says which event it is.
        sent = [str(uuid.uuid4()) for _ in range(COUNT)]
        events = [event("bench.event", id=sent[i], actor_id="0190b2a4-7c1e-7cc2-8e1d-1234567890ab",
                        ip_address="192.0.2.7", metadata={"seq": i, "pad": "x" * 120}) for i in range(COUNT)]
        with d.client() as c:
            started = time.monotonic()
            # Write from a thread while reading replies, as a pipelining client does.
            writer = threading.Thread(target=c.write, args=(events,))
            writer.start()
            replies = c.read_replies(COUNT)
            elapsed = time.monotonic() - started
            writer.join()
        self.assertTrue(all(r["ok"] and "duplicate" not in r for r in replies))
        self.assertTrue(all(r["results"]["async-file"]["status"] == "enqueued" for r in replies))
        acked = [r["id"] for r in replies]
        assert_same_sequence(self, acked, sent, "one reply per event, in the order sent")
        print(f"\n10k pipelined, sync file + async file (fsync): {COUNT / elapsed:,.0f} events/s acknowledged "
              f"({elapsed:.2f}s, one connection)")

        wait_until(lambda: len(read_json_lines(d.path("async.log"))) >= COUNT, timeout=120, message="async delivery")
        self.assertEqual(d.stop(), 0)
        for name in ("sync.log", "async.log"):
            ids = collections.Counter(e["id"] for e in read_json_lines(d.path(name)))
            self.assertEqual(set(ids), set(sent), name)
            self.assertEqual(max(ids.values()), 1, f"{name}: an event was written twice")
        written = read_json_lines(d.path("sync.log"))
        assert_same_sequence(self, [e["id"] for e in written], sent, "sync deliveries keep the client's order")


if __name__ == "__main__":
    unittest.main()
