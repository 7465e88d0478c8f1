"""Issue 13 item 3 through the real daemon: SIGHUP applies a valid config (forwarders added,
changed, removed; [ingest] and log.level at once), refuses an invalid one or a change of socket or
store path with the reason in the log, and loses or repeats no reply and no queued job under load."""
import collections
import os
import signal
import sys
import textwrap
import threading
import time
import uuid

from harness import DaemonTestCase, event, read_json_lines, to_toml, wait_until


# An exec child that takes 20 ms per event and appends each to <dir>/slow.jsonl.
SLOW_CHILD = textwrap.dedent(r'''
    import json, os, sys, time
    out = os.path.join(sys.argv[1], "slow.jsonl")
    for line in sys.stdin:
        time.sleep(0.02)
        with open(out, "a") as f:
            f.write(line if line.endswith("\n") else line + "\n")
        sys.stdout.write(json.dumps({"ok": True}) + "\n")
        sys.stdout.flush()
''')


def file_forwarder(dir, id, dispatch, **keys):
    return {"id": id, "type": "file", "dispatch": dispatch, "path": os.path.join(dir, id + ".log"), **keys}


class ReloadTestCase(DaemonTestCase):
    def reload(self, d, forwarders=None, text=None, extra=""):
        """Writes the config (the daemon's dict with `forwarders`, or raw `text`), sends SIGHUP and
        waits for the reload to end; returns its result line ("applied" or "stays") and the log after it."""
        if text is None:
            if forwarders is not None:
                d.config["forwarders"] = forwarders
            text = to_toml(d.config) + extra
        return d.reload_with(text)


class ReloadUnderLoadTest(ReloadTestCase):
    CLIENTS = 3
    BATCH = 20
    RELOADS = 20

    def forwarders_at(self, dir, k):
        """The config of reload k: two steady forwarders, two changed every time, a temporary one
        added at k and removed at k + 2 (sync and async in turn)."""
        forwarders = [
            file_forwarder(dir, "steady-sync", "sync"),
            file_forwarder(dir, "steady-async", "async"),
            file_forwarder(dir, "changing-async", "async", concurrency=1 + k % 2, timeout=f"{5 + k % 3}s"),
            file_forwarder(dir, "changing-sync", "sync", fsync=k % 2 == 0),
        ]
        for t in (k - 1, k):
            if t >= 0:
                forwarders.append(file_forwarder(dir, f"temp-{t}", "async" if t % 2 else "sync"))
        return forwarders

    def test_twenty_reloads_under_pipelining_clients_lose_and_repeat_nothing(self):
        d = self.daemon(lambda dir: self.forwarders_at(dir, -1))
        stop = threading.Event()
        acked = []  # (id, results) of every accepted event
        failures = []
        lock = threading.Lock()

        def client(n):
            try:
                with d.client() as c:
                    while not stop.is_set():
                        ids = [str(uuid.uuid4()) for _ in range(self.BATCH)]
                        replies = c.send([event(f"load.client{n}", id=i) for i in ids])
                        for i, reply in zip(ids, replies):
                            if not reply.get("ok") or reply.get("id") != i or reply.get("duplicate"):
                                failures.append((i, reply))
                                continue
                            with lock:
                                acked.append((i, reply["results"]))
            except Exception as e:  # noqa: BLE001 - reported by the test below
                failures.append(("client", repr(e)))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(self.CLIENTS)]
        for t in threads:
            t.start()
        try:
            for k in range(self.RELOADS):
                count = len(acked)
                wait_until(lambda: len(acked) > count + self.BATCH, message="events between reloads")
                result, log = self.reload(d, self.forwarders_at(d.dir, k))
                self.assertEqual(result, "applied", log)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        self.assertEqual(failures, [], "every event answered ok, with its own id, once and in order")
        self.assertGreater(len(acked), self.RELOADS * self.BATCH)
        self.assertEqual(len({i for i, _ in acked}), len(acked), "no reply twice")

        # Per forwarder, the events it acknowledged (the results name the forwarders of that moment).
        expected = collections.defaultdict(set)
        for i, results in acked:
            for forwarder, result in results.items():
                self.assertIn(result["status"], ("ok", "enqueued"), (i, results))
                expected[forwarder].add(i)
        final = {f["id"] for f in self.forwarders_at(d.dir, self.RELOADS - 1)}
        removed = set(expected) - final
        self.assertGreaterEqual(len(removed), self.RELOADS - 2)

        def delivered(forwarder):
            return [e["id"] for e in read_json_lines(d.path(forwarder + ".log"))]

        for forwarder in sorted(final):
            wait_until(lambda: expected[forwarder] <= set(delivered(forwarder)), timeout=60,
                       message=f"every event acknowledged for {forwarder} in its file")
        def stored_jobs():
            stored = collections.defaultdict(list)
            for job in d.job_list():
                stored[job["forwarder"]].append(job)
            return stored

        def settled(stored):
            # Completed jobs of stored batches are recorded at the writer's next turn (within a second).
            return all(not ({j["event_id"] for j in stored[f]} & set(delivered(f))) for f in removed)
        stored = wait_until(lambda: (lambda s: [s] if settled(s) else None)(stored_jobs()),
                            message="outcomes recorded")[0]
        for forwarder in sorted(expected):
            ids = delivered(forwarder)
            self.assertEqual(len(ids), len(set(ids)), f"{forwarder}: an event delivered twice")
            self.assertLessEqual(set(ids), expected[forwarder], f"{forwarder}: an event it never acknowledged")
            if forwarder in removed:
                # Delivered before the removal, or waiting in the store for it; never both, never neither.
                jobs = stored[forwarder]
                waiting = {job["event_id"] for job in jobs}
                self.assertEqual(len(waiting), len(jobs), f"{forwarder}: a job twice")
                self.assertEqual(waiting & set(ids), set(), f"{forwarder}: delivered and still queued")
                self.assertEqual(waiting | set(ids), expected[forwarder], f"{forwarder}: an acknowledged event lost")
                self.assertLessEqual({job["state"] for job in jobs}, {"available", "retryable"},
                                     f"{forwarder}: jobs of a removed forwarder left executing")
        self.assertEqual(d.stop(), 0)


