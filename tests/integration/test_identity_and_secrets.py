"""Issue 10 items 5, 7 and 8 through the real daemon: who sent an event and from which host,
secret-bearing metadata keys in every disguise, the narrowed field rules, the file forwarder's
refusal of symbolic links and foreign files, and configured secrets kept out of job errors,
replies and the log."""
import grp
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap

from harness import AUDITFWD_BIN, DaemonTestCase, event, read_json_lines, requires, wait_until
from net_receivers import HttpReceiver


def file_forwarder(directory, dispatch="sync", name="out.log"):
    return {"id": "file", "type": "file", "dispatch": dispatch, "path": os.path.join(directory, name)}


def sync_file(directory):
    return [file_forwarder(directory)]


def first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip() or None
    except OSError:
        return None


def expected_unit(pid):
    """The unit of /proc/PID/cgroup as systemd finds it (sd_pid_get_unit): the first
    non-slice component of the systemd hierarchy, or None outside one."""
    hierarchies = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            number, controllers, path = line.rstrip("\n").split(":", 2)
            hierarchies[(number, controllers)] = path
    path = hierarchies.get(("0", "")) or next((p for (n, c), p in hierarchies.items() if c == "name=systemd"), None)
    for component in (path or "").split("/"):
        if component.endswith((".service", ".scope")):
            return component
        if component and not component.endswith(".slice"):
            return None
    return None


