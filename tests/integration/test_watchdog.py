"""Issue 13 item 5 through the real daemon: under a watchdog ($WATCHDOG_USEC) it sends WATCHDOG=1
to $NOTIFY_SOCKET (here a Python datagram socket standing in for systemd) only while the store
makes progress: an fdatasync that hangs (an LD_PRELOAD shim, test-only) stops the pings, and they
resume when it returns. STATUS= lines carry the event rate and the backlog."""
import os
import re
import shutil
import socket
import subprocess
import threading
import time

from harness import DaemonTestCase, event, missing_prerequisite, wait_until

# While the file named by $AUDITFWD_TEST_STALL_FDATASYNC exists, the store's syncer
# threads ("auditfwd-sync") hang in fdatasync (at most 60 s); other threads pass through.
STALLING_FDATASYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  const char* flag = getenv("AUDITFWD_TEST_STALL_FDATASYNC");
  char name[16] = "";
  prctl(PR_GET_NAME, name);
  if (flag && strcmp(name, "auditfwd-sync") == 0)
    for (int i = 0; i < 12000 && access(flag, F_OK) == 0; ++i) usleep(5000);
  return real(fd);
}
"""


class NotifySocket:
    """What systemd listens on: a datagram socket; every message kept with its arrival time."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, text)
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode()))

    def assignments(self, name, since=0.0, until=None):
        """Every NAME=value sent in (since, until], with its time."""
        with self.lock:
            found = []
            for at, text in self.messages:
                if at <= since or (until is not None and at > until):
                    continue
                for line in text.splitlines():
                    if line.startswith(name + "="):
                        found.append((at, line[len(name) + 1:]))
            return found

    def close(self):
        self.running = False
        self.sock.close()
        self.thread.join(timeout=5)


class WatchdogTest(DaemonTestCase):
    def test_pings_only_while_the_store_makes_progress_and_status_reports_rate_and_backlog(self):
        compiler = shutil.which("cc") or shutil.which("gcc")
        if not compiler:
            missing_prerequisite(self, "no C compiler (cc or gcc) for the fdatasync shim")
        d = self.daemon(lambda dir: [{"id": "file", "type": "file", "dispatch": "async",
                                      "path": os.path.join(dir, "out.log")}],
                        store={"durability": "fsync"}, start=False)
        shim, source = d.path("stall_shim.so"), d.path("stall_shim.c")
        with open(source, "w") as f:
            f.write(STALLING_FDATASYNC_C)
        subprocess.run([compiler, "-shared", "-fPIC", "-o", shim, source, "-ldl"], check=True)
        stall = d.path("stall")
        notify = NotifySocket(d.path("notify.sock"))
        self.addCleanup(notify.close)
        d.env.update({"LD_PRELOAD": shim, "AUDITFWD_TEST_STALL_FDATASYNC": stall,
                      "NOTIFY_SOCKET": d.path("notify.sock"), "WATCHDOG_USEC": "1000000",
                      "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})
        d.start()

        # Healthy: READY=1, then a ping every half second.
        wait_until(lambda: notify.assignments("READY"), message="READY=1")
        start = time.monotonic()
        wait_until(lambda: len(notify.assignments("WATCHDOG", since=start)) >= 4, message="pings while healthy")
        self.assertIn("systemd watchdog: WATCHDOG=1 every 500 ms", d.log())

        # STATUS= carries the rate of accepted events and the backlog.
        sent_at = time.monotonic()
        self.assertTrue(all(r["ok"] for r in d.send([event("a.b") for _ in range(200)])))
        status = re.compile(r"^(\d+\.\d) events/s, backlog (\d+) jobs$")
        wait_until(lambda: any(status.match(v) and float(status.match(v).group(1)) > 0
                               for _, v in notify.assignments("STATUS", since=sent_at)),
                   message="a STATUS= line with a rate")
        for _, value in notify.assignments("STATUS"):
            self.assertRegex(value, r"^\d+\.\d events/s, backlog (\d+ jobs|: store disabled)")

        # The store's fdatasync hangs: an event's commit cannot become durable; the pings stop.
        open(stall, "w").close()
        reply = {}
        sender = threading.Thread(target=lambda: reply.update(d.send([event("stuck.event")])[0]))
        sender.start()
        wait_until(lambda: "the job store has made no progress" in d.log(), timeout=10,
                   message="the stall noticed")
        stalled_at = time.monotonic()
        time.sleep(2.5)  # five ping intervals
        self.assertEqual(notify.assignments("WATCHDOG", since=stalled_at), [], "a ping while the store hangs")
        self.assertTrue(any("store stuck for" in v for _, v in notify.assignments("STATUS", since=stalled_at)))
        self.assertEqual(reply, {}, "a reply before its commit was on disk")

        # The disk answers again: the reply goes out, the pings resume.
        os.remove(stall)
        sender.join(timeout=30)
        self.assertTrue(reply.get("ok"), reply)
        released_at = time.monotonic()
        wait_until(lambda: len(notify.assignments("WATCHDOG", since=released_at)) >= 2, message="pings again")
        self.assertIn("the job store makes progress again", d.log())
        self.assertEqual(d.stop(), 0)
        self.assertTrue(notify.assignments("STOPPING"))

    def test_without_watchdog_usec_no_ping_but_status(self):
        d = self.daemon(lambda dir: [{"id": "s", "type": "stdout", "dispatch": "sync"}], start=False,
                        store={"enabled": False})
        notify = NotifySocket(d.path("notify.sock"))
        self.addCleanup(notify.close)
        d.env.pop("WATCHDOG_USEC", None)
        d.env["NOTIFY_SOCKET"] = d.path("notify.sock")
        d.start()
        wait_until(lambda: notify.assignments("STATUS"), timeout=15, message="a STATUS= line")
        self.assertEqual(notify.assignments("WATCHDOG"), [])
        self.assertRegex(notify.assignments("STATUS")[0][1], r"^\d+\.\d events/s, backlog: store disabled$")
