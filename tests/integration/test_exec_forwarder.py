"""The exec forwarder with real child programs: answers, refusals, crashes, malformed replies, stderr."""
import json
import os
import sys
import textwrap
import time

from harness import DaemonTestCase, event, read_json_lines, wait_until

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "config", "examples", "exec_forwarder.py")
FAST_RETRY = {"backoff": "fixed", "backoff_min": "200ms"}

# A configurable child: argv[1] = its directory (output, state), argv[2] = behaviour.
CHILD = textwrap.dedent(r'''
    import json, os, sys
    directory, mode = sys.argv[1], sys.argv[2]
    state_path = os.path.join(directory, "state.json")
    state = json.load(open(state_path)) if os.path.exists(state_path) else {"runs": 0, "seen": {}, "answered": 0}

    def save():  # atomically: a child killed mid-write must not corrupt the next run's state
        with open(state_path + ".tmp", "w") as f:
            json.dump(state, f)
        os.replace(state_path + ".tmp", state_path)

    state["runs"] += 1
    save()
    with open(os.path.join(directory, "pids"), "a") as f:
        f.write(f"{os.getpid()}\n")
    print(f"exec-test: run {state['runs']} started", file=sys.stderr, flush=True)

    def answer(reply):
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()

    def deliver(ev):
        with open(os.path.join(directory, "out.jsonl"), "a") as f:
            f.write(json.dumps(ev) + "\n")
        answer({"ok": True})

    for line in sys.stdin:
        ev = json.loads(line)
        seen = state["seen"][ev["id"]] = state["seen"].get(ev["id"], 0) + 1
        save()
        if mode == "flaky" and seen == 1:
            answer({"ok": False, "retry": True, "error": "downstream busy, try again"})
        elif mode == "refuse" and ev["action"].startswith("bad."):
            answer({"ok": False, "retry": False, "error": "schema rejected " + ev["action"]})
        elif mode == "crash" and state["runs"] == 1 and state["answered"] == 2:
            print("exec-test: giving up after 2 answers", file=sys.stderr, flush=True)
            sys.exit(3)
        elif mode == "hang" and state["runs"] == 1:
            import time
            time.sleep(120)  # never answers: the daemon must time out and replace this child
        elif mode == "garble" and state["runs"] == 1:
            sys.stdout.write("OK\n")
            sys.stdout.flush()
        else:
            deliver(ev)
        state["answered"] += 1
        save()
''')


