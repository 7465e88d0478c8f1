"""Issue 10 item 6 through the real daemon: [[ingest.allow]] rules decide who may send which
actions and how fast; refused and rate-limited events get their reply, keep the connection
usable, and never reach a forwarder or the store; a bad rule stops the daemon from starting."""
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from harness import AUDITFWD_BIN, Client, DaemonTestCase, event, read_json_lines, wait_until

NOBODY = 65534  # user "nobody", primary group 65534 ("nogroup" or "nobody")


class ConnectionAs(Client):
    """A client connected by a child process that switched to `uid`/`gid` (no supplementary
    groups) before connect(): the kernel's SO_PEERCRED, and so the daemon, see that sender.
    The child hands the connected socket over and stays alive (so /proc/PID still names it)
    until the connection is closed."""

    def __init__(self, socket_path, uid, gid):
        parent_end, child_end = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the test runner
            try:
                parent_end.close()
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(socket_path)
                socket.send_fds(child_end, [b"x"], [s.fileno()])
                child_end.recv(1)  # until the parent closes its end
            finally:
                os._exit(0)
        child_end.close()
        _, fds, _, _ = socket.recv_fds(parent_end, 1, 1)
        if not fds:
            os.waitpid(pid, 0)
            raise AssertionError(f"the child running as uid {uid} could not connect to {socket_path}")
        self.sock = socket.socket(fileno=fds[0])
        self.sock.settimeout(60)
        self.reader = self.sock.makefile("rb")
        self._keeper, self._pid = parent_end, pid

    def close(self):
        super().close()
        self._keeper.close()
        os.waitpid(self._pid, 0)


def as_root(d):
    return Client(d.socket_path)


def as_nobody(d):
    return ConnectionAs(d.socket_path, NOBODY, NOBODY)


def codes(replies):
    return [r.get("error", "ok") if not r["ok"] else "ok" for r in replies]


class IngestPolicyTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
                self.fail("ingest policy tests need root (to send as another uid) in CI")
            self.skipTest("needs root to send as another uid")

    def start(self, allow=None, dispatch="sync", fmt="toml", store=None):
        """A daemon with a file forwarder (out.log) and these [[ingest.allow]] rules, reachable by nobody."""
        ingest = {"socket_mode": "0666"}
        if allow is not None:
            ingest["allow"] = allow
        d = self.daemon(lambda dir: [{"id": "out", "type": "file", "dispatch": dispatch,
                                      "path": os.path.join(dir, "out.log")}],
                        ingest=ingest, fmt=fmt, store=store, start=False)
        os.chmod(d.dir, 0o755)  # nobody must reach the socket
        d.start()
        return d

    def delivered_through_marker(self, d, action):
        """Sends one more event as root (`action` must be allowed), then returns everything the
        forwarder wrote once that one is in: an event refused before it would be there by then."""
        marker = str(uuid.uuid4())
        with as_root(d) as c:
            [reply] = c.send([event(action, id=marker)])
        self.assertTrue(reply["ok"], reply)
        return wait_until(lambda: (lambda got: got if any(e["id"] == marker for e in got) else None)(
            read_json_lines(d.path("out.log"))), message=f"event {marker} in out.log")

    def test_without_rules_any_sender_may_send_any_action(self):
        d = self.start()
        with as_nobody(d) as c:
            self.assertEqual(codes(c.send([event("user.login"), event("admin.delete"), event("x.y.z")])),
                             ["ok", "ok", "ok"])
        with as_root(d) as c:
            self.assertEqual(codes(c.send([event("anything.at_all")])), ["ok"])

    def test_rules_by_uid_and_by_user_name_grant_their_actions_only(self):
        d = self.start([
            {"name": "nobody's app", "uids": [NOBODY], "actions": ["user.*"]},
            {"users": ["root"], "actions": ["admin.*"]},
        ])
        with as_nobody(d) as c:
            ok, refused, ok_again = c.send([event("user.login"), event("admin.delete"), event("user.logout")])
            self.assertTrue(ok["ok"] and ok_again["ok"], (ok, ok_again))
            self.assertEqual(refused["error"], "not_permitted", refused)
            self.assertIn(f'no [[ingest.allow]] rule grants action "admin.delete" to uid {NOBODY} (nobody), gid',
                          refused["detail"])
            self.assertIn("ingest.allow[0] (\"nobody's app\") matches this sender but not the action", refused["detail"])
        with as_root(d) as c:
            allowed, refused = c.send([event("admin.delete"), event("user.login")])
            self.assertTrue(allowed["ok"], allowed)
            self.assertEqual(refused["error"], "not_permitted", refused)
            self.assertIn("uid 0 (root)", refused["detail"])
            self.assertIn("ingest.allow[1] matches this sender", refused["detail"])
        # Refused events never reach the forwarder.
        delivered = self.delivered_through_marker(d, "admin.marker")
        self.assertEqual(sorted((e["action"], e["source"]["uid"]) for e in delivered),
                         sorted([("user.login", NOBODY), ("user.logout", NOBODY), ("admin.delete", 0),
                                 ("admin.marker", 0)]))

    def test_rules_by_group_name_and_gid_match_the_primary_group(self):
        nobody_group = subprocess.run(["getent", "group", str(NOBODY)], capture_output=True, text=True).stdout
        group_name = nobody_group.split(":")[0]
        self.assertTrue(group_name, f"no group {NOBODY} on this system")
        d = self.start([
            {"groups": [group_name], "actions": ["*"]},
            {"gids": [0], "actions": ["root.*"]},
        ], fmt="json")  # the same rules through the JSON reader
        with as_nobody(d) as c:
            self.assertEqual(codes(c.send([event("any.thing")])), ["ok"])
        with ConnectionAs(d.socket_path, NOBODY, 0) as c:  # uid nobody, primary group root
            allowed, refused = c.send([event("root.thing"), event("any.thing")])
            self.assertTrue(allowed["ok"], allowed)
            self.assertEqual(refused["error"], "not_permitted")
            self.assertIn("ingest.allow[1] matches this sender", refused["detail"])
        with ConnectionAs(d.socket_path, 1234, 1234) as c:  # a uid and gid without names
            [refused] = c.send([event("any.thing")])
            self.assertEqual(refused["error"], "not_permitted")
            self.assertIn("no [[ingest.allow]] rule matches the sender uid 1234, gid 1234,", refused["detail"])

    def test_a_rule_by_exe_matches_the_program_that_connected(self):
        auditfwd = os.path.realpath(AUDITFWD_BIN)
        d = self.start([{"exes": [auditfwd], "actions": ["cli.*"]}])
        result = subprocess.run([AUDITFWD_BIN, "send", "--socket", d.socket_path],
                                input=json.dumps(event("cli.sent")) + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(json.loads(result.stdout)["ok"], result.stdout)
        with as_root(d) as c:  # this test runs in python, not auditfwd
            [refused] = c.send([event("cli.sent")])
        self.assertEqual(refused["error"], "not_permitted")
        self.assertIn(f"exe {os.path.realpath(sys.executable)}", refused["detail"])
        self.assertIn("no [[ingest.allow]] rule matches the sender", refused["detail"])

    def test_prefix_patterns_match_descendants_and_exact_names_only_themselves(self):
        d = self.start([{"any_sender": True, "actions": ["user.*", "session.login"]}])
        with as_nobody(d) as c:
            replies = c.send([event("user.login"), event("user.mfa.enabled"), event("session.login"),
                              event("session.logout"), event("username.set"), event("session.login.failed")])
        self.assertEqual(codes(replies), ["ok", "ok", "ok", "not_permitted", "not_permitted", "not_permitted"])

    def test_over_the_rate_is_refused_naming_the_rule_then_allowed_again_after_refill(self):
        # 2 a second, burst 3: three at once, then one token every 500 ms.
        d = self.start([{"name": "batch", "any_sender": True, "actions": ["*"], "max_events_per_second": 2,
                         "burst": 3}], dispatch="async", store={"completed_retention": "1h"})
        ids = [str(uuid.uuid4()) for _ in range(10)]
        with as_nobody(d) as c:
            began = time.monotonic()
            replies = c.send([event("job.done", id=i) for i in ids])
            elapsed = time.monotonic() - began
            self.assertEqual(codes(replies[:3]), ["ok"] * 3)
            accepted = [i for i, r in zip(ids, replies) if r["ok"]]
            refused = [i for i, r in zip(ids, replies) if not r["ok"]]
            # Refills while the ten were handled, if that took long: never more than that.
            self.assertLessEqual(len(accepted), 3 + math.ceil(elapsed * 2), replies)
            self.assertGreaterEqual(len(refused), 1, replies)
            for r in replies[len(accepted):]:
                self.assertEqual(r["error"], "rate_limited", r)
                self.assertIn(f'uid {NOBODY} is over the rate of ingest.allow[0] ("batch")', r["detail"])
                self.assertIn("max_events_per_second = 2, burst = 3", r["detail"])
                self.assertIn("retry in", r["detail"])
            # The bucket is the uid's, not the connection's: another connection of nobody's is
            # limited too (unless a token came back meanwhile), while root has a full bucket of its own.
            with as_nobody(d) as other:
                [again] = other.send([event("job.done")])
            if time.monotonic() - began < 0.45:
                self.assertEqual(again.get("error"), "rate_limited", again)
            if again["ok"]:
                accepted.append(again["id"])
            with as_root(d) as root:
                self.assertEqual(codes(root.send([event("root.job")] * 3)), ["ok"] * 3)
            # Once the whole burst came back, the same connection is allowed again: the first
            # refused id is accepted now (it was neither stored nor acknowledged), then a duplicate.
            time.sleep(1.6)
            retried = refused[0]
            first, second, third = c.send([event("job.done", id=retried)] * 3)
            self.assertTrue(first["ok"] and not first.get("duplicate"), first)
            self.assertEqual(second, {"ok": True, "id": retried, "duplicate": True})
            self.assertEqual(third, {"ok": True, "id": retried, "duplicate": True})
        # Neither the store nor the forwarder saw a rate-limited event.
        delivered = self.delivered_through_marker(d, "marker.sent")
        self.assertEqual(sorted(e["id"] for e in delivered if e["source"]["uid"] == NOBODY),
                         sorted(accepted + [retried]))
        stored = {job["event_id"] for job in d.job_list()}
        self.assertEqual(stored, {e["id"] for e in delivered})
        self.assertTrue(stored.isdisjoint(refused[1:]), stored)

    def test_the_first_rule_matching_sender_and_action_decides(self):
        d = self.start([
            {"name": "logins", "any_sender": True, "actions": ["user.login"], "max_events_per_second": 1, "burst": 1},
            {"name": "users", "any_sender": True, "actions": ["user.*"]},
        ])
        with as_nobody(d) as c:
            replies = c.send([event("user.login"), event("user.login")] + [event("user.logout")] * 20)
        self.assertEqual(replies[0]["ok"], True)
        self.assertEqual(replies[1].get("error"), "rate_limited", f"a later rule must not let it through: {replies[1]}")
        self.assertIn('ingest.allow[0] ("logins")', replies[1]["detail"])
        self.assertEqual(codes(replies[2:]), ["ok"] * 20)

    def test_refusals_are_logged_at_most_once_a_second_with_a_count(self):
        d = self.start([{"any_sender": True, "actions": ["user.*"], "max_events_per_second": 1, "burst": 1}])
        with as_nobody(d) as c:
            replies = c.send([event("user.login")] * 51 + [event("admin.x")] * 5)
        self.assertEqual(codes(replies), ["ok"] + ["rate_limited"] * 50 + ["not_permitted"] * 5)
        key = "(rate_limited from uid 65534 by ingest.allow[0].max_events_per_second;"
        wait_until(lambda: "50 in all)" in d.log(), message="the held-back count in the log")
        lines = [line for line in d.log().splitlines() if key in line]
        self.assertLessEqual(len(lines), 4, lines)
        self.assertIn("refused an event from pid", lines[0])
        self.assertIn("more like this within a second", "\n".join(lines))
        wait_until(lambda: "(not_permitted from uid 65534 by ingest.allow; 5 in all)" in d.log(),
                   message="the not_permitted count in the log")

    def test_a_bad_rule_is_refused_at_load_naming_file_key_and_reason(self):
        directory = tempfile.mkdtemp(prefix="auditfwd-policy-cfg-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", directory]))
        forwarder = '[[forwarders]]\nid = "s"\ntype = "stdout"\n'
        cases = {
            'actions = ["a*b"]\nuids = [0]': 'ingest.allow[0].actions: "a*b" is not an action pattern',
            'actions = ["*"]': "ingest.allow[0]: matches no sender",
            'uids = [0]\nactions = ["*"]\nmax_events_per_second = 0': "ingest.allow[0].max_events_per_second: must be above 0",
            'uids = [0]\nactions = ["*"]\nusers_ = ["x"]': "ingest.allow[0].users_: unknown key",
            'exes = ["bash"]\nactions = ["*"]': 'ingest.allow[0].exes: "bash" is not an absolute path',
        }
        for n, (rule, expected) in enumerate(cases.items()):
            path = os.path.join(directory, f"bad{n}.toml")
            with open(path, "w") as f:
                f.write(f"[ingest]\nsocket = \"{directory}/s{n}.sock\"\n[store]\npath = \"{directory}/j{n}.db\"\n"
                        f"[[ingest.allow]]\n{rule}\n{forwarder}")
            for args in (["check-config", "--config", path], ["--config", path]):
                result = subprocess.run([AUDITFWD_BIN, *args], capture_output=True, text=True, timeout=60)
                self.assertEqual(result.returncode, 78, (args, result))
                self.assertRegex(result.stderr, "^" + re.escape(path) + r":\d+:\d+: " + re.escape(expected))
        good = os.path.join(directory, "good.toml")
        with open(good, "w") as f:
            f.write('[[ingest.allow]]\nname = "web"\nusers = ["www-data"]\nactions = ["user.*"]\n'
                    'max_events_per_second = 50\nburst = 100\n' + forwarder)
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", good], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
