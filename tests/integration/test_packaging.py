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

    def test_cmake_install_layout(self):
        prefix = os.path.join(self.dir, "prefix")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], check=True, capture_output=True)
        self.assertTrue(os.access(os.path.join(prefix, "bin", "auditfwd"), os.X_OK))
        self.assertTrue(os.path.exists(os.path.join(prefix, "etc", "auditfwd", "auditfwd.toml")))
        self.assertTrue(os.path.exists(os.path.join(prefix, "lib", "systemd", "system", "auditfwd.service")))
        self.assertTrue(os.path.exists(os.path.join(prefix, "lib", "systemd", "system", "auditfwd.socket")))

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
            result = subprocess.run(["systemd-analyze", "verify", os.path.join(unit_dir, name)],
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