class ExecForwarderTest(DaemonTestCase):
    def exec_daemon(self, mode, **extra):
        def forwarders(directory):
            script = os.path.join(directory, "child.py")
            with open(script, "w") as f:
                f.write(CHILD)
            return [{"id": "custom", "type": "exec", "dispatch": "async",
                     "command": [sys.executable, script, directory, mode], **FAST_RETRY, **extra}]
        return self.daemon(forwarders, store={"completed_retention": "1h"})

    def delivered(self, d):
        return [e["id"] for e in read_json_lines(d.path("out.jsonl"))]

    def errors(self, d):
        return [e for (text,) in d.query("SELECT errors FROM jobs WHERE errors IS NOT NULL") for e in json.loads(text)]

    def test_retry_then_success(self):
        d = self.exec_daemon("flaky")
        ids = [reply["id"] for reply in d.send([event() for _ in range(3)])]
        wait_until(lambda: sorted(self.delivered(d)) == sorted(ids), message="every event after one retry")
        wait_until(lambda: d.query("SELECT count(*) FROM jobs WHERE state = 'completed' AND attempt = 2")[0][0] == 3,
                   message="three jobs completed at their second attempt")
        self.assertTrue(all(e["error"] == "downstream busy, try again" for e in self.errors(d)), self.errors(d))
        self.assertEqual(d.stop(), 0)

    def test_retry_false_cancels_the_job_with_the_error_text(self):
        d = self.exec_daemon("refuse")
        good, bad = d.send([event("user.login"), event("bad.thing")])
        wait_until(lambda: self.delivered(d) == [good["id"]], message="the good event")

        def cancelled():
            out = d.jobs("list", "--state", "cancelled", "--json").stdout
            return [json.loads(line) for line in out.splitlines() if line.strip()]
        [job] = wait_until(cancelled, message="the refused job cancelled")
        self.assertIn("schema rejected bad.thing", json.dumps(job["errors"]))
        self.assertEqual(d.query("SELECT attempt FROM jobs WHERE event_id = ?", bad["id"]), [(1,)])

    def test_a_child_that_dies_mid_batch_is_restarted_and_nothing_is_lost(self):
        d = self.exec_daemon("crash")
        ids = [reply["id"] for reply in d.send([event() for _ in range(5)])]
        wait_until(lambda: sorted(set(self.delivered(d))) == sorted(ids), message="all five events")
        wait_until(lambda: dict(d.query("SELECT state, count(*) FROM jobs GROUP BY state")) == {"completed": 5},
                   message="all jobs completed")
        self.assertEqual(len(set(self.delivered(d)[:2])), 2)  # the two answered before the crash stay delivered
        self.assertTrue(any("exited with status 3" in e["error"] for e in self.errors(d)), self.errors(d))
        log = d.log()
        self.assertIn("exec-test: giving up after 2 answers", log)  # the child's stderr, in the daemon log
        self.assertIn("exec-test: run 2 started", log)

    def test_a_malformed_reply_restarts_the_child(self):
        d = self.exec_daemon("garble")
        ids = [reply["id"] for reply in d.send([event() for _ in range(3)])]
        wait_until(lambda: sorted(set(self.delivered(d))) == sorted(ids), message="every event after the restart")
        self.assertTrue(any("malformed reply" in e["error"] for e in self.errors(d)), self.errors(d))
        self.assertIn("malformed reply from the child (not JSON): OK", d.log())

    def test_a_child_that_does_not_answer_in_time_is_replaced(self):
        d = self.exec_daemon("hang", timeout="500ms")
        ids = [reply["id"] for reply in d.send([event() for _ in range(2)])]
        wait_until(lambda: sorted(set(self.delivered(d))) == sorted(ids), message="every event after the timeout")
        self.assertTrue(any("timeout" in e["error"] for e in self.errors(d)), self.errors(d))
        with open(d.path("pids")) as f:
            first_pid = int(f.read().split()[0])
        wait_until(lambda: not os.path.exists(f"/proc/{first_pid}"), message="the hung child gone")
        self.assertEqual(d.stop(), 0)

    def test_stop_ends_and_reaps_the_child(self):
        d = self.exec_daemon("plain")
        [reply] = d.send([event()])
        wait_until(lambda: self.delivered(d) == [reply["id"]], message="the event")
        with open(d.path("pids")) as f:
            [pid] = [int(p) for p in f.read().split()]
        self.assertEqual(d.stop(), 0)
        self.assertFalse(os.path.exists(f"/proc/{pid}"), "the child outlived the daemon")

    def test_the_example_script_archives_events(self):
        d = self.daemon(lambda directory: [{"id": "archive", "type": "exec", "dispatch": "sync",
                                            "command": [sys.executable, EXAMPLE, os.path.join(directory, "a.jsonl")]}])
        replies = d.send([event("user.login"), event("user.logout")])
        self.assertEqual([r["results"]["archive"] for r in replies], [{"status": "ok"}] * 2)
        self.assertEqual([e["id"] for e in read_json_lines(d.path("a.jsonl"))], [r["id"] for r in replies])
        self.assertIn("exec_forwarder.py: appending events to", d.log())

    def test_a_missing_program_is_retried_not_fatal(self):
        d = self.daemon([{"id": "custom", "type": "exec", "dispatch": "async",
                          "command": ["/nonexistent/forwarder"], **FAST_RETRY}])
        d.send([event()])
        wait_until(lambda: any("cannot start /nonexistent/forwarder" in e["error"] for e in self.errors(d)),
                   message="the spawn failure recorded")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
