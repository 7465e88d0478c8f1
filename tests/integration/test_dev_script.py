"""scripts/auditfwd-dev installs nothing that replaces a system service: beside another
syslog daemon it unpacks a private rsyslogd for the tests instead of installing rsyslog.

dpkg-query is replaced (it says what is installed: every build package, plus the
syslog daemon of the case); apt-get is wrapped to record what would be installed,
while `apt-get download` is the real one, so the private copy is real and is run."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import requires

SOURCE = os.environ.get("AUDITFWD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))

FAKE_DPKG_QUERY = """#!/bin/sh
# -W -f=FORMAT [PACKAGE]: a package's status, or every package's status, name and Provides.
format=$2; package=$3
if [ -z "$package" ]; then printf '%s\\n' "$FAKE_INSTALLED_SYSLOG"; exit 0; fi
for missing in $FAKE_MISSING; do [ "$missing" = "$package" ] && exit 1; done
printf 'install ok installed'
"""

APT_GET_WRAPPER = """#!/bin/sh
echo "$*" >> "$APT_GET_LOG"
case "$*" in *download*) exec /usr/bin/apt-get "$@" ;; esac
exit 0
"""


class DevScriptTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="auditfwd-devscript-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        bin_dir = os.path.join(self.dir, "bin")
        os.makedirs(bin_dir)
        for name, text in (("dpkg-query", FAKE_DPKG_QUERY), ("apt-get", APT_GET_WRAPPER)):
            with open(os.path.join(bin_dir, name), "w") as f:
                f.write(text)
            os.chmod(os.path.join(bin_dir, name), 0o755)
        self.log = os.path.join(self.dir, "apt-get.log")
        self.env = dict(os.environ, PATH=bin_dir + ":" + os.environ["PATH"], APT_GET_LOG=self.log,
                        AUDITFWD_PRIVATE_RSYSLOG_DIR=os.path.join(self.dir, "rsyslog"))

    def deps(self, installed_syslog, missing):
        env = dict(self.env, FAKE_INSTALLED_SYSLOG=installed_syslog, FAKE_MISSING=" ".join(missing))
        result = subprocess.run([os.path.join(SOURCE, "scripts", "auditfwd-dev"), "deps"], env=env,
                                capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        calls = []
        if os.path.exists(self.log):
            with open(self.log) as f:
                calls = f.read().splitlines()
        return result.stdout, calls

    def test_without_another_syslog_daemon_rsyslog_is_installed(self):
        out, calls = self.deps("", ["rsyslog", "rsyslog-gnutls"])  # no syslog daemon at all
        installs = [c for c in calls if c.startswith("install")]
        self.assertEqual(len(installs), 1, calls)
        self.assertIn(" rsyslog rsyslog-gnutls", installs[0])
        self.assertNotIn("RSYSLOGD=", out)

    @requires(shutil.which("dpkg-deb") and os.path.exists("/usr/bin/apt-get"), "apt-get and dpkg-deb")
    def test_beside_syslog_ng_a_private_rsyslogd_is_unpacked_and_runs(self):
        out, calls = self.deps("ii |syslog-ng-core|linux-kernel-log-daemon, syslog-ng-mod-json, system-log-daemon\n"
                               "un |rsyslog|", ["rsyslog", "rsyslog-gnutls", "libestr0"])
        installs = [c for c in calls if c.startswith("install")]
        self.assertEqual(len(installs), 1, calls)
        self.assertNotIn("rsyslog", installs[0])  # installing it would remove syslog-ng
        self.assertIn("libestr0", installs[0])  # its libraries are installed, they replace nothing
        self.assertTrue(any(c.startswith("download") and "rsyslog" in c for c in calls), calls)
        private = os.path.join(self.dir, "rsyslog")
        self.assertIn(f"RSYSLOGD={private}/usr/sbin/rsyslogd", out)
        moddir = out.split("RSYSLOGD_MODDIR=")[1].split()[0]
        # The private copy is a working rsyslogd: it checks a config that loads its TLS module.
        conf = os.path.join(self.dir, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write('module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")\n'
                    'input(type="imtcp" address="127.0.0.1" port="10514")\n'
                    f'action(type="omfile" file="{self.dir}/out.log")\n')
        check = subprocess.run([f"{private}/usr/sbin/rsyslogd", "-N1", "-f", conf, "-M", moddir],
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)


if __name__ == "__main__":
    unittest.main()
