"""Nothing lost or torn on disk (DESIGN.md, Job store and Forwarders): the file
forwarder keeps only whole lines and completes a job once its line is synced;
the job store is never readable by other users; dead letters leave the store
only when the operator exports or purges them."""
import json
import os
import shutil
import stat
import subprocess
import unittest

from harness import AUDITFWD_BIN, DaemonTestCase, event, missing_prerequisite, read_json_lines, wait_until

# A disk that fills up under one file. While FLAG exists, the first writev to
# the file named by AUDITFWD_TEST_FULL_PATH writes half of the batch's first
# line and returns that short count (as a disk filling up mid-write does); every
# later writev to it fails with ENOSPC. Other files pass through.
FULL_DISK_WRITEV_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
static int is_target(int fd) {
  const char* target = getenv("AUDITFWD_TEST_FULL_PATH");
  char link[64], path[4097];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (!target || n <= 0) return 0;
  path[n] = 0;
  return strcmp(path, target) == 0;
}
ssize_t writev(int fd, const struct iovec* iov, int count) {
  static ssize_t (*real)(int, const struct iovec*, int);
  static int short_written;
  if (!real) real = (ssize_t (*)(int, const struct iovec*, int))dlsym(RTLD_NEXT, "writev");
  const char* flag = getenv("AUDITFWD_TEST_FULL_FLAG");
  if (flag && access(flag, F_OK) == 0 && count > 0 && is_target(fd)) {
    if (!__atomic_exchange_n(&short_written, 1, __ATOMIC_SEQ_CST)) {
      struct iovec half = {iov[0].iov_base, iov[0].iov_len / 2};
      return real(fd, &half, 1);
    }
    errno = ENOSPC;
    return -1;
  }
  return real(fd, iov, count);
}
"""

# A disk whose syncs of one file hang: while FLAG exists, an fdatasync of the
# file named by AUDITFWD_TEST_HOLD_PATH creates FLAG.entered and waits until
# FLAG.release exists (at most 60 s).
HELD_FDATASYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  const char* flag = getenv("AUDITFWD_TEST_HOLD_FLAG");
  const char* target = getenv("AUDITFWD_TEST_HOLD_PATH");
  char link[64], path[4097], name[4200];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (flag && target && n > 0 && access(flag, F_OK) == 0) {
    path[n] = 0;
    if (strcmp(path, target) == 0) {
      snprintf(name, sizeof name, "%s.entered", flag);
      close(open(name, O_WRONLY | O_CREAT, 0600));
      snprintf(name, sizeof name, "%s.release", flag);
      for (int i = 0; i < 12000 && access(name, F_OK) != 0; ++i) usleep(5000);
    }
  }
  return real(fd);
}
"""


def with_shim(test, d, source, env):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        missing_prerequisite(test, "no C compiler (cc or gcc) for the LD_PRELOAD shim")
    shim, c_file = d.path("shim.so"), d.path("shim.c")
    with open(c_file, "w") as f:
        f.write(source)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", shim, c_file, "-ldl"], check=True)
    d.env.update({"LD_PRELOAD": shim, **env,
                  "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})


def whole_lines(test, path):
    """The file's events; fails the test on a torn or unparseable line."""
    with open(path, "rb") as f:
        data = f.read()
    test.assertTrue(data == b"" or data.endswith(b"\n"), f"a torn last line in {path}: {data[-120:]!r}")
    events = []
    for line in data.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            test.fail(f"an unparseable line in {path}: {line[:120]!r}")
    return events


def file_forwarder(dir, **extra):
    return {"id": "file", "type": "file", "dispatch": "async", "path": os.path.join(dir, "out.log"),
            "backoff": "fixed", "backoff_min": "200ms", **extra}


class TornLineTest(DaemonTestCase):
    def test_a_full_disk_mid_batch_leaves_only_whole_lines_and_the_batch_is_delivered_once_later(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], start=False)
        flag = d.path("disk-full")
        with_shim(self, d, FULL_DISK_WRITEV_C,
                  {"AUDITFWD_TEST_FULL_FLAG": flag, "AUDITFWD_TEST_FULL_PATH": d.path("out.log")})
        d.start()
        [first] = d.send([event("before.full")])
        wait_until(lambda: read_json_lines(d.path("out.log")), message="the first line")
        with open(d.path("out.log"), "rb") as f:
            before = f.read()

        open(flag, "w").close()
        replies = d.send([event("during.full", metadata={"n": i}) for i in range(5)])
        self.assertTrue(all(r["ok"] for r in replies), replies)
        failed = wait_until(lambda: [j for j in d.job_list() if j["errors"]], message="a failed write recorded")
        self.assertIn("No space left on device", failed[0]["errors"][0]["error"])
        with open(d.path("out.log"), "rb") as f:
            self.assertEqual(f.read(), before, "the failed writes left bytes behind")

        os.remove(flag)  # space again
        wait_until(lambda: len(read_json_lines(d.path("out.log"))) == 6, message="the batch delivered")
        self.assertEqual(d.stop(), 0)
        ids = [e["id"] for e in whole_lines(self, d.path("out.log"))]
        self.assertEqual(ids, [first["id"]] + [r["id"] for r in replies], "each event once, in order")

    def test_a_torn_last_line_left_by_a_crash_is_cut_off_when_the_file_is_opened(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], start=False)
        whole = json.dumps({"id": "whole", "action": "earlier.line"}) + "\n"
        with open(d.path("out.log"), "w") as f:
            f.write(whole + '{"id":"torn","action":"cut.by.a.cra')
        d.start()
        [reply] = d.send([event("after.crash")])
        wait_until(lambda: len(read_json_lines(d.path("out.log"))) == 2, message="the new line")
        self.assertEqual(d.stop(), 0)
        self.assertEqual([e["id"] for e in whole_lines(self, d.path("out.log"))], ["whole", reply["id"]])


