"""The network layer every forwarder shares: TLS files checked at config time, handshake
failures that say why, and name lookups that cannot outlast a delivery's timeout."""
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import AUDITFWD_BIN, DaemonTestCase, event, missing_prerequisite
from net_receivers import HANGING_SUFFIX, HttpReceiver, LineReceiver, hanging_lookup_env, make_pki


def forwarder(kind, address, **extra):
    key = "url" if kind == "http" else "address"
    return {"id": kind, "type": kind, "dispatch": "sync", "timeout": "5s", key: address, **extra}


class TlsPolicyTest(DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="auditfwd-net-pki-")
        cls.pki = make_pki(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, ignore_errors=True)

    def check_config(self, forwarders):
        d = self.daemon(forwarders, start=False)
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", d.config_path],
                                capture_output=True, text=True, timeout=60)
        return d, result

    def test_check_config_refuses_a_missing_or_wrong_tls_file_for_every_type(self):
        for kind, address in [("tcp", "tls://localhost:6514"), ("syslog", "tls://localhost:6514"),
                              ("http", "https://localhost/hook")]:
            with self.subTest(kind=kind, problem="missing CA file"):
                d, result = self.check_config([forwarder(kind, address, tls_ca_file="/nonexistent/ca.pem")])
                output = result.stdout + result.stderr
                self.assertEqual(result.returncode, 78, output)
                # file:line:column: key: reason (check-config places every problem)
                self.assertRegex(output, re.escape(d.config_path) + r":\d+:\d+: " + re.escape(
                    'forwarders[0].tls_ca_file: "/nonexistent/ca.pem" is not a readable file'))
            with self.subTest(kind=kind, problem="key of another certificate"):
                d, result = self.check_config([forwarder(kind, address, tls_ca_file=self.pki["ca.pem"],
                                                         tls_cert_file=self.pki["client.pem"],
                                                         tls_key_file=self.pki["server.key"])])
                output = result.stdout + result.stderr
                self.assertEqual(result.returncode, 78, output)
                self.assertRegex(output, re.escape(d.config_path) + r":\d+:\d+: " + re.escape(
                    "forwarders[0].tls_key_file: cannot load the client key"))
                self.assertIn("key values mismatch", output)
                self.assertNotIn("PRIVATE KEY", output)
            with self.subTest(kind=kind, problem="none"):
                _, result = self.check_config([forwarder(kind, address, tls_ca_file=self.pki["ca.pem"],
                                                         tls_cert_file=self.pki["client.pem"],
                                                         tls_key_file=self.pki["client.key"])])
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def line_receiver(self, cert):
        r = LineReceiver(certs={"cert": self.pki[f"{cert}.pem"], "key": self.pki[f"{cert}.key"]})
        self.addCleanup(r.stop)
        return r

    def http_receiver(self, cert):
        r = HttpReceiver(pki=self.pki, cert=cert)
        self.addCleanup(r.stop)
        return r

    def test_a_failed_handshake_says_why(self):
        other_host, expired, good = (self.line_receiver(c) for c in ("other-host", "expired", "server"))
        http_other_host, http_expired = self.http_receiver("other-host"), self.http_receiver("expired")
        ca = self.pki["ca.pem"]
        cases = {
            "tcp-name": (forwarder("tcp", f"tls://localhost:{other_host.port}", tls_ca_file=ca),
                         "certificate verify failed: hostname mismatch (server certificate CN=other.example)"),
            "tcp-address": (forwarder("tcp", f"tls://127.0.0.1:{other_host.port}", tls_ca_file=ca),
                            "certificate verify failed: IP address mismatch (server certificate CN=other.example)"),
            "tcp-expired": (forwarder("tcp", f"tls://localhost:{expired.port}", tls_ca_file=ca),
                            "certificate verify failed: certificate has expired (server certificate CN=localhost)"),
            "tcp-unknown-ca": (forwarder("tcp", f"tls://localhost:{good.port}", tls_ca_file=self.pki["other-ca.pem"]),
                               "certificate verify failed: unable to get local issuer certificate"),
            "syslog-name": (forwarder("syslog", f"tls://localhost:{other_host.port}", tls_ca_file=ca),
                            "certificate verify failed: hostname mismatch (server certificate CN=other.example)"),
            "http-name": (forwarder("http", http_other_host.url(host="localhost"), tls_ca_file=ca),
                          "certificate verify failed: hostname mismatch (server certificate CN=other.example)"),
            "http-expired": (forwarder("http", http_expired.url(host="localhost"), tls_ca_file=ca),
                             "certificate verify failed: certificate has expired (server certificate CN=localhost)"),
        }
        d = self.daemon([{**config, "id": name} for name, (config, _) in cases.items()])
        [reply] = d.send([event()])
        for name, (_, reason) in cases.items():
            with self.subTest(forwarder=name):
                result = reply["results"][name]
                self.assertEqual(result["status"], "error", result)
                self.assertIn(reason, result["reason"])
        self.assertEqual(other_host.events() + expired.events() + good.events(), [])
        self.assertEqual(http_other_host.received() + http_expired.received(), [])


class HangingLookupTest(DaemonTestCase):
    def test_a_delivery_to_a_name_whose_lookup_hangs_ends_within_the_timeout(self):
        directory = tempfile.mkdtemp(prefix="auditfwd-hang-")
        self.addCleanup(shutil.rmtree, directory, True)
        env = hanging_lookup_env(directory)
        if env is None:
            missing_prerequisite(self, "no C compiler (cc or gcc) for the getaddrinfo shim")
        host = "collector" + HANGING_SUFFIX
        forwarders = [
            {**forwarder("http", f"http://{host}:8080/hook"), "id": "http"},
            {**forwarder("tcp", f"tcp://{host}:5170"), "id": "tcp"},
            {**forwarder("syslog", f"tcp://{host}:514"), "id": "syslog-tcp"},
            {**forwarder("syslog", f"udp://{host}:514"), "id": "syslog-udp"},
        ]
        for f in forwarders:
            f["timeout"] = "1s"
        d = self.daemon(forwarders, env=env)
        # The first lookup hangs in getaddrinfo for a minute; the others queue behind it on
        # Asio's one resolver thread. Every delivery must still end at its own timeout.
        for attempt in range(2):
            start = time.monotonic()
            [reply] = d.send([event()])
            elapsed = time.monotonic() - start
            self.assertLess(elapsed, 3.5, f"attempt {attempt}: the reply took {elapsed:.1f}s with a 1s timeout")
            for f in forwarders:
                with self.subTest(attempt=attempt, forwarder=f["id"]):
                    result = reply["results"][f["id"]]
                    self.assertEqual(result["status"], "error", result)
                    self.assertIn("timeout", result["reason"])


if __name__ == "__main__":
    unittest.main()
