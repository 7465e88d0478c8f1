"""The file forwarder's durability (DESIGN.md, Forwarders): by default a job
completes only once its line is on disk, one fdatasync per batch."""
import os
import shutil
import subprocess
import unittest

from harness import DaemonTestCase, event, missing_prerequisite, read_json_lines, wait_until

# Logs the path of every descriptor the daemon fdatasyncs, then syncs it.
LOGGING_FDATASYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  const char* log = getenv("AUDITFWD_TEST_SYNC_LOG");
  if (log) {
    char link[64], path[4097];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n > 0) {
      path[n] = '\n';
      int out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (out >= 0) {
        (void)!write(out, path, (size_t)n + 1);
        close(out);
      }
    }
  }
  return real(fd);
}
"""


class FileDurabilityTest(DaemonTestCase):
    def synced_paths_after_one_event(self, file_options):
        compiler = shutil.which("cc") or shutil.which("gcc")
        if not compiler:
            missing_prerequisite(self, "no C compiler (cc or gcc) for the fdatasync shim")
        d = self.daemon(lambda dir: [
            {"id": "sync-file", "type": "file", "dispatch": "sync", "path": os.path.join(dir, "sync.log"), **file_options},
            {"id": "async-file", "type": "file", "dispatch": "async", "path": os.path.join(dir, "async.log"),
             **file_options},
        ], store={"durability": "os"}, start=False)
        shim, source = d.path("sync_log_shim.so"), d.path("sync_log_shim.c")
        with open(source, "w") as f:
            f.write(LOGGING_FDATASYNC_C)
        subprocess.run([compiler, "-shared", "-fPIC", "-o", shim, source, "-ldl"], check=True)
        sync_log = d.path("synced.txt")
        d.env.update({"LD_PRELOAD": shim, "AUDITFWD_TEST_SYNC_LOG": sync_log,
                      "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
        d.start()
        [reply] = d.send([event("user.login")])
        self.assertTrue(reply["ok"], reply)
        wait_until(lambda: read_json_lines(d.path("async.log")), message="the async file")
        self.assertEqual(d.stop(), 0)
        with open(sync_log) if os.path.exists(sync_log) else open(os.devnull) as f:
            synced = {os.path.basename(line.strip()) for line in f}
        return synced

    def test_by_default_each_line_is_on_disk_before_its_delivery_counts(self):
        synced = self.synced_paths_after_one_event({})
        self.assertIn("sync.log", synced)
        self.assertIn("async.log", synced)

    def test_fsync_false_leaves_the_file_to_the_os(self):
        synced = self.synced_paths_after_one_event({"fsync": False})
        self.assertNotIn("sync.log", synced)
        self.assertNotIn("async.log", synced)


if __name__ == "__main__":
    unittest.main()
