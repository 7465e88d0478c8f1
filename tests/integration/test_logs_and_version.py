"""The daemon's own log under journald (priorities) and as JSON, and --version from the build."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import AUDITFWD_BIN, Daemon, event, to_toml, wait_until

SOURCE = os.environ.get("AUDITFWD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def stdout_forwarder():
    return [{"id": "out", "type": "stdout", "dispatch": "sync"}]


class JournalPrioritiesTest(unittest.TestCase):
    def daemon(self, journal_stream=None, log=None):
        d = Daemon(stdout_forwarder(), store={"enabled": False})
        d.config["log"] = {"level": "debug", **(log or {})}
        with open(d.config_path, "w") as f:
            f.write(to_toml(d.config))
        open(d.log_path, "wb").close()  # stderr's file exists before the start, so its inode is known
        st = os.stat(d.log_path)
        d.env["JOURNAL_STREAM"] = journal_stream or f"{st.st_dev}:{st.st_ino}"
        self.addCleanup(shutil.rmtree, d.dir, True)
        return d

    def test_every_line_carries_its_priority_when_stderr_is_the_journal_stream(self):
        d = self.daemon()
        with d:
            self.assertTrue(d.send([event("a.b")])[0]["ok"])
            with open(d.config_path, "w") as f:
                f.write("[ingest\n")  # the reload fails: an error line
            d.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "the running config stays" in d.log(), message="the reload error")
        lines = d.log().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[0-7]>\[", line)
        self.assertTrue(any(re.match(r"^<6>\[daemon\] info: ready", line) for line in lines), lines)
        self.assertTrue(any(line.startswith("<4>[daemon] warning: store.enabled = false") for line in lines), lines)
        self.assertTrue(any(line.startswith(f"<3>[reload] error: SIGHUP: {d.config_path} is invalid")
                            for line in lines), lines)
        self.assertTrue(any(line.startswith("<7>") for line in lines), lines)  # debug: the host line

    def test_a_critical_failure_is_priority_2(self):
        d = self.daemon()
        d.config["ingest"]["socket"] = os.path.join(d.config_path, "s.sock")  # below a file: cannot listen
        with open(d.config_path, "w") as f:
            f.write(to_toml(d.config))
        d.start(wait=False)
        self.addCleanup(d.stop, signal.SIGKILL)
        self.assertEqual(d.wait(), 1)
        self.assertRegex(d.log(), r"(?m)^<2>\[daemon\] critical: cannot listen")

    def test_an_inherited_journal_stream_that_names_another_file_is_ignored(self):
        d = self.daemon(journal_stream="1:1")
        with d:
            self.assertTrue(d.send([event("a.b")])[0]["ok"])
        lines = d.log().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} \[", line)

    def test_json_lines_under_the_journal_keep_the_priority_prefix(self):
        d = self.daemon(log={"format": "json"})
        with d:
            self.assertTrue(d.send([event("a.b")])[0]["ok"])
        records = []
        for line in d.log().splitlines():
            match = re.match(r"^<([0-7])>(\{.*\})$", line)
            self.assertIsNotNone(match, line)
            records.append((int(match.group(1)), json.loads(match.group(2))))
        ready = [r for p, r in records if r["message"].startswith("ready")]
        self.assertEqual(len(ready), 1, records)
        self.assertEqual(ready[0]["level"], "info")
        self.assertEqual(ready[0]["logger"], "daemon")
        self.assertRegex(ready[0]["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        self.assertIn((4, "warning"), {(p, r["level"]) for p, r in records})


class JsonLogTest(unittest.TestCase):
    def test_log_format_json_writes_one_object_per_line(self):
        d = Daemon(stdout_forwarder())
        self.addCleanup(shutil.rmtree, d.dir, True)
        d.config["log"] = {"level": "info", "format": "json"}
        with open(d.config_path, "w") as f:
            f.write(to_toml(d.config))
        d.env.pop("JOURNAL_STREAM", None)
        with d:
            self.assertTrue(d.send([event("a.b")])[0]["ok"])
        records = [json.loads(line) for line in d.log().splitlines()]
        self.assertTrue(records)
        for record in records:
            self.assertEqual(set(record), {"time", "level", "logger", "message"}, record)
        self.assertIn("ready", [r["message"].split(":")[0] for r in records])
        self.assertEqual(records[-1]["message"], "stopped")

    def test_an_unknown_log_format_is_refused_naming_the_key(self):
        directory = tempfile.mkdtemp(prefix="auditfwd-log-")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "c.toml")
        with open(path, "w") as f:
            f.write('[log]\nformat = "xml"\n[[forwarders]]\nid = "f"\ntype = "stdout"\n')
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", path], capture_output=True, text=True)
        self.assertEqual(result.returncode, 78)
        self.assertIn('log.format: must be one of text, json, not "xml"', result.stderr)


def project_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        return re.search(r"project\(auditfwd VERSION (\S+)", f.read()).group(1)


class VersionTest(unittest.TestCase):
    def test_version_is_the_project_version_and_the_git_description(self):
        result = subprocess.run([AUDITFWD_BIN, "--version"], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        version = project_version()
        if shutil.which("git") and os.path.exists(os.path.join(SOURCE, ".git")):
            describe = subprocess.run(["git", "describe", "--always", "--abbrev=12"], cwd=SOURCE,
                                      capture_output=True, text=True, check=True).stdout.strip()
            self.assertRegex(result.stdout.strip(),
                             rf"^auditfwd {re.escape(version)} \(git {re.escape(describe)}(-dirty)?\)$")
        else:
            self.assertEqual(result.stdout.strip(), f"auditfwd {version}")

    def test_a_tree_without_git_gets_the_project_version_alone(self):
        directory = tempfile.mkdtemp(prefix="auditfwd-version-")
        self.addCleanup(shutil.rmtree, directory, True)
        output = os.path.join(directory, "build_version.cpp")
        subprocess.run(["cmake", "-DVERSION=9.8.7", f"-DSOURCE_DIR={directory}", f"-DOUTPUT={output}", "-P",
                        os.path.join(SOURCE, "cmake", "build_version.cmake")], check=True, capture_output=True)
        with open(output) as f:
            text = f.read()
        self.assertIn('build_version() { return "9.8.7"; }', text)


if __name__ == "__main__":
    unittest.main()
