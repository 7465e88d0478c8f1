"""Integration-test harness: runs the real auditfwd binary on a temporary socket,
database and config, and talks to it through the socket like a client would.

Only the Python standard library is used, so CI needs nothing but python3.
"""
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

AUDITFWD_BIN = os.environ.get("AUDITFWD_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "dev", "daemon", "auditfwd")


# In CI every test must run: a missing prerequisite (a compiler, rsyslogd, root)
# is a broken CI machine, not a reason to pass. Elsewhere the test is skipped.
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing_prerequisite(test, reason):
    """Skips `test` for want of `reason`; fails it instead when CI=true."""
    if IN_CI:
        test.fail(f"missing prerequisite (CI=true: failed, not skipped): {reason}")
    test.skipTest(reason)


def requires(condition, reason):
    """Like unittest.skipUnless, for a test method or class, except that with CI=true
    a false `condition` fails the test instead of skipping it."""
    def decorate(target):
        if condition:
            return target
        if not IN_CI:
            return unittest.skip(reason)(target)
        message = f"missing prerequisite (CI=true: failed, not skipped): {reason}"
        if isinstance(target, type):
            def fail_class(cls):
                raise AssertionError(message)
            target.setUpClass = classmethod(fail_class)
            return target

        @functools.wraps(target)
        def fail(self, *args, **kwargs):
            self.fail(message)
        return fail
    return decorate


def wait_until(predicate, timeout=15.0, interval=0.02, message="condition"):
    """Polls `predicate` until it returns a truthy value; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def to_toml(config):
    """Renders the config dict as TOML: top-level tables, then [[forwarders]]."""
    lines = []
    for section, table in config.items():
        if section == "forwarders":
            continue
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
        lines.append("")
    for forwarder in config.get("forwarders", []):
        lines.append("[[forwarders]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in forwarder.items()]
        lines.append("")
    return "\n".join(lines)


class Daemon:
    """One auditfwd process with its own directory. Use as a context manager or call stop()."""

    def __init__(self, forwarders, store=None, ingest=None, workers=None, fmt="toml", workdir=None, env=None,
                 admin=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="auditfwd-test-")
        self.socket_path = os.path.join(self.dir, "auditfwd.sock")
        self.db_path = os.path.join(self.dir, "jobs.db")
        if callable(forwarders):  # forwarders(dir) -> list, for paths inside the daemon's directory
            forwarders = forwarders(self.dir)
        if callable(admin):  # admin(dir) -> table, likewise
            admin = admin(self.dir)
        self.config = {
            "ingest": {"socket": self.socket_path, **(ingest or {})},
            "store": {"path": self.db_path, **(store or {})},
            "workers": {"poll_interval": "100ms", **(workers or {})},
            "log": {"level": "debug"},
            **({"admin": admin} if admin else {}),
            "forwarders": forwarders,
        }
        self.config_path = os.path.join(self.dir, "auditfwd." + fmt)
        with open(self.config_path, "w") as f:
            f.write(to_toml(self.config) if fmt == "toml" else json.dumps(self.config, indent=2))
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.stdout_path = os.path.join(self.dir, "daemon.stdout")
        self.env = dict(os.environ, **(env or {}))
        self.proc = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def start(self, wait=True):
        self._close_files()  # of an earlier run, after a crash or exit
        self._log = open(self.log_path, "ab")
        self._out = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen([AUDITFWD_BIN, "--config", self.config_path],
                                     stdout=self._out, stderr=self._log, env=self.env)
        if wait:
            wait_until(self._listening, message="the daemon to listen")
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"auditfwd exited with {self.proc.returncode}:\n{self.log()}")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(self.socket_path)
            return True
        except OSError:
            return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the daemon and returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            self._close_files()
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._close_files()

    def wait(self, timeout=30):
        """Waits for the daemon to exit by itself (after a signal already sent); returns its exit code."""
        code = self.proc.wait(timeout=timeout)
        self._close_files()
        return code

    def reload_with(self, text):
        """Writes `text` as the config, sends SIGHUP and waits for the reload to end; returns its result
        ("applied" or "stays") and the log it wrote."""
        with open(self.config_path, "w") as f:
            f.write(text)
        before = self.log()
        ended = lambda log: log.count(" applied: ") + log.count("the running config stays")
        self.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: ended(self.log()) > ended(before), timeout=60, message="the reload to end")
        after = self.log()[len(before):]
        return ("applied" if " applied: " in after else "stays"), after

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self._close_files()

    def _close_files(self):
        for f in (getattr(self, "_log", None), getattr(self, "_out", None)):
            if f is not None:
                f.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def client(self):
        return Client(self.socket_path)

    def send(self, events):
        """Pipelines `events` (dicts or raw strings) over one connection; returns the parsed replies."""
        with self.client() as c:
            return c.send(events)

    def jobs(self, *args):
        """Runs `auditfwd jobs ...` against this daemon's config; returns CompletedProcess."""
        return subprocess.run([AUDITFWD_BIN, "jobs", *args, "--config", self.config_path],
                              capture_output=True, text=True, timeout=60)

    def job_list(self, *args):
        """`auditfwd jobs list --json ARGS`, parsed: the store as an operator sees it, whatever its tables."""
        limit = () if "--limit" in args else ("--limit", "10000000")
        result = self.jobs("list", "--json", *limit, *args)
        if result.returncode != 0:
            raise AssertionError(f"auditfwd jobs list failed ({result.returncode}): {result.stderr}")
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def query(self, sql, *params):
        import sqlite3
        with sqlite3.connect(self.db_path, timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def encode_line(item):
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return (item if item.endswith("\n") else item + "\n").encode()
    return (json.dumps(item) + "\n").encode()


class Client:
    """A raw protocol-v1 client: write many lines, read one reply line per event."""

    def __init__(self, socket_path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(socket_path)
        self.reader = self.sock.makefile("rb")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.reader.close()
        self.sock.close()

    def write(self, events):
        """Sends every event at once (pipelined): dicts as JSON lines, str as a line, bytes as they are."""
        self.sock.sendall(b"".join(encode_line(e) for e in events))

    def read_replies(self, count):
        replies = []
        for _ in range(count):
            line = self.reader.readline()
            if not line:
                raise AssertionError(f"connection closed after {len(replies)} of {count} replies")
            replies.append(json.loads(line))
        return replies

    def send(self, events):
        events = list(events)
        self.write(events)
        return self.read_replies(len(events))


def read_json_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    # A writer may be mid-line while we poll: only complete lines count.
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def assert_same_sequence(test, actual, expected, what):
    """assertEqual for long lists, whose difflib report would take minutes: names the first difference."""
    if actual == expected:
        return
    k = next((i for i, (a, b) in enumerate(zip(actual, expected)) if a != b), min(len(actual), len(expected)))
    test.fail(f"{what}: {len(actual)} items against {len(expected)} expected; first difference at index {k}: "
              f"{actual[k:k + 3]} instead of {expected[k:k + 3]}")


def event(action="user.login", **fields):
    return {"action": action, **fields}


class DaemonTestCase(unittest.TestCase):
    """Starts daemons that are stopped and removed after each test."""

    def setUp(self):
        self.daemons = []
        self._problems_before = self._problem_count()

    def _problem_count(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        return len(result.failures) + len(result.errors) if result is not None else 0

    SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                         "runtime error:")

    def tearDown(self):
        for d in self.daemons:
            if d.proc and d.proc.poll() is None:
                d.kill()
        # Under the asan/tsan presets a daemon's report must fail the test that caused it.
        for d in self.daemons:
            if d.proc and os.path.exists(d.log_path):
                log = d.log()
                for marker in self.SANITIZER_MARKERS:
                    if marker in log:
                        start = log.index(marker)
                        self.fail(f"sanitizer report in the daemon log ({d.dir}):\n{log[max(0, start - 200):start + 4000]}")
            if self._outcome_ok():
                d.cleanup()
            else:
                print(f"\n--- daemon log ({d.dir}) ---\n{d.log()[-6000:]}")

    def _outcome_ok(self):
        """True unless this test (not an earlier one) failed; the log is printed only for failures."""
        outcome = getattr(self, "_outcome", None)
        if getattr(outcome, "result", None) is not None:
            return self._problem_count() == self._problems_before and getattr(outcome, "success", True)
        return True

    def daemon(self, forwarders, start=True, **kwargs):
        d = Daemon(forwarders, **kwargs)
        self.daemons.append(d)
        if start:
            d.start()
        return d