class IdentityTest(DaemonTestCase):
    def delivered(self, d, count):
        return wait_until(lambda: (lambda got: got if len(got) >= count else None)(read_json_lines(d.path("out.log"))),
                          message=f"{count} event(s) in the file")

    def test_source_and_host_are_the_kernels_view_of_the_sender(self):
        d = self.daemon(sync_file)
        [reply] = d.send([event("identity.check")])
        self.assertTrue(reply["ok"], reply)
        [written] = self.delivered(d, 1)
        uid, gid = os.getuid(), os.getgid()
        self.assertEqual(written["source"], {
            "uid": uid, "gid": gid, "pid": os.getpid(),
            "user": pwd.getpwuid(uid).pw_name,
            "group": grp.getgrgid(gid).gr_name,
            "exe": os.readlink("/proc/self/exe"),
            "comm": first_line("/proc/self/comm"),
            "unit": expected_unit(os.getpid()),
        })
        self.assertEqual(written["host"], {
            "hostname": socket.gethostname(),
            "machine_id": first_line("/etc/machine-id"),
            "boot_id": first_line("/proc/sys/kernel/random/boot_id"),
        })
        # Last, after what the client sent: the daemon's stamp.
        self.assertEqual(list(written)[-3:], ["received_at", "source", "host"])

    def test_another_program_is_named_by_its_own_executable(self):
        d = self.daemon(sync_file)
        result = subprocess.run([AUDITFWD_BIN, "send", "--socket", d.socket_path],
                                input=json.dumps(event("identity.other")) + "\n", capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        [written] = self.delivered(d, 1)
        self.assertEqual(written["source"]["exe"], os.path.realpath(AUDITFWD_BIN))
        self.assertEqual(written["source"]["comm"], "auditfwd")
        self.assertNotEqual(written["source"]["pid"], os.getpid())

    def test_identity_is_read_once_when_the_connection_is_accepted(self):
        # A client connects as python, is answered (so the daemon has accepted it), then
        # execs a shell that sends on the same socket: both events name python, the
        # program that connected, not what the process runs when the event arrives.
        d = self.daemon(sync_file)
        script = textwrap.dedent(r'''
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            s.sendall(b'{"action":"exec.before"}\n')
            reply = b""
            while not reply.endswith(b"\n"):
                reply += s.recv(4096)
            os.dup2(s.fileno(), 9)  # inheritable (the socket itself is close-on-exec)
            os.execv("/bin/sh", ["sh", "-c", "printf '%s\\n' '{\"action\":\"exec.after\"}' >&9; head -n 1 <&9"])
        ''')
        result = subprocess.run([sys.executable, "-c", script, d.socket_path], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(json.loads(result.stdout)["ok"], result.stdout)
        before, after = self.delivered(d, 2)
        self.assertEqual((before["action"], after["action"]), ("exec.before", "exec.after"))
        python = os.path.realpath(sys.executable)
        self.assertEqual(before["source"]["exe"], python)
        self.assertEqual(after["source"]["exe"], python, "the identity was read again after the exec")
        self.assertEqual(after["source"]["comm"], before["source"]["comm"])
        self.assertEqual(after["source"]["pid"], before["source"]["pid"])

    def test_a_client_cannot_supply_source_or_host(self):
        d = self.daemon(sync_file)
        replies = d.send([event("a.b", source={"exe": "/usr/bin/sudo"}), event("a.b", host={"hostname": "elsewhere"})])
        self.assertEqual([r["error"] for r in replies], ["invalid_event", "invalid_event"])
        self.assertIn("host", replies[1]["detail"])


SECRET_KEY_VARIANTS = ["Authorization", "private_key", "api-key", "apiKey", "passwd", "password ", "password\u0000",
                       "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", "\u017fecret", "credential", "credentials",
                       "cookie", "set_cookie", "Set-Cookie", "PASSWORD", "pass\u200bword", "Api_Key"]


class SecretKeysAndFieldsTest(DaemonTestCase):
    def test_every_disguise_of_a_secret_key_is_refused_at_any_depth(self):
        d = self.daemon(sync_file)
        lines = [event("a.b", metadata={key: "x"}) for key in SECRET_KEY_VARIANTS]
        lines += [event("a.b", metadata={"outer": [{"inner": {key: "x"}}]}) for key in SECRET_KEY_VARIANTS]
        replies = d.send(lines)
        for line, reply in zip(lines, replies):
            self.assertEqual(reply.get("error"), "forbidden_key", (line, reply))
        self.assertEqual(read_json_lines(d.path("out.log")), [])
        allowed = d.send([event("a.b", metadata={"token_count": 3, "passwords_changed": 1, "secretary": "x"})])
        self.assertTrue(allowed[0]["ok"], allowed)

    def test_ingest_forbidden_keys_adds_keys_compared_the_same_way(self):
        d = self.daemon(sync_file, ingest={"forbidden_keys": ["ssn", "card_number"]})
        replies = d.send([event("a.b", metadata={"SSN": "x"}), event("a.b", metadata={"cardNumber": "x"}),
                          event("a.b", metadata={"Card-Number": "x"}), event("a.b", metadata={"password": "x"}),
                          event("a.b", metadata={"ssn_count": 1})])
        self.assertEqual([r.get("error") for r in replies],
                         ["forbidden_key", "forbidden_key", "forbidden_key", "forbidden_key", None])
        plain = self.daemon(sync_file)
        self.assertTrue(plain.send([event("a.b", metadata={"SSN": "x"})])[0]["ok"])

    def test_field_rules_refuse_loose_times_and_zone_ids(self):
        d = self.daemon(sync_file)
        refused = [event("a.b", occurred_at="2026-11-26T12:34:60Z"),          # a leap second at noon
                   event("a.b", occurred_at="2016-12-31T23:59:60+01:00"),     # 22:59:60 UTC
                   event("a.b", occurred_at="2026-11-26T12:34:56." + "1" * 10 + "Z"),
                   event("a.b", occurred_at="2026-11-26T12:34:56." + "1" * 1000 + "Z"),
                   event("a.b", occurred_at="0000-01-01T00:00:00Z"),
                   event("a.b", occurred_at="1969-12-31T23:59:59Z"),
                   event("a.b", ip_address="fe80::1%nosuchif0"),
                   event("a.b", ip_address="fe80::1%lo")]
        replies = d.send(refused)
        for line, reply in zip(refused, replies):
            self.assertEqual(reply.get("error"), "invalid_event", (line, reply))
            self.assertTrue("occurred_at" in reply["detail"] or "ip_address" in reply["detail"], reply)
        accepted = [event("a.b", occurred_at="2016-12-31T23:59:60Z"),
                    event("a.b", occurred_at="2017-01-01T00:59:60.5+01:00"),
                    event("a.b", occurred_at="2026-11-26T12:34:56.123456789Z"),
                    event("a.b", occurred_at="1970-01-01T00:00:00Z"),
                    event("a.b", occurred_at="9999-12-31T23:59:59Z"),
                    event("a.b", ip_address="fe80::1")]
        replies = d.send(accepted)
        self.assertTrue(all(r["ok"] for r in replies), replies)

    def test_nesting_limit_is_the_documented_default(self):
        def nested(levels):  # the event is level 1, metadata level 2
            value = {}
            for _ in range(levels - 2):
                value = {"n": value}
            return event("a.b", metadata=value)

        d = self.daemon(sync_file)
        deepest, too_deep = d.send([nested(32), nested(33)])
        self.assertTrue(deepest["ok"], deepest)
        self.assertEqual(too_deep["error"], "invalid_event")
        self.assertIn("ingest.max_nesting_depth", too_deep["detail"])


class FileForwarderOwnershipTest(DaemonTestCase):
    def test_a_symbolic_link_at_the_path_is_not_followed(self):
        victim_dir = tempfile.mkdtemp(prefix="auditfwd-victim-")
        self.addCleanup(shutil.rmtree, victim_dir, True)
        victim = os.path.join(victim_dir, "victim")
        with open(victim, "w") as f:
            f.write("untouched\n")

        def forwarders(directory):
            os.symlink(victim, os.path.join(directory, "out.log"))
            return [file_forwarder(directory)]

        d = self.daemon(forwarders)
        [reply] = d.send([event("a.b")])
        self.assertFalse(reply["ok"], reply)
        self.assertEqual(reply["results"]["file"]["status"], "error")
        self.assertIn("symbolic link", reply["results"]["file"]["reason"])
        with open(victim) as f:
            self.assertEqual(f.read(), "untouched\n")
        wait_until(lambda: "symbolic link" in d.log(), message="the refusal in the log")

    @requires(os.geteuid() == 0, "root, to give a file to another uid (chown)")
    def test_a_file_owned_by_another_user_is_refused(self):
        def forwarders(directory):
            path = os.path.join(directory, "out.log")
            with open(path, "w"):
                pass
            os.chown(path, 65534, 65534)
            return [file_forwarder(directory, dispatch="async")]

        d = self.daemon(forwarders)
        [reply] = d.send([event("a.b")])
        self.assertTrue(reply["ok"], reply)  # enqueued; the delivery is refused
        [job] = wait_until(lambda: d.job_list("--state", "cancelled"), message="the job to be cancelled")
        self.assertEqual(job["event_id"], reply["id"])
        self.assertIn("owned by uid 65534", job["errors"][0]["error"])
        self.assertEqual(os.path.getsize(d.path("out.log")), 0)
        wait_until(lambda: "owned by uid 65534" in d.log(), message="the refusal in the log")


TOKEN = "tok-Zq8xW3vN5pL2kR7y"
API_KEY = "ak-93hf83hf9h"
HMAC_SECRET = "hm-0d9f8g7h6j"
EXEC_SECRET = "ex-u7y6t5r4e3"


class SecretRedactionTest(DaemonTestCase):
    def assert_nowhere(self, d, texts, *secrets):
        for secret in secrets:
            for text in texts + [d.log()]:
                self.assertNotIn(secret, text)

    def test_a_receiver_echoing_secrets_in_a_400_body_is_redacted_from_jobs_and_log(self):
        def respond(request):
            body = (f"invalid credentials: {request['headers'].get('authorization')}; "
                    f"key {request['headers'].get('x-api-key')}; hmac {HMAC_SECRET}; "
                    f'json {json.dumps({"token": TOKEN})}').encode()
            return 400, {"Content-Type": "text/plain"}, body

        r = HttpReceiver(respond=respond)
        self.addCleanup(r.stop)
        hook = {"id": "hook", "type": "http", "dispatch": "async", "url": r.url(), "bearer_token": TOKEN,
                "headers": {"X-API-Key": API_KEY, "X-Tenant": "acme"}, "hmac_secrets": [HMAC_SECRET]}
        sync_hook = dict(hook, id="sync-hook", dispatch="sync")
        d = self.daemon([hook, sync_hook])
        [reply] = d.send([event("a.b")])
        self.assertFalse(reply["ok"], reply)  # the sync forwarder's 400
        sync_reason = reply["results"]["sync-hook"]["reason"]
        self.assertIn("HTTP 400", sync_reason)
        self.assertIn("[REDACTED]", sync_reason)
        [job] = wait_until(lambda: d.job_list("--state", "cancelled"), message="the job to be cancelled")
        error = job["errors"][0]["error"]
        self.assertIn("invalid credentials: Bearer [REDACTED]; key [REDACTED]; hmac [REDACTED]", error)
        self.assertIn('"token": "[REDACTED]"', error)
        self.assertEqual(r.received()[0]["headers"]["authorization"], "Bearer " + TOKEN)  # it was sent
        wait_until(lambda: "cancelled" in d.log(), message="the cancellation in the log")
        self.assertEqual(d.stop(), 0)
        self.assert_nowhere(d, [json.dumps(reply), json.dumps(job)], TOKEN, API_KEY, HMAC_SECRET)

    def test_an_exec_child_echoing_its_secret_env_is_redacted(self):
        child = textwrap.dedent(r'''
            import json, os, sys
            secret = os.environ["API_TOKEN"]
            print(f"starting with {secret}", file=sys.stderr, flush=True)
            for line in sys.stdin:
                sys.stdout.write(json.dumps({"ok": False, "retry": False, "error": f"refused by key {secret}"}) + "\n")
                sys.stdout.flush()
        ''')
        d = self.daemon([{"id": "custom", "type": "exec", "dispatch": "async", "command": [sys.executable, "-c", child],
                          "env": {"API_TOKEN": EXEC_SECRET, "TENANT": "acme"}}])
        [reply] = d.send([event("a.b")])
        self.assertTrue(reply["ok"], reply)
        [job] = wait_until(lambda: d.job_list("--state", "cancelled"), message="the job to be cancelled")
        self.assertIn("refused by key [REDACTED]", job["errors"][0]["error"])
        wait_until(lambda: "starting with [REDACTED]" in d.log(), message="the child's stderr in the log")
        self.assertEqual(d.stop(), 0)
        self.assert_nowhere(d, [json.dumps(job)], EXEC_SECRET)
