"""kill -9 under pipelined load from several clients, again and again: every event
acknowledged as enqueued reaches every async forwarder, and the database stays sound."""
import json
import os
import random
import select
import signal
import socket
import threading
import time
import unittest
import uuid

from harness import DaemonTestCase, event, missing_prerequisite, wait_until

ROUNDS = 12
CLIENTS = 3


def ids_in(path):
    """Event ids in a JSON-lines file; a line torn by a kill is not an event."""
    ids = set()
    if os.path.exists(path):
        with open(path, "rb") as f:
            for line in f:
                try:
                    ids.add(json.loads(line)["id"])
                except (ValueError, KeyError):
                    pass
    return ids


def pump(socket_path, acked, lock, stop):
    """Pipelines batches of events until the daemon dies; records every enqueued ack."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(socket_path)
        reader = s.makefile("rb")
        while not stop.is_set():
            batch = [json.dumps(event("crash.test", metadata={"n": i})) + "\n" for i in range(200)]
            s.sendall("".join(batch).encode())
            for _ in batch:
                line = reader.readline()
                if not line:
                    return
                reply = json.loads(line)
                if reply.get("ok"):
                    assert all(r["status"] == "enqueued" for r in reply["results"].values()), reply
                    with lock:
                        acked.add(reply["id"])
    except (OSError, ValueError):
        return  # the daemon was killed mid-conversation: expected


# An exec forwarder that refuses (retry) every other event the first time its
# process sees it: those jobs leave their batch for rows of their own, so kills
# also land in that bookkeeping and in retries.
FLAKY = r"""
import json, sys
seen = set()
out = open(sys.argv[1], "a")
for line in sys.stdin:
    event_id = json.loads(line)["id"]
    if int(event_id[-1], 16) % 2 and event_id not in seen:
        seen.add(event_id)
        print(json.dumps({"ok": False, "retry": True, "error": "not this time"}), flush=True)
        continue
    out.write(line)
    out.flush()
    print(json.dumps({"ok": True}), flush=True)
"""


class CrashSafetyTest(DaemonTestCase):
    def test_sigkill_at_random_moments_loses_no_acknowledged_event(self):
        rng = random.Random(int(os.environ.get("CRASH_SEED", "20261126")))

        def forwarders(dir):
            flaky = os.path.join(dir, "flaky.py")
            with open(flaky, "w") as f:
                f.write(FLAKY)
            return [
                {"id": "a", "type": "file", "dispatch": "async", "path": os.path.join(dir, "a.log")},
                {"id": "b", "type": "file", "dispatch": "async", "path": os.path.join(dir, "b.log"), "concurrency": 2},
                {"id": "c", "type": "exec", "dispatch": "async", "command": ["/usr/bin/python3", flaky, os.path.join(dir, "c.log")],
                 "backoff": "fixed", "backoff_min": "100ms", "max_attempts": 100},
            ]
        d = self.daemon(forwarders, store={"durability": "fsync"}, start=False)
        acked, lock = set(), threading.Lock()
        for round_number in range(ROUNDS):
            d.start()
            stop = threading.Event()
            threads = [threading.Thread(target=pump, args=(d.socket_path, acked, lock, stop)) for _ in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 0.6))
            d.kill()  # SIGKILL: no drain, no cleanup, socket file left behind
            stop.set()
            for t in threads:
                t.join(timeout=30)
            self.assertTrue(os.path.exists(d.socket_path), "a killed daemon leaves its socket file")
        self.assertGreater(len(acked), 1000, "the load should have produced acknowledged events")

        d.start()  # the last start also rescues jobs left executing and drains the rest
        for name in ("a.log", "b.log", "c.log"):
            wait_until(lambda: acked <= ids_in(d.path(name)), timeout=180,
                       message=f"every acknowledged event in {name}")
        # Nothing is left pending once every outcome is recorded.
        wait_until(lambda: not [row for row in d.job_list() if row["state"] in ("available", "retryable")],
                   timeout=60, message="no pending job left")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.query("PRAGMA integrity_check"), [("ok",)])
        self.assertEqual(d.job_list("--state", "discarded") + d.job_list("--state", "cancelled"), [])
        self.assertEqual(d.query("SELECT count(*) FROM batches"), [(0,)])
        print(f"\n{ROUNDS} kills, {len(acked)} acknowledged events, all delivered to the three forwarders")



# A stand-in for a disk that hangs, then fails. Once FLAG exists, every fdatasync
# creates FLAG.entered, waits until FLAG.release exists (at most 60 s), then fails
# with EIO: the test looks for an early reply while the daemon cannot have exited yet.
FAILING_FDATASYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  const char* flag = getenv("AUDITFWD_TEST_FAIL_FDATASYNC");
  if (flag && access(flag, F_OK) == 0) {
    char path[4096];
    snprintf(path, sizeof path, "%s.entered", flag);
    close(open(path, O_WRONLY | O_CREAT, 0600));
    snprintf(path, sizeof path, "%s.release", flag);
    for (int i = 0; i < 12000 && access(path, F_OK) != 0; ++i) usleep(5000);
    errno = EIO;
    return -1;
  }
  return real(fd);
}
"""


