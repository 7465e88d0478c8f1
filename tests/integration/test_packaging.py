"""Install layout, the systemd unit, READY=1, socket activation and the shipped example config."""
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from harness import AUDITFWD_BIN, Client, event, requires, wait_until

SOURCE = os.environ.get("AUDITFWD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("AUDITFWD_BUILD_DIR", os.path.join(SOURCE, "build", "dev"))


class PackagingTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="auditfwd-pkg-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def cmake_install(self, destdir, prefix="/usr"):
        return subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], check=True, capture_output=True,
                              text=True, env=dict(os.environ, DESTDIR=destdir))

    def test_cmake_install_layout(self):
        for prefix in ("/usr", "/usr/local", "/opt/auditfwd"):
            destdir = os.path.join(self.dir, prefix.strip("/").replace("/", "-"))
            self.cmake_install(destdir, prefix)
            root = destdir + prefix
            self.assertTrue(os.access(os.path.join(root, "bin", "auditfwd"), os.X_OK))
            # The config is in /etc whatever the prefix: the unit reads /etc/auditfwd/auditfwd.toml.
            config = os.path.join(destdir, "etc", "auditfwd", "auditfwd.toml")
            self.assertTrue(os.path.exists(config), prefix)
            self.assertEqual(oct(os.stat(config).st_mode & 0o777), oct(0o644), "readable by the service")
            self.assertFalse(os.path.exists(os.path.join(root, "etc")), prefix)
            self.assertTrue(os.path.exists(os.path.join(destdir, "etc", "logrotate.d", "auditfwd")))
            for name in ("systemd/system/auditfwd.service", "systemd/system/auditfwd.socket",
                         "sysusers.d/auditfwd.conf", "tmpfiles.d/auditfwd.conf"):
                self.assertTrue(os.path.exists(os.path.join(root, "lib", name)), name)
            for name in ("man/man8/auditfwd.8.gz", "man/man5/auditfwd.toml.5.gz",
                         "auditfwd/examples/auditfwd.toml", "auditfwd/examples/systemd/exec-forwarder-jit.conf"):
                self.assertTrue(os.path.exists(os.path.join(root, "share", name)), name)

    def test_cmake_install_keeps_an_existing_config(self):
        destdir = os.path.join(self.dir, "stage")
        self.cmake_install(destdir)
        config = os.path.join(destdir, "etc", "auditfwd", "auditfwd.toml")
        with open(config, "w") as f:
            f.write("# the operator's\n")
        result = self.cmake_install(destdir)
        with open(config) as f:
            self.assertEqual(f.read(), "# the operator's\n")
        self.assertIn("Kept (exists)", result.stdout)

    def test_example_config_passes_check_config(self):
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", os.path.join(SOURCE, "config", "auditfwd.toml")],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    @requires(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_unit_verifies(self):
        unit_dir = os.path.join(self.dir, "units")
        os.makedirs(unit_dir)
        with open(os.path.join(SOURCE, "systemd", "auditfwd.service")) as f:
            unit = f.read().replace("/usr/bin/auditfwd", os.path.abspath(AUDITFWD_BIN))
        for name, text in (("auditfwd.service", unit),
                           ("auditfwd.socket", open(os.path.join(SOURCE, "systemd", "auditfwd.socket")).read())):
            with open(os.path.join(unit_dir, name), "w") as f:
                f.write(text)
        for name in ("auditfwd.service", "auditfwd.socket"):
            # --man=no: the units' man pages are checked once installed (test_debian_package).
            result = subprocess.run(["systemd-analyze", "verify", "--man=no", os.path.join(unit_dir, name)],
                                    capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertNotIn("auditfwd", result.stderr, result.stderr)

    def config(self, socket_path):
        path = os.path.join(self.dir, "c.toml")
        with open(path, "w") as f:
            f.write(f'[ingest]\nsocket = "{socket_path}"\n[store]\npath = "{self.dir}/j.db"\n'
                    f'[[forwarders]]\nid = "f"\ntype = "file"\ndispatch = "sync"\npath = "{self.dir}/o.log"\n')
        return path

    def test_ready_1_is_sent_once_the_socket_listens(self):
        notify_path = os.path.join(self.dir, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(30)
        sock = os.path.join(self.dir, "s.sock")
        proc = subprocess.Popen([AUDITFWD_BIN, "--config", self.config(sock)], env=dict(os.environ, NOTIFY_SOCKET=notify_path),
                                stderr=subprocess.DEVNULL)
        try:
            message = notify.recv(4096).decode()
            self.assertIn("READY=1", message)
            with Client(sock) as c:  # listening by the time READY=1 arrived
                self.assertTrue(c.send([event("a.b")])[0]["ok"])
            proc.terminate()
            self.assertIn("STOPPING=1", notify.recv(4096).decode())
            self.assertEqual(proc.wait(timeout=30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
            notify.close()

    @requires(shutil.which("systemd-socket-activate"), "systemd-socket-activate not installed")
    def test_socket_activation(self):
        sock = os.path.join(self.dir, "activated.sock")
        proc = subprocess.Popen(["systemd-socket-activate", "-l", sock, os.path.abspath(AUDITFWD_BIN), "--config",
                                 self.config(os.path.join(self.dir, "unused.sock"))],
                                stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: os.path.exists(sock), message="the activation socket")
            with Client(sock) as c:
                self.assertTrue(c.send([event("activated.event")])[0]["ok"])
            self.assertFalse(os.path.exists(os.path.join(self.dir, "unused.sock")))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    unittest.main()
