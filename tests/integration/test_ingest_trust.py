"""Ingest you can trust, through the real daemon: every accepted event is delivered exactly
as sent (numbers digit for digit), and a client id is scoped to its sender and content."""
import json
import os
import random
import subprocess
import sys
import unittest
import uuid

from harness import DaemonTestCase, read_json_lines, wait_until

STAMPED = {"received_at", "source", "host"}
DEFAULTS = {"outcome": "success", "actor_type": "user", "actor_id": None, "target_id": None, "target_type": None,
            "organization_id": None, "effective_user_id": None, "ip_address": None, "user_agent": None,
            "metadata": {}}


def exact(text):
    """Parses JSON keeping every number as its text, so "19.99" and "1.999E1" differ."""
    return json.loads(text, parse_int=lambda s: ("number", s), parse_float=lambda s: ("number", s),
                      parse_constant=lambda s: ("constant", s))


class RandomEvents:
    """Valid events of every shape: nested metadata, unicode, escapes, numbers as text."""

    NUMBERS = ["0", "-0", "1", "-1", "19.99", "1.999E1", "1e2", "1E+2", "1.0e-5", "0.1e-400", "123456789012345678901234567890",
               "18446744073709551616", "-9223372036854775808", "9223372036854775807", "1.7976931348623157e308",
               "5e-324", "3.141592653589793238462643383279", "100000000000000000000.5", "-2.5E-10"]
    STRINGS = ["", "plain", "ünïcødé", "日本語", "emoji 🎉", "quote \" backslash \\ slash /", "tab\tnew\nline",
               "\u0001 control", "\u2028 line separator", "a" * 200]

    def __init__(self, seed):
        self.random = random.Random(seed)

    def number(self):
        text = self.random.choice(self.NUMBERS)
        return text if self.random.random() < 0.6 else str(self.random.randint(-10**20, 10**20))

    def key(self):
        return self.random.choice(["k", "count", "名前", "with space", "dotted.key", "x-y", "n"]) + str(self.random.randint(0, 999))

    def value(self, depth):
        kind = self.random.choice(["number", "string", "bool", "null", "object", "array"] if depth < 5 else
                                  ["number", "string", "bool", "null"])
        if kind == "number":
            return self.number()
        if kind == "string":
            return json.dumps(self.random.choice(self.STRINGS), ensure_ascii=self.random.random() < 0.5)
        if kind == "bool":
            return self.random.choice(["true", "false"])
        if kind == "null":
            return "null"
        if kind == "object":
            keys = {self.key() for _ in range(self.random.randint(0, 4))}
            return "{" + ",".join(f"{json.dumps(k)}:{self.value(depth + 1)}" for k in keys) + "}"
        return "[" + ",".join(self.value(depth + 1) for _ in range(self.random.randint(0, 4))) + "]"

    def line(self):
        fields = {"action": json.dumps(self.random.choice(["user.login", "org.member.role_changed", "a.b"]))}
        if self.random.random() < 0.5:
            fields["id"] = json.dumps(str(uuid.uuid4()))
        if self.random.random() < 0.5:
            fields["outcome"] = json.dumps(self.random.choice(["success", "failure", "error"]))
        if self.random.random() < 0.3:
            fields["occurred_at"] = json.dumps("2026-11-29T10:00:00.123456789+01:00")
        if self.random.random() < 0.3:
            fields["user_agent"] = json.dumps(self.random.choice(self.STRINGS), ensure_ascii=False)
        if self.random.random() < 0.3:
            fields["ip_address"] = json.dumps(self.random.choice(["10.0.0.1", "2001:db8::1"]))
        keys = {self.key() for _ in range(self.random.randint(0, 6))}
        fields["metadata"] = "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{self.value(1)}" for k in keys) + "}"
        order = list(fields)
        self.random.shuffle(order)
        return "{" + ",".join(f'"{name}":{fields[name]}' for name in order) + "}"