# A disk whose syncs the test releases one at a time. Once FLAG exists, the
# syncer threads' fdatasync calls are numbered 1, 2, ... and call k waits until
# FLAG.k exists (at most 60 s). Other threads' calls (checkpoints) pass through.
GATED_FDATASYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
int fdatasync(int fd) {
  static int (*real)(int);
  static int calls;
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  const char* flag = getenv("AUDITFWD_TEST_GATED_FDATASYNC");
  char name[16] = "";
  prctl(PR_GET_NAME, name);
  if (flag && access(flag, F_OK) == 0 && strcmp(name, "auditfwd-sync") == 0) {
    char release[4096];
    snprintf(release, sizeof release, "%s.%d", flag, __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST));
    for (int i = 0; i < 12000 && access(release, F_OK) != 0; ++i) usleep(5000);
  }
  return real(fd);
}
"""


def durable_file_daemon(test, shim_source, env_name, flag_name, **store):
    """An unstarted daemon (one async file forwarder, durability fsync) whose
    fdatasync goes through `shim_source`, switched on by creating the flag file."""
    import shutil
    import subprocess
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        missing_prerequisite(test, "no C compiler (cc or gcc) for the fdatasync shim")
    d = test.daemon(lambda dir: [{"id": "file", "type": "file", "dispatch": "async",
                                  "path": os.path.join(dir, "out.log")}],
                    store={"durability": "fsync", **store}, start=False)
    shim, source = d.path("fdatasync_shim.so"), d.path("fdatasync_shim.c")
    with open(source, "w") as f:
        f.write(shim_source)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", shim, source, "-ldl"], check=True)
    flag = d.path(flag_name)
    d.env.update({"LD_PRELOAD": shim, env_name: flag,
                  "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
    return d, flag


def release_sync(flag, k):
    open(f"{flag}.{k}", "w").close()


def assert_no_reply_yet(test, s, why):
    s.setblocking(False)
    with test.assertRaises(BlockingIOError, msg=why):
        s.recv(4096)
    s.setblocking(True)


class HeldSyncTest(DaemonTestCase):
    def gated_daemon(self):
        # Delivered jobs are kept, so the table shows what was committed.
        d, flag = durable_file_daemon(self, GATED_FDATASYNC_C, "AUDITFWD_TEST_GATED_FDATASYNC", "hold",
                                      completed_retention="1h")
        d.start()
        open(flag, "w").close()  # from now on each sync waits for its release file
        return d, flag

    def committed(self, d, event_id, message):
        wait_until(lambda: [row["event_id"] for row in d.job_list()].count(event_id) == 1,
                   timeout=30, message=message)

    def test_events_sent_during_a_sync_are_committed_meanwhile_and_each_answered_after_its_own_sync(self):
        d, flag = self.gated_daemon()
        ids = [str(uuid.uuid4()) for _ in range(3)]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(d.socket_path)
            replies = s.makefile("rb")
            for i, event_id in enumerate(ids):  # three separate writes, so three reads
                s.sendall((json.dumps(event("sync.held", id=event_id)) + "\n").encode())
                self.committed(d, event_id, f"event {i} committed while the first sync is held")
            assert_no_reply_yet(self, s, "no reply before the first commit is on disk")
            release_sync(flag, 1)  # the first event's sync; the second's (sync 2) is still held
            first = json.loads(replies.readline())
            self.assertEqual(first["id"], ids[0])
            time.sleep(0.5)
            assert_no_reply_yet(self, s, "the second event answered before its own sync")
            for k in range(2, 10):
                release_sync(flag, k)
            rest = [json.loads(replies.readline()) for _ in ids[1:]]
        answered = [first] + rest
        self.assertEqual([r["id"] for r in answered], ids, "replies in the order the events were sent")
        self.assertTrue(all(r["ok"] and r["results"]["file"]["status"] == "enqueued" for r in answered), answered)
        os.remove(flag)
        self.assertEqual(d.stop(), 0)

    def test_a_duplicate_is_not_acknowledged_before_its_first_copy_is_on_disk(self):
        d, flag = self.gated_daemon()
        event_id = str(uuid.uuid4())
        line = (json.dumps(event("sync.duplicate", id=event_id)) + "\n").encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as first, \
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as second:
            for s in (first, second):
                s.settimeout(30)
                s.connect(d.socket_path)
            first.sendall(line)
            self.committed(d, event_id, "the first copy committed (its sync held)")
            second.sendall(line)  # the store knows the id, but the first copy is not on disk yet
            time.sleep(0.5)
            assert_no_reply_yet(self, second, "'duplicate' before the first copy is on disk")
            for k in range(1, 10):
                release_sync(flag, k)
            replies = [json.loads(s.makefile().readline()) for s in (first, second)]
        self.assertEqual(replies[0]["results"]["file"]["status"], "enqueued", replies)
        self.assertEqual(replies[1], {"ok": True, "id": event_id, "duplicate": True})
        os.remove(flag)
        self.assertEqual(d.stop(), 0)


class FailedSyncTest(DaemonTestCase):
    def test_failed_fdatasync_stops_the_daemon_without_acknowledging(self):
        d, flag = durable_file_daemon(self, FAILING_FDATASYNC_C, "AUDITFWD_TEST_FAIL_FDATASYNC", "fail-now",
                                      completed_retention="1h")
        d.start()

        before = d.send([event("sync.ok", metadata={"n": i}) for i in range(5)])
        self.assertTrue(all(r["ok"] and r["results"]["file"]["status"] == "enqueued" for r in before), before)

        open(flag, "w").close()  # from now on every fdatasync hangs until released, then fails
        lost = event("sync.lost", id=str(uuid.uuid4()))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(d.socket_path)
            s.sendall((json.dumps(lost) + "\n").encode())
            # Its job is committed and its sync is hanging: the daemon cannot have
            # exited, so a reply sent before the sync would be on its way by now.
            wait_until(lambda: os.path.exists(flag + ".entered") and
                       any(job["event_id"] == lost["id"] for job in d.job_list()),
                       message="the event committed and an fdatasync hanging")
            readable, _, _ = select.select([s], [], [], 1.0)
            early = s.recv(4096) if readable else b""
            self.assertEqual(early, b"", "a reply sent before its fdatasync ended")
            open(flag + ".release", "w").close()  # the sync fails now
            answer = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        self.assertEqual(answer, b"", "an event whose fdatasync failed must get no reply at all")
        self.assertEqual(d.wait(), 74)
        self.assertIn("fdatasync of the job store's WAL failed", d.log())

        # Restarted on a sound disk, it delivers what it acknowledged.
        os.remove(flag)
        d.start()
        acknowledged = {r["id"] for r in before}
        wait_until(lambda: acknowledged <= ids_in(d.path("out.log")), message="the acknowledged events to be delivered")


if __name__ == "__main__":
    unittest.main()