class FileSizeLimitTest(DaemonTestCase):
    def test_a_file_size_limit_fails_the_write_whole_and_the_daemon_lives_on(self):
        import resource
        limit = 1 << 20
        d = self.daemon(lambda dir: [file_forwarder(dir)], start=False)
        filler = json.dumps({"id": "filler", "pad": "x" * 200}) + "\n"
        with open(d.path("out.log"), "w") as f:
            f.write(filler * ((limit - 100) // len(filler)))  # less than one event's line left
        with open(d.path("out.log"), "rb") as f:
            before = f.read()
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))  # inherited by the daemon (RLIMIT_FSIZE, ulimit -f)
        try:
            d.start()
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        [reply] = d.send([event("over.the.limit", metadata={"pad": "y" * 300})])
        self.assertTrue(reply["ok"], reply)
        failed = wait_until(lambda: [j for j in d.job_list() if j["errors"]], message="a failed write recorded")
        self.assertIn("File too large", failed[0]["errors"][0]["error"])
        self.assertIsNone(d.proc.poll(), "SIGXFSZ killed the daemon")
        with open(d.path("out.log"), "rb") as f:
            self.assertEqual(f.read(), before, "the failed write left bytes behind")

        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))  # the operator raises the limit
        wait_until(lambda: len(whole_lines(self, d.path("out.log"))) == before.count(b"\n") + 1,
                   message="the event delivered once the limit is raised")
        self.assertEqual(whole_lines(self, d.path("out.log"))[-1]["id"], reply["id"])
        self.assertEqual(d.stop(), 0)


class SyncedBeforeCompletedTest(DaemonTestCase):
    def test_a_file_job_completes_only_after_its_line_is_synced(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)], store={"completed_retention": "1h"}, start=False)
        flag = d.path("hold-sync")
        with_shim(self, d, HELD_FDATASYNC_C,
                  {"AUDITFWD_TEST_HOLD_FLAG": flag, "AUDITFWD_TEST_HOLD_PATH": d.path("out.log")})
        d.start()
        open(flag, "w").close()
        [reply] = d.send([event("held.sync")])
        wait_until(lambda: os.path.exists(flag + ".entered"), message="the file's fdatasync to start")
        self.assertEqual(len(read_json_lines(d.path("out.log"))), 1, "the line is written, its sync held")
        [job] = d.job_list()
        self.assertNotEqual(job["state"], "completed", "completed before its line was synced")
        open(flag + ".release", "w").close()
        wait_until(lambda: [j["state"] for j in d.job_list()] == ["completed"], message="completed after the sync")
        self.assertEqual(d.stop(), 0)


