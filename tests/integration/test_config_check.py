"""check-config names every problem of a file in one run, each with file, line,
column, key and reason (TOML and JSON), tells a missing, an unreadable and a
malformed file apart, and has --quiet and --json; and config resolution is the
same for the daemon and every command, each saying which file it used."""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import AUDITFWD_BIN, Client, DaemonTestCase, event, requires, wait_until

BROKEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", "broken")
BIN = os.path.abspath(AUDITFWD_BIN)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "AUDITFWD_CONFIG" and not k.startswith("AUDITFWD_TEST_")}
    env.update(extra)
    return env


def run(*args, cwd=None, env=None, **kwargs):
    return subprocess.run([BIN, *args], capture_output=True, text=True, cwd=cwd, env=env or clean_env(),
                          timeout=60, **kwargs)


def expected_corpus():
    with open(os.path.join(BROKEN, "expected.json")) as f:
        return json.load(f)


class BrokenConfigCorpusTest(unittest.TestCase):
    """Each file of configs/broken/ against its exact problems in expected.json."""

    def test_the_corpus_is_large_and_every_file_has_its_expectation(self):
        expected = expected_corpus()
        files = sorted(name for name in os.listdir(BROKEN) if name != "expected.json")
        self.assertEqual(sorted(expected), files)
        self.assertGreaterEqual(len(files), 30)
        self.assertTrue(any(name.endswith(".json") for name in files) and any(name.endswith(".toml") for name in files))

    def test_each_broken_config_gets_exactly_its_problems_in_one_run(self):
        for name, lines in expected_corpus().items():
            with self.subTest(name):
                result = run("check-config", "--config", name, cwd=BROKEN)
                self.assertEqual(result.returncode, 78, result.stderr)
                self.assertEqual(result.stdout, "")
                self.assertEqual(result.stderr.splitlines(), [
                    *(f"{name}:{line}" for line in lines),
                    f"auditfwd: configuration refused: {len(lines)} problem(s) in {name} (from --config)"])

    def test_json_output_carries_kind_file_line_column_key_and_reason(self):
        for name, lines in expected_corpus().items():
            with self.subTest(name):
                result = run("check-config", "--json", "--config", name, cwd=BROKEN)
                self.assertEqual(result.returncode, 78)
                self.assertEqual(result.stderr, "")
                report = json.loads(result.stdout)
                self.assertEqual((report["file"], report["origin"], report["valid"], report["forwarders"]),
                                 (name, "from --config", False, None))
                rebuilt = []
                for p in report["problems"]:
                    self.assertEqual(p["file"], name)
                    where = f"{p['line']}:{p['column']}: " if p["line"] is not None else " "
                    rebuilt.append(f"{where}{p['key']}: {p['reason']}")
                self.assertEqual(rebuilt, lines)
                kinds = {p["kind"] for p in report["problems"]}
                self.assertEqual(kinds, {"malformed"} if name.startswith("syntax_error") or name == "extra_data.json"
                                 else {"invalid"})

    def test_quiet_prints_only_the_problems_and_nothing_when_valid(self):
        result = run("check-config", "--quiet", "--config", "many_problems.toml", cwd=BROKEN)
        self.assertEqual(result.returncode, 78)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.splitlines(), [f"many_problems.toml:{line}"
                                                      for line in expected_corpus()["many_problems.toml"]])
        good = os.path.join(tempfile.mkdtemp(prefix="auditfwd-check-"), "good.toml")
        self.addCleanup(shutil.rmtree, os.path.dirname(good))
        with open(good, "w") as f:
            f.write('[[forwarders]]\nid = "console"\ntype = "stdout"\n')
        quiet = run("check-config", "-q", "--config", good)
        self.assertEqual((quiet.returncode, quiet.stdout, quiet.stderr), (0, "", ""))
        loud = run("check-config", "--config", good)
        self.assertEqual(loud.stdout, f"{good}: ok, 1 forwarder(s) (from --config)\n")
        as_json = json.loads(run("check-config", "--json", "--config", good).stdout)
        self.assertEqual(as_json, {"file": good, "origin": "from --config", "valid": True, "forwarders": 1,
                                   "problems": []})


class UnreadableFilesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="auditfwd-check-")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir)

    def check(self, path, **kwargs):
        result = run("check-config", "--config", path, **kwargs)
        as_json = json.loads(run("check-config", "--json", "--config", path, **kwargs).stdout)
        return result, as_json["problems"]

    def test_a_missing_file_a_directory_and_an_unreadable_file_are_told_apart(self):
        missing = os.path.join(self.dir, "nope.toml")
        result, [problem] = self.check(missing)
        self.assertEqual(result.returncode, 78)
        self.assertEqual(result.stderr.splitlines()[0], f"{missing}: (file): does not exist")
        self.assertEqual((problem["kind"], problem["line"], problem["column"]), ("missing", None, None))

        result, [problem] = self.check(self.dir)
        self.assertEqual(result.stderr.splitlines()[0], f"{self.dir}: (file): is a directory, not a file")
        self.assertEqual(problem["kind"], "unreadable")

        secret = os.path.join(self.dir, "secret.toml")
        with open(secret, "w") as f:
            f.write('[[forwarders]]\nid = "console"\ntype = "stdout"\n')
        os.chmod(secret, 0o600)
        if os.geteuid() == 0:  # root reads anything: check as an unprivileged user
            nobody = pwd.getpwnam("nobody")
            def drop():
                os.setgid(nobody.pw_gid)
                os.setgroups([])
                os.setuid(nobody.pw_uid)
            result, [problem] = self.check(secret, preexec_fn=drop)
        else:
            os.chmod(secret, 0)
            result, [problem] = self.check(secret)
        self.assertEqual(result.returncode, 78)
        self.assertEqual(result.stderr.splitlines()[0], f"{secret}: (file): cannot be read: Permission denied")
        self.assertEqual(problem["kind"], "unreadable")


GOOD = '[ingest]\nsocket = "{dir}/{name}.sock"\n[store]\npath = "{dir}/{name}.db"\n' \
       '[[forwarders]]\nid = "{name}"\ntype = "stdout"\n'


class ConfigResolutionTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="auditfwd-resolve-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def config(self, name, extra=""):
        path = os.path.join(self.dir, name + ".toml")
        with open(path, "w") as f:
            f.write(GOOD.format(dir=self.dir, name=name) + extra)
        return path

    def test_option_then_environment_then_embedded_default_for_check_config(self):
        option, from_env = self.config("option"), self.config("env")
        env = clean_env(AUDITFWD_CONFIG=from_env)
        self.assertEqual(run("check-config", "--config", option, env=env).stdout,
                         f"{option}: ok, 1 forwarder(s) (from --config)\n")
        self.assertEqual(run("check-config", env=env).stdout,
                         f"{from_env}: ok, 1 forwarder(s) (from $AUDITFWD_CONFIG)\n")
        if not os.path.exists("/etc/auditfwd/auditfwd.toml"):
            self.assertEqual(run("check-config", cwd=self.dir).stdout,
                             "<embedded default>: ok, 2 forwarder(s) (no --config, $AUDITFWD_CONFIG or "
                             "/etc/auditfwd/auditfwd.toml)\n")

    def test_jobs_and_send_say_which_config_and_need_no_forwarder_secrets(self):
        extra = ('[[forwarders]]\nid = "siem"\ntype = "http"\nurl = "https://siem.example/"\n'
                 'bearer_token = "${AUDITFWD_TEST_SIEM_TOKEN}"\n')
        path = self.config("secrets", extra)
        daemon_env = clean_env(AUDITFWD_TEST_SIEM_TOKEN="s3cr3t-token")
        proc = subprocess.Popen([BIN, "--config", path], env=daemon_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            sock = os.path.join(self.dir, "secrets.sock")
            wait_until(lambda: os.path.exists(sock) or proc.poll() is not None, message="the daemon to listen")
            self.assertIsNone(proc.poll())
            # The secret is not in this environment: the daemon and check-config refuse, jobs and send work.
            refused = run("check-config", env=clean_env(AUDITFWD_CONFIG=path))
            self.assertEqual(refused.returncode, 78)
            self.assertIn("forwarders[1].bearer_token: environment variable AUDITFWD_TEST_SIEM_TOKEN is not set",
                          refused.stderr)
            sent = run("send", env=clean_env(AUDITFWD_CONFIG=path), input=json.dumps(event("a.b")) + "\n")
            self.assertEqual(sent.returncode, 0, sent.stderr)
            self.assertTrue(json.loads(sent.stdout)["ok"])
            self.assertEqual(sent.stderr, f"auditfwd: config {path} (from $AUDITFWD_CONFIG)\n")
            jobs = run("jobs", "list", "--json", "--config", path)
            self.assertEqual(jobs.returncode, 0, jobs.stderr)
            self.assertEqual(jobs.stderr, f"auditfwd: config {path} (from --config)\n")
            self.assertEqual({json.loads(line)["forwarder"] for line in jobs.stdout.splitlines()}, {"secrets", "siem"})
        finally:
            proc.send_signal(signal.SIGTERM)
            _, log = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, log)
        self.assertIn(f"config: {path} (from --config)", log)
        self.assertNotIn("s3cr3t-token", log)

    @requires(os.geteuid() == 0 and shutil.which("unshare"), "root and unshare, for a private /etc")
    def test_the_system_config_is_used_when_it_exists_by_every_command_and_the_daemon(self):
        # A private mount namespace with an overlay on /etc: the host's /etc is never touched.
        system = GOOD.format(dir=self.dir, name="system")
        script = f"""
set -e
mount -t tmpfs tmpfs {self.dir}/ns
mkdir {self.dir}/ns/upper {self.dir}/ns/work
mount -t overlay overlay -o lowerdir=/etc,upperdir={self.dir}/ns/upper,workdir={self.dir}/ns/work /etc
mkdir -p /etc/auditfwd
cat > /etc/auditfwd/auditfwd.toml <<'END'
{system}END
cd {self.dir}
echo "== check-config"; "{BIN}" check-config 2>&1 || true
echo "== env wins"; AUDITFWD_CONFIG={self.dir}/other.toml "{BIN}" check-config 2>&1 || true
"{BIN}" > daemon.log 2>&1 &
pid=$!
for i in $(seq 1 300); do [ -S {self.dir}/system.sock ] && break; sleep 0.05; done
echo "== send"; echo '{{"action":"a.b"}}' | "{BIN}" send 2>&1
echo "== jobs"; "{BIN}" jobs stats 2>&1 | head -1
kill -TERM $pid; wait $pid || true
echo "== daemon"; grep -o 'config: .*' daemon.log
"""
        os.mkdir(os.path.join(self.dir, "ns"))
        self.config("other")
        result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                capture_output=True, text=True, timeout=120, env=clean_env())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        sections = dict(re.findall(r"== ([a-z -]+)\n(.*?)(?=\n== |\Z)", result.stdout, re.S))
        system_path = "/etc/auditfwd/auditfwd.toml"
        origin = "the system config: no --config or $AUDITFWD_CONFIG"
        self.assertEqual(sections["check-config"].strip(), f"{system_path}: ok, 1 forwarder(s) ({origin})")
        self.assertEqual(sections["env wins"].strip(),
                         f"{self.dir}/other.toml: ok, 1 forwarder(s) (from $AUDITFWD_CONFIG)")
        self.assertIn(f"auditfwd: config {system_path} ({origin})", sections["send"])
        self.assertIn('{"ok":true', sections["send"])
        self.assertEqual(sections["jobs"].strip(), f"auditfwd: config {system_path} ({origin})")
        self.assertEqual(sections["daemon"].strip(), f"config: {system_path} ({origin})")
        self.assertFalse(os.path.exists(system_path) and open(system_path).read() == system,
                         "the host's /etc was changed")


if __name__ == "__main__":
    unittest.main()