class ReloadRefusalTest(ReloadTestCase):
    def test_an_invalid_file_keeps_the_running_config_and_says_why(self):
        d = self.daemon(lambda dir: [file_forwarder(dir, "kept", "sync")])
        good = to_toml(d.config)
        # A forwarder whose type refuses a key, and a wrong value of a canonical key: both named.
        bad = good + ('\n[[forwarders]]\nid = "new"\ntype = "file"\npath = "x.log"\npathh = "typo"\n'
                      '\n[[forwarders]]\nid = "other"\ntype = "stdout"\ndispatch = "sometimes"\n')
        result, log = self.reload(d, text=bad)
        self.assertEqual(result, "stays", log)
        self.assertIn(f"{d.config_path}:", log)
        self.assertIn("dispatch", log)
        self.assertIn("the running config stays", log)
        self.assertEqual(list(d.send([event("a.b")])[0]["results"]), ["kept"])

        # A forwarder whose type keys its factory refuses: nothing of the file is applied either.
        result, log = self.reload(d, text=good + '\n[[forwarders]]\nid = "new"\ntype = "file"\npathh = "typo"\n')
        self.assertEqual(result, "stays", log)
        self.assertRegex(log, rf"{d.config_path}:\d+:\d+: forwarders\[1\]\.pathh: ")
        self.assertEqual(list(d.send([event("a.b")])[0]["results"]), ["kept"])

        result, log = self.reload(d, text="[ingest\n")
        self.assertEqual(result, "stays", log)
        self.assertIn(d.config_path, log)

        # The same file made valid: applied.
        result, log = self.reload(d, [file_forwarder(d.dir, "kept", "sync"), file_forwarder(d.dir, "new", "sync")])
        self.assertEqual(result, "applied", log)
        self.assertEqual(sorted(d.send([event("a.b")])[0]["results"]), ["kept", "new"])

    def test_a_socket_or_store_path_change_is_refused_whole(self):
        d = self.daemon(lambda dir: [file_forwarder(dir, "kept", "sync")])
        socket_path = d.config["ingest"]["socket"]
        for section, key, value in (("ingest", "socket", d.path("other.sock")), ("store", "path", d.path("other.db"))):
            d.config[section][key] = value
            result, log = self.reload(d, [file_forwarder(d.dir, "kept", "sync"), file_forwarder(d.dir, "new", "sync")])
            self.assertEqual(result, "stays", log)
            self.assertIn(f"{section}.{key} (", log)
            self.assertIn("restart", log)
            # The rest of the file was not applied either; the daemon still listens where it did.
            self.assertEqual(list(d.send([event("a.b")])[0]["results"]), ["kept"])
            self.assertTrue(os.path.exists(socket_path))
            self.assertFalse(os.path.exists(d.path("other.sock")))
            d.config["ingest"]["socket"] = socket_path
            d.config["store"]["path"] = d.db_path


