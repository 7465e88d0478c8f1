"""Config files (TOML and JSON), check-config, boot refusal, signals, the embedded default."""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from harness import AUDITFWD_BIN, Client, DaemonTestCase, event, read_json_lines, wait_until
from net_receivers import HttpReceiver


def run(*args, cwd=None, env=None, timeout=30):
    return subprocess.run([AUDITFWD_BIN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


class ConfigTest(DaemonTestCase):
    def write(self, name, text):
        path = os.path.join(tempfile.mkdtemp(prefix="auditfwd-cfg-"), name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_json_config_runs_the_same_daemon(self):
        d = self.daemon(lambda dir: [{"id": "f", "type": "file", "path": os.path.join(dir, "o.log")}], fmt="json")
        self.assertTrue(d.config_path.endswith(".json"))
        reply = d.send([event("a.b")])[0]
        self.assertEqual(reply["results"]["f"]["status"], "enqueued")  # auto with a healthy store
        wait_until(lambda: read_json_lines(d.path("o.log")), message="delivery")

    def test_check_config_ok_and_errors_name_file_key_reason(self):
        good = self.write("good.toml", '[[forwarders]]\nid = "s"\ntype = "stdout"\n')
        result = run("check-config", "--config", good)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("ok", result.stdout)
        bad = self.write("bad.toml", '[store]\ndurability = "maybe"\n[[forwarders]]\nid = "s"\ntype = "stdout"\n')
        result = run("check-config", "--config", bad)
        self.assertEqual(result.returncode, 78)
        self.assertIn(f"{bad}:2:1: store.durability: must be one of fsync, os", result.stderr)
        typo = self.write("typo.json", json.dumps({"forwarders": [{"id": "f", "type": "file", "path": "/tmp/x", "fsnyc": True}]}))
        result = run("check-config", "--config", typo)
        self.assertEqual(result.returncode, 78)
        self.assertIn(f"{typo}:1:63: forwarders[0].fsnyc: unknown key", result.stderr)
        unknown_type = self.write("t.toml", '[[forwarders]]\nid = "x"\ntype = "carrier_pigeon"\n')
        result = run("check-config", "--config", unknown_type)
        self.assertEqual(result.returncode, 78)
        self.assertIn("forwarders[0].type: unknown forwarder type", result.stderr)

    def test_async_without_store_refuses_to_boot_with_78_naming_the_fixes(self):
        path = self.write("a.toml", '[store]\nenabled = false\n[[forwarders]]\nid = "siem"\ntype = "stdout"\ndispatch = "async"\n')
        for args in (["check-config", "--config", path], ["--config", path]):
            result = run(*args)
            self.assertEqual(result.returncode, 78, result)
            self.assertIn('forwarder "siem"', result.stderr)
            self.assertIn("enable the store", result.stderr)
            self.assertIn('dispatch = "auto"', result.stderr)
            self.assertIn("remove the forwarder entry", result.stderr)

    def test_env_substitution_and_auditfwd_config_variable(self):
        dir = tempfile.mkdtemp(prefix="auditfwd-env-")
        path = self.write("env.toml", '[ingest]\nsocket = "${T_DIR}/s.sock"\n[store]\npath = "${T_DIR}/j.db"\n'
                                      '[[forwarders]]\nid = "f"\ntype = "file"\npath = "${T_DIR}/o.log"\n')
        env = dict(os.environ, T_DIR=dir, AUDITFWD_CONFIG=path)
        proc = subprocess.Popen([AUDITFWD_BIN], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            wait_until(lambda: os.path.exists(os.path.join(dir, "s.sock")), message="socket from ${T_DIR}")
            with Client(os.path.join(dir, "s.sock")) as c:
                self.assertTrue(c.send([event("a.b")])[0]["ok"])
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
        missing = run("check-config", "--config", path, env={k: v for k, v in os.environ.items() if k != "T_DIR"})
        self.assertEqual(missing.returncode, 78)
        self.assertRegex(missing.stderr, r"env.toml:\d+:\d+: [a-z_\[\]0-9.]+: environment variable T_DIR is not set")


class LifecycleTest(DaemonTestCase):
    def test_sigterm_answers_what_was_read_and_exits_0(self):
        r = HttpReceiver(hold=1)  # the first delivery stays in flight until released
        self.addCleanup(r.stop)
        d = self.daemon([{"id": "hook", "type": "http", "dispatch": "async", "url": r.url(), "timeout": "60s"}],
                        store={"completed_retention": "1h"}, workers={"shutdown_grace": "30s"})
        with d.client() as c:
            replies = c.send([event("a.b") for _ in range(100)])
        self.assertTrue(all(reply["results"]["hook"]["status"] == "enqueued" for reply in replies), replies)
        wait_until(r.holding.is_set, message="a delivery in flight")

        d.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "stopping:" in d.log() or d.proc.poll() is not None, message="the stop to begin")
        with self.assertRaises(subprocess.TimeoutExpired, msg="exited before the delivery in flight ended"):
            d.proc.wait(timeout=1)
        r.release.set()
        self.assertEqual(d.wait(), 0)
        self.assertIn("stopped", d.log())
        self.assertFalse(os.path.exists(d.socket_path))

        # The delivery in flight completed and was recorded; everything else is still queued, never executing.
        [delivered] = [e["id"] for request in r.received() for e in r.events(request)]
        states = {job["event_id"]: job["state"] for job in d.job_list()}
        self.assertEqual(states.pop(delivered), "completed")
        self.assertEqual(set(states), {reply["id"] for reply in replies} - {delivered})
        self.assertEqual(set(states.values()), {"available"})

    def test_sigint_also_stops_cleanly(self):
        d = self.daemon(lambda dir: [{"id": "s", "type": "stdout"}])
        self.assertEqual(d.stop(signal.SIGINT), 0)

    def test_sighup_reopens_the_file_for_logrotate(self):
        d = self.daemon(lambda dir: [{"id": "f", "type": "file", "dispatch": "sync", "path": os.path.join(dir, "o.log")}])
        d.send([event("before.rotate")])
        os.rename(d.path("o.log"), d.path("o.log.1"))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP" in d.log(), message="SIGHUP handled")
        d.send([event("after.rotate")])
        self.assertEqual([e["action"] for e in read_json_lines(d.path("o.log.1"))], ["before.rotate"])
        self.assertEqual([e["action"] for e in read_json_lines(d.path("o.log"))], ["after.rotate"])

    def test_embedded_default_runs_from_a_checkout_directory(self):
        cwd = tempfile.mkdtemp(prefix="auditfwd-default-")
        env = {k: v for k, v in os.environ.items() if k != "AUDITFWD_CONFIG"}
        proc = subprocess.Popen([AUDITFWD_BIN], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            sock = os.path.join(cwd, "var", "auditfwd.sock")
            wait_until(lambda: os.path.exists(sock), message="./var/auditfwd.sock")
            with Client(sock) as c:
                reply = c.send([event("default.config")])[0]
            self.assertTrue(reply["ok"], reply)
            self.assertEqual(reply["results"]["stdout"], {"status": "ok"})
            self.assertEqual(reply["results"]["audit-log"]["status"], "enqueued")
            wait_until(lambda: read_json_lines(os.path.join(cwd, "var", "audit.log")), message="./var/audit.log")
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(json.loads(out.decode().splitlines()[0])["action"], "default.config")


if __name__ == "__main__":
    unittest.main()