class ExactEventsTest(DaemonTestCase):
    def assert_delivered_as_sent(self, dispatch):
        d = self.daemon(lambda dir: [{"id": "out", "type": "file", "dispatch": dispatch, "path": os.path.join(dir, "out.log")}])
        generator = RandomEvents(seed=20261129)
        lines = [generator.line() for _ in range(400)]
        replies = d.send(lines)
        self.assertTrue(all(r["ok"] for r in replies), [r for r in replies if not r["ok"]][:3])
        delivered = wait_until(lambda: (lambda got: got if len(got) == len(lines) else None)(read_json_lines(d.path("out.log"))),
                               message="every event in the file")
        with open(d.path("out.log"), encoding="utf-8") as f:
            delivered_text = [line for line in f.read().split("\n") if line]  # not splitlines: U+2028 is no newline in JSON
        by_id = {exact(text)["id"]: exact(text) for text in delivered_text}
        self.assertEqual(len(by_id), len(lines))
        for line, reply in zip(lines, replies):
            sent = exact(line)
            got = dict(by_id[reply["id"]])
            self.assertTrue(STAMPED <= set(got), got)
            for field in STAMPED:
                del got[field]
            expected = {**DEFAULTS, **sent, "id": reply["id"]}
            if "occurred_at" not in sent:
                expected["occurred_at"] = got["occurred_at"]
            self.assertEqual(got, expected, f"sent {line}")
        self.assertEqual(len(delivered), len(lines))

    def test_sync_delivers_every_random_event_exactly_as_sent(self):
        self.assert_delivered_as_sent("sync")

    def test_async_delivers_every_random_event_exactly_as_sent(self):
        self.assert_delivered_as_sent("async")

    def test_numbers_no_float_can_hold_are_refused_naming_the_field(self):
        d = self.daemon(lambda dir: [{"id": "out", "type": "file", "dispatch": "async", "path": os.path.join(dir, "out.log")}])
        replies = d.send(['{"action":"num.test","metadata":{"n":1e309}}',
                          '{"action":"num.test","metadata":{"n":-1e999}}',
                          '{"action":"num.test","metadata":{"n":[1E400,2]}}',
                          '{"action":"num.test","metadata":{"price":19.99,"big":123456789012345678901}}'])
        self.assertEqual([r.get("error") for r in replies], ["invalid_event"] * 3 + [None])
        self.assertIn("metadata.n", replies[0]["detail"])
        self.assertIn("metadata.n[0]", replies[2]["detail"])
        wait_until(lambda: os.path.exists(d.path("out.log")) and os.path.getsize(d.path("out.log")) > 0)
        with open(d.path("out.log")) as f:
            text = f.read()
        self.assertIn('"metadata":{"price":19.99,"big":123456789012345678901}', text)
        self.assertNotIn("Infinity", text)


class ScopedIdempotencyTest(DaemonTestCase):
    """Needs two uids: the suite runs as root in CI, and sends as nobody through a child."""

    NOBODY = 65534

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            if os.environ.get("CI") == "true":
                self.fail("scoped idempotency tests need root (to send as another uid) in CI")
            self.skipTest("needs root to send as another uid")

    def send_as(self, d, uid, lines):
        """Sends `lines` over one connection from a process running as `uid`; returns the replies."""
        program = ("import socket,sys,json\n"
                   "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);lines=json.loads(sys.argv[2])\n"
                   "s.sendall(''.join(l+'\\n' for l in lines).encode());f=s.makefile('rb')\n"
                   "print(json.dumps([json.loads(f.readline()) for _ in lines]))\n")
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        result = subprocess.run([python, "-c", program, d.socket_path, json.dumps(lines)], user=uid,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def start(self, dispatch, store=True):
        d = self.daemon(lambda dir: [{"id": "out", "type": "file", "dispatch": dispatch, "path": os.path.join(dir, "out.log")}],
                        ingest={"socket_mode": "0666"}, store=None if store else {"enabled": False}, start=False)
        os.chmod(d.dir, 0o755)  # the other uid must reach the socket
        d.start()
        return d

    def check_squatting_refused(self, d):
        event_id = str(uuid.uuid4())
        squat = json.dumps({"id": event_id, "action": "user.login"})
        real = json.dumps({"id": event_id, "action": "sudo.exec", "metadata": {"command": "/bin/sh"}})
        first = self.send_as(d, self.NOBODY, [squat])
        self.assertTrue(first[0]["ok"], first)
        (root_reply,) = d.send([real])
        self.assertEqual(root_reply.get("error"), "id_conflict", root_reply)
        self.assertIn(event_id, root_reply["detail"])
        self.assertNotIn("duplicate", root_reply)
        # The same id from the same uid with other content is a conflict too; the same line a duplicate.
        again = self.send_as(d, self.NOBODY, [json.dumps({"id": event_id, "action": "user.logout"}), squat])
        self.assertEqual(again[0].get("error"), "id_conflict", again)
        self.assertEqual(again[1], {"ok": True, "id": event_id, "duplicate": True})
        # Two copies with different content in one write: the second is a conflict.
        other_id = str(uuid.uuid4())
        (a, b) = d.send([json.dumps({"id": other_id, "action": "a.b"}), json.dumps({"id": other_id, "action": "c.d"})])
        self.assertTrue(a["ok"] and not a.get("duplicate"), a)
        self.assertEqual(b.get("error"), "id_conflict", b)
        delivered = wait_until(lambda: (lambda got: got if len(got) >= 2 else None)(read_json_lines(d.path("out.log"))))
        self.assertEqual(sorted((e["id"], e["action"], e["source"]["uid"]) for e in delivered),
                         sorted([(event_id, "user.login", self.NOBODY), (other_id, "a.b", 0)]))

    def test_another_uid_cannot_squat_an_id_with_the_store(self):
        self.check_squatting_refused(self.start("async"))

    def test_another_uid_cannot_squat_an_id_with_sync_delivery(self):
        self.check_squatting_refused(self.start("sync"))

    def test_another_uid_cannot_squat_an_id_without_a_store(self):
        self.check_squatting_refused(self.start("sync", store=False))

    def test_a_resend_without_occurred_at_is_still_a_duplicate(self):
        d = self.start("async")
        line = json.dumps({"id": str(uuid.uuid4()), "action": "user.login", "metadata": {"price": 19.99}})
        (first,) = d.send([line])
        (second,) = d.send([line])
        self.assertTrue(first["ok"] and not first.get("duplicate"))
        self.assertTrue(second.get("duplicate"), second)


if __name__ == "__main__":
    unittest.main()
