"""Client-supplied ids through the real daemon: a failed delivery is not remembered,
the idempotency window is honoured, and two connections racing one id deliver it once."""
import collections
import json
import os
import socket
import threading
import time
import unittest
import uuid

from harness import DaemonTestCase, encode_line, event, read_json_lines, wait_until
from net_receivers import HttpReceiver

def is_duplicate(reply):
    return reply.get("ok") is True and reply.get("duplicate") is True


def file_forwarder(dir, name, dispatch):
    return {"id": name, "type": "file", "dispatch": dispatch, "path": os.path.join(dir, name + ".log")}


class IdempotencyTest(DaemonTestCase):
    def test_a_resend_after_a_failed_sync_delivery_is_delivered_not_a_duplicate(self):
        # "Send the same line again to retry" must hold with the store on, where
        # ids are remembered in the store's transaction.
        def respond(request):
            if not r.received():
                return 503, {}, b"down for a moment"
            return 200, {}, b""

        r = HttpReceiver(respond=respond)
        self.addCleanup(r.stop)
        d = self.daemon([{"id": "hook", "type": "http", "dispatch": "sync", "url": r.url(), "timeout": "5s"}])
        line = event("user.login", id=str(uuid.uuid4()))

        [failed] = d.send([line])
        self.assertFalse(failed["ok"], failed)
        self.assertEqual(failed["results"]["hook"]["status"], "error")

        [retried] = d.send([line])  # the forwarder is fixed: the same line again
        self.assertTrue(retried["ok"], retried)
        self.assertNotIn("duplicate", retried, "a failed delivery was remembered: the retry became a duplicate")
        self.assertEqual(retried["results"]["hook"], {"status": "ok"})

        [again] = d.send([line])  # now it was delivered, so it is remembered
        self.assertTrue(is_duplicate(again), again)
        requests = r.received()
        self.assertEqual(len(requests), 2, "two delivery attempts, one failed and one ok")
        self.assertEqual({q["headers"]["idempotency-key"] for q in requests}, {line["id"]})

    def test_the_idempotency_window_remembers_an_id_for_that_long_and_no_longer(self):
        d = self.daemon(lambda dir: [file_forwarder(dir, "now", "sync"), file_forwarder(dir, "queued", "async")],
                        store={"idempotency_window": "1s"})
        line = event("user.login", id=str(uuid.uuid4()))
        [first] = d.send([line])
        sent_at = time.monotonic()
        self.assertTrue(first["ok"] and "duplicate" not in first, first)
        [within] = d.send([line])
        self.assertLess(time.monotonic() - sent_at, 1.0, "the resend was meant to land inside the window")
        self.assertTrue(is_duplicate(within), f"a resend within the window was not a duplicate: {within}")

        time.sleep(max(0.0, sent_at + 2.5 - time.monotonic()))  # the window (1 s) has passed, with margin
        [after] = d.send([line])
        self.assertTrue(after["ok"], after)
        self.assertNotIn("duplicate", after, "the id was remembered past store.idempotency_window")
        self.assertEqual(after["results"]["queued"]["status"], "enqueued")
        [again] = d.send([line])
        self.assertTrue(is_duplicate(again), again)  # remembered anew

        wait_until(lambda: len(read_json_lines(d.path("queued.log"))) == 2, message="both async deliveries")
        for name in ("now", "queued"):
            self.assertEqual([e["id"] for e in read_json_lines(d.path(f"{name}.log"))], [line["id"]] * 2, name)

    def test_two_connections_racing_the_same_ids_deliver_each_once(self):
        d = self.daemon(lambda dir: [file_forwarder(dir, "now", "sync"), file_forwarder(dir, "queued", "async")],
                        store={"durability": "os"})
        rounds, per_round = 15, 100
        all_ids = []
        outcomes = collections.Counter()
        for _ in range(rounds):
            ids = [str(uuid.uuid4()) for _ in range(per_round)]
            all_ids += ids
            data = b"".join(encode_line(event("race.same_id", id=i)) for i in ids)
            replies = [None, None]
            start = threading.Barrier(2)

            def client(index):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(60)
                    s.connect(d.socket_path)
                    reader = s.makefile("rb")
                    start.wait(30)  # both connected: write at the same moment
                    s.sendall(data)
                    replies[index] = [json.loads(reader.readline()) for _ in ids]

            threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            self.assertTrue(all(replies), "a client got no replies")
            unanswered = []
            for k, event_id in enumerate(ids):
                pair = [replies[0][k], replies[1][k]]
                for reply in pair:
                    if reply.get("ok"):
                        self.assertEqual(reply["id"], event_id)
                delivered = [r for r in pair if r.get("ok") and not r.get("duplicate")]
                outcomes["delivered twice" if len(delivered) == 2 else
                         "duplicate" if any(is_duplicate(r) for r in pair) else
                         "in flight" if any(r.get("error") == "unavailable" for r in pair) else "other"] += 1
                self.assertLessEqual(len(delivered), 1, f"both connections delivered {event_id}: {pair}")
                if not delivered and not any(is_duplicate(r) for r in pair):
                    unanswered.append(event_id)
            self.assertEqual(unanswered, [], "an id neither connection had accepted")

        wait_until(lambda: len(read_json_lines(d.path("queued.log"))) >= len(all_ids), timeout=60,
                   message="every async delivery")
        self.assertEqual(d.stop(), 0)
        for name in ("now", "queued"):
            counts = collections.Counter(e["id"] for e in read_json_lines(d.path(f"{name}.log")))
            self.assertEqual(set(counts), set(all_ids), name)
            twice = [i for i, n in counts.items() if n > 1]
            self.assertEqual(twice, [], f"{name}: {len(twice)} id(s) delivered more than once")
        print(f"\n{rounds} rounds of {per_round} ids raced by two connections: {dict(outcomes)}")


if __name__ == "__main__":
    unittest.main()