class ReloadAppliesTest(ReloadTestCase):
    def test_removed_forwarder_jobs_stay_in_the_store_and_can_be_purged(self):
        # Its directory is a file: every delivery fails and is retried, so its jobs wait.
        def forwarders(dir):
            with open(os.path.join(dir, "blocked"), "w"):
                pass
            return [file_forwarder(dir, "kept", "sync"),
                    {"id": "stuck", "type": "file", "dispatch": "async", "path": os.path.join(dir, "blocked", "x.log"),
                     "backoff": "fixed", "backoff_min": "50ms", "max_attempts": 1000}]
        d = self.daemon(forwarders)
        replies = d.send([event("a.b") for _ in range(5)])
        self.assertEqual({r["results"]["stuck"]["status"] for r in replies}, {"enqueued"})
        wait_until(lambda: any(j["attempt"] >= 1 for j in d.job_list("--forwarder", "stuck")), message="an attempt")

        refused = d.jobs("purge", "--forwarder", "stuck")
        self.assertEqual(refused.returncode, 64, refused)
        self.assertIn("is in the config", refused.stderr)

        result, log = self.reload(d, [file_forwarder(d.dir, "kept", "sync")])
        self.assertEqual(result, "applied", log)
        self.assertRegex(log, r"forwarder stuck removed .*5 job\(s\) of it stay in the store")
        self.assertIn("jobs purge --forwarder stuck", log)
        jobs = d.job_list("--forwarder", "stuck")
        self.assertEqual(sorted(j["event_id"] for j in jobs), sorted(r["id"] for r in replies))
        time.sleep(0.3)  # several backoffs: a removed forwarder is attempted no more
        self.assertEqual({(j["event_id"], j["attempt"]) for j in d.job_list("--forwarder", "stuck")},
                         {(j["event_id"], j["attempt"]) for j in jobs})
        self.assertLessEqual({j["state"] for j in jobs}, {"available", "retryable"})

        purged = d.jobs("purge", "--forwarder", "stuck")
        self.assertEqual(purged.returncode, 0, purged)
        self.assertIn("5 job(s) of forwarder stuck purged", purged.stdout)
        self.assertEqual(d.job_list("--forwarder", "stuck"), [])
        self.assertTrue(d.send([event("a.b")])[0]["ok"])

    def test_a_removed_forwarder_finishes_its_delivery_and_puts_handed_over_jobs_back(self):
        # A slow destination (an exec child, 20 ms an event): jobs wait in the worker's hand-off.
        def slow(dir):
            script = os.path.join(dir, "slow.py")
            with open(script, "w") as f:
                f.write(SLOW_CHILD)
            return {"id": "slow", "type": "exec", "dispatch": "async", "command": [sys.executable, script, dir]}
        d = self.daemon(lambda dir: [slow(dir)])
        replies = d.send([event("a.b") for _ in range(200)])
        wait_until(lambda: read_json_lines(d.path("slow.jsonl")), message="the first deliveries")
        result, log = self.reload(d, [file_forwarder(d.dir, "other", "sync")])
        self.assertEqual(result, "applied", log)
        self.assertRegex(log, r"forwarder slow removed after its deliveries in flight \(\d+ handed-over job")
        def state():
            delivered = [e["id"] for e in read_json_lines(d.path("slow.jsonl"))]
            waiting = {j["event_id"]: j for j in d.job_list("--forwarder", "slow")}
            return (delivered, waiting) if not set(delivered) & set(waiting) else None
        # Completed jobs of stored batches are recorded at the writer's next turn (within a second).
        delivered, waiting = wait_until(state, message="outcomes recorded")
        self.assertTrue(waiting, "the removal came before the backlog was delivered")
        self.assertEqual(len(delivered), len(set(delivered)))
        self.assertEqual(set(delivered) & set(waiting), set())
        self.assertEqual(set(delivered) | set(waiting), {r["id"] for r in replies})
        self.assertLessEqual({j["state"] for j in waiting.values()}, {"available", "retryable"})
        # Added again: it delivers what waited, once.
        result, log = self.reload(d, [slow(d.dir)])
        self.assertEqual(result, "applied", log)
        wait_until(lambda: len(read_json_lines(d.path("slow.jsonl"))) >= 200, timeout=60, message="the rest")
        ids = [e["id"] for e in read_json_lines(d.path("slow.jsonl"))]
        self.assertEqual(sorted(ids), sorted(r["id"] for r in replies))

    def test_ingest_rules_apply_at_once_to_an_open_connection(self):
        d = self.daemon(lambda dir: [file_forwarder(dir, "f", "sync")])
        with d.client() as c:
            self.assertTrue(c.send([event("other.thing")])[0]["ok"])
            result, log = self.reload(d, extra='\n[[ingest.allow]]\nany_sender = true\nactions = ["allowed.*"]\n')
            self.assertEqual(result, "applied", log)
            refused, allowed = c.send([event("other.thing"), event("allowed.thing")])
            self.assertEqual(refused.get("error"), "not_permitted", refused)
            self.assertTrue(allowed["ok"], allowed)

    def test_log_level_applies_at_once(self):
        d = self.daemon(lambda dir: [file_forwarder(dir, "f", "sync")])
        d.config["log"]["level"] = "warn"
        with open(d.config_path, "w") as f:
            f.write(to_toml(d.config))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "log.level debug → warn" in d.log(), message="the level change")
        mark = len(d.log())
        d.send([event("a.b")])  # a connection: a debug line at debug
        result, log = self.reload(d, text="[ingest\n")  # an error line: seen at warn
        self.assertEqual(result, "stays")
        quiet = d.log()[mark:]
        self.assertIn("error:", quiet)
        self.assertNotIn(" debug:", quiet)
        self.assertNotIn(" info:", quiet)
