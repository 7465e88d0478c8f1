"""Retries, discards, the jobs CLI beside a running daemon, retention, store limits."""
import json
import os
import subprocess
import time
import unittest

from harness import DaemonTestCase, event, missing_prerequisite, read_json_lines, requires, wait_until


def blocked_file_forwarder(dir, name="flaky", **extra):
    """A file forwarder whose directory is blocked by a regular file until the test removes it."""
    blocker = os.path.join(dir, name + "-dir")
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    return {"id": name, "type": "file", "dispatch": "async", "path": os.path.join(blocker, "out.log"),
            "backoff": "fixed", "backoff_min": "100ms", **extra}


def jobs_json(d, *args):
    result = d.jobs("list", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


class DeadLetterTest(DaemonTestCase):
    def test_retry_then_discard_then_cli_retry_is_delivered_by_the_running_daemon(self):
        d = self.daemon(lambda dir: [blocked_file_forwarder(dir, max_attempts=3)])
        replies = d.send([event("a.b"), event("c.d")])
        self.assertTrue(all(r["results"]["flaky"]["status"] == "enqueued" for r in replies))
        wait_until(lambda: len(jobs_json(d, "--state", "discarded")) == 2, message="both jobs discarded")
        dead = jobs_json(d, "--state", "discarded")
        self.assertEqual([job["attempt"] for job in dead], [3, 3])
        self.assertEqual(len(dead[0]["errors"]), 3)
        self.assertEqual([e["attempt"] for e in dead[0]["errors"]], [1, 2, 3])
        self.assertIn("Not a directory", dead[0]["errors"][0]["error"])
        table = d.jobs("list", "--state", "discarded")
        self.assertIn("discarded", table.stdout)
        self.assertIn("2 job(s)", table.stdout)

        os.remove(d.path("flaky-dir"))  # the destination comes back
        retried = d.jobs("retry", "--all-discarded")
        self.assertEqual(retried.returncode, 0, retried.stderr)
        self.assertIn("2 job(s)", retried.stdout)
        wait_until(lambda: len(read_json_lines(d.path("flaky-dir/out.log"))) == 2, message="retried delivery")
        self.assertEqual({e["id"] for e in read_json_lines(d.path("flaky-dir/out.log"))}, {r["id"] for r in replies})
        wait_until(lambda: d.query("SELECT count(*) FROM jobs")[0][0] == 0, message="completed jobs pruned")

    def test_retry_by_id_and_purge(self):
        d = self.daemon(lambda dir: [blocked_file_forwarder(dir, max_attempts=1)])
        d.send([event("a.b"), event("c.d"), event("e.f")])
        wait_until(lambda: len(jobs_json(d, "--state", "discarded")) == 3, message="discarded jobs")
        first = jobs_json(d, "--state", "discarded")[0]["id"]
        self.assertIn("1 job(s)", d.jobs("retry", str(first)).stdout)
        wait_until(lambda: len(jobs_json(d, "--state", "discarded")) == 3, message="discarded again (still blocked)")
        purged = d.jobs("purge", "--state", "discarded")
        self.assertIn("3 job(s) purged", purged.stdout)
        self.assertEqual(jobs_json(d), [])
        refused = d.jobs("purge", "--state", "available")
        self.assertNotEqual(refused.returncode, 0)

    def test_completed_retention_keeps_then_prunes(self):
        d = self.daemon(lambda dir: [{"id": "f", "type": "file", "dispatch": "async", "path": os.path.join(dir, "o.log")}],
                        store={"completed_retention": "2s"})
        d.send([event("a.b")])
        wait_until(lambda: jobs_json(d, "--state", "completed"), message="a completed job kept")
        wait_until(lambda: not jobs_json(d, "--state", "completed"), timeout=20, message="the completed job pruned")


class LimitsTest(DaemonTestCase):
    def test_max_pending_jobs_store_full_auto_falls_back_to_sync(self):
        d = self.daemon(lambda dir: [
            blocked_file_forwarder(dir, "queue", backoff_min="1h"),
            {"id": "local", "type": "file", "dispatch": "auto", "path": os.path.join(dir, "local.log")},
        ], store={"max_pending_jobs": 10})
        # "queue" never drains, "local" may: send until the store refuses.
        replies = []
        for _ in range(50):
            replies.append(d.send([event("fill.up")])[0])
            if not replies[-1]["ok"]:
                break
        self.assertGreaterEqual(len(replies), 6)  # at least 5 events x 2 jobs fit
        self.assertTrue(all(r["ok"] for r in replies[:-1]))
        full = replies[-1]
        self.assertFalse(full["ok"])
        self.assertEqual(full["error"], "unavailable")
        self.assertEqual(full["results"]["queue"]["error"], "store_full")
        self.assertEqual(full["results"]["local"]["status"], "ok")  # auto delivered inline
        self.assertIn(full["id"], {e["id"] for e in read_json_lines(d.path("local.log"))})
        self.assertIn("store_full", d.log())  # "store_full: N event(s) refused" or "job store full (…): async results are store_full"
        stats = wait_until(lambda: self._stats(d, lambda s: s["daemon"] and s["daemon"]["store_full_rejections"] > 0),
                           message="the store_full counter")
        self.assertGreaterEqual(stats["daemon"]["store_full_rejections"], 1)
        self.assertGreaterEqual(stats["jobs"]["queue"]["retryable"], 5)

    def test_max_bytes_store_full(self):
        d = self.daemon(lambda dir: [blocked_file_forwarder(dir, "queue", backoff_min="1h")],
                        store={"max_bytes": "256KiB"})
        refused = send_until_refused(d, "big.event", pad_bytes=7000, attempts=200)
        self.assertIsNotNone(refused, "store.max_bytes never reached")
        self.assertEqual(refused["results"]["queue"]["error"], "store_full")
        stats = wait_until(lambda: self._stats(d, lambda s: s["daemon"] and s["daemon"]["store_full_rejections"] > 0),
                           message="the store_full counter")
        self.assertGreater(stats["daemon"]["store_full_rejections"], 0)

    def _stats(self, d, predicate):
        result = d.jobs("stats", "--json")
        if result.returncode != 0:
            return None
        stats = json.loads(result.stdout)
        return stats if predicate(stats) else None


def send_until_refused(d, action, pad_bytes, attempts, on_accepted=None):
    """Sends padded events one by one until one is refused; returns that reply, or None."""
    pad = "p" * pad_bytes
    for i in range(attempts):
        reply = d.send([event(action, metadata={"pad": pad, "i": i})])[0]
        if not reply["ok"]:
            return reply
        if on_accepted:
            on_accepted(reply)
    return None


@requires(os.geteuid() == 0, "mounting a small tmpfs needs root")
class DiskFullTest(DaemonTestCase):
    def test_full_disk_gives_clear_errors_no_corruption_and_recovers_by_itself(self):
        d = self.daemon(lambda dir: [
            {"id": "queue", "type": "file", "dispatch": "async", "path": os.path.join(dir, "queue.log")},
            {"id": "local", "type": "file", "dispatch": "auto", "path": os.path.join(dir, "local.log")},
        ], start=False)
        store_dir = d.path("store")
        os.makedirs(store_dir)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", store_dir]).returncode != 0:
            missing_prerequisite(self, "cannot mount a tmpfs here")
        self.addCleanup(subprocess.run, ["umount", "-l", store_dir])
        d.config["store"]["path"] = os.path.join(store_dir, "jobs.db")
        d.db_path = d.config["store"]["path"]
        from harness import to_toml
        with open(d.config_path, "w") as f:
            f.write(to_toml(d.config))
        d.start()
        self.assertTrue(d.send([event("before.full")])[0]["ok"])

        filler = os.path.join(store_dir, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)  # take every byte left, unbuffered
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)
        def accepted(reply):
            self.assertEqual(reply["results"]["queue"]["status"], "enqueued")
        refused = send_until_refused(d, "while.full", pad_bytes=6000, attempts=300, on_accepted=accepted)
        self.assertIsNotNone(refused, "the full disk never surfaced")
        self.assertIn(refused["results"]["queue"]["error"], ("store_error", "async_unavailable"))
        self.assertEqual(refused["results"]["local"]["status"], "ok")  # auto fell back to sync
        self.assertIn("commit failed", d.log())

        os.remove(filler)  # space returns
        wait_until(lambda: "recovered" in d.log(), timeout=20, message="recovery")
        after = d.send([event("after.recovery")])[0]
        self.assertTrue(after["ok"], after)
        self.assertEqual(after["results"]["queue"]["status"], "enqueued")
        wait_until(lambda: after["id"] in {e["id"] for e in read_json_lines(d.path("queue.log"))}, message="delivery")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.query("PRAGMA integrity_check"), [("ok",)])


if __name__ == "__main__":
    unittest.main()