class StorePermissionsTest(DaemonTestCase):
    def test_the_store_and_its_wal_are_not_readable_by_others_even_with_umask_022(self):
        old = os.umask(0o022)  # inherited by the daemon
        try:
            d = self.daemon(lambda dir: [file_forwarder(dir)])
        finally:
            os.umask(old)
        [reply] = d.send([event("a.b")])
        self.assertTrue(reply["ok"], reply)
        for suffix in ("", "-wal", "-shm"):
            path = d.db_path + suffix
            self.assertTrue(os.path.exists(path), path)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)
        self.assertEqual(d.stop(), 0)

    def test_a_world_readable_store_from_before_is_restricted_when_opened(self):
        d = self.daemon(lambda dir: [file_forwarder(dir)])
        d.send([event("a.b")])
        self.assertEqual(d.stop(), 0)
        os.chmod(d.db_path, 0o644)
        d.start()
        self.assertEqual(stat.S_IMODE(os.stat(d.db_path).st_mode), 0o640, "the bits for others removed")
        for suffix in ("-wal", "-shm"):
            self.assertEqual(stat.S_IMODE(os.stat(d.db_path + suffix).st_mode) & 0o007, 0, suffix)
        self.assertEqual(d.stop(), 0)


def blocked_file_forwarder(dir, **extra):
    """A file forwarder whose directory is a regular file: every delivery fails."""
    blocker = os.path.join(dir, "blocked-dir")
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    return {"id": "dead", "type": "file", "dispatch": "async", "path": os.path.join(blocker, "out.log"),
            "backoff": "fixed", "backoff_min": "100ms", "max_attempts": 2, **extra}


class DeadLetterExportTest(DaemonTestCase):
    def test_export_writes_each_dead_letter_with_its_event_then_purge_is_safe(self):
        d = self.daemon(lambda dir: [blocked_file_forwarder(dir), {"id": "ok", "type": "stdout", "dispatch": "sync"}])
        sent = [event("dead.letter", metadata={"n": i, "price": 19.90, "big": 123456789012345678901})
                for i in range(3)]
        raw = [json.dumps(e).replace("19.9,", "19.90,") for e in sent]  # numbers keep the client's text
        replies = d.send(raw)
        wait_until(lambda: len(d.job_list("--state", "discarded")) == 3, message="three dead letters")

        out = d.path("dead.ndjson")
        result = d.jobs("export", "--state", "discarded", "--output", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("3 job(s) exported", result.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 3)
        exported = [json.loads(line) for line in lines]
        self.assertEqual([e["event"]["id"] for e in exported], [r["id"] for r in replies])
        for line, job in zip(lines, exported):
            self.assertEqual(job["forwarder"], "dead")
            self.assertEqual(job["state"], "discarded")
            self.assertEqual(job["attempt"], 2)
            self.assertEqual([e["attempt"] for e in job["errors"]], [1, 2])
            self.assertIn("Not a directory", job["errors"][0]["error"])
            self.assertEqual(job["event"]["action"], "dead.letter")
            self.assertIn("source", job["event"])  # the stamped event, as delivered
            self.assertIn('"price":19.90,"big":123456789012345678901', line)

        # The same on stdout; an existing file is never overwritten.
        stdout = d.jobs("export", "--state", "discarded", "--forwarder", "dead")
        self.assertEqual(stdout.returncode, 0, stdout.stderr)
        self.assertEqual(stdout.stdout.splitlines(), lines)
        again = d.jobs("export", "--state", "discarded", "--output", out)
        self.assertEqual(again.returncode, 1)
        self.assertIn("File exists", again.stderr)
        self.assertEqual(d.jobs("export", "--state", "discarded", "--forwarder", "ok").stdout, "")
        refused = d.jobs("export", "--state", "available")
        self.assertNotEqual(refused.returncode, 0)

        self.assertIn("3 job(s) purged", d.jobs("purge", "--state", "discarded").stdout)
        self.assertEqual(d.jobs("export", "--state", "discarded").stdout, "")

    def test_an_export_that_cannot_be_written_fails_and_says_not_to_purge(self):
        d = self.daemon(lambda dir: [blocked_file_forwarder(dir)])
        d.send([event("dead.letter")])
        wait_until(lambda: d.job_list("--state", "discarded"), message="a dead letter")
        with open("/dev/full", "w") as full:
            result = subprocess.run([AUDITFWD_BIN, "jobs", "export", "--state", "discarded", "--config", d.config_path],
                                    stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("No space left on device", result.stderr)
        self.assertIn("do not purge", result.stderr)


if __name__ == "__main__":
    unittest.main()
