"""The tcp forwarder against a real JSON-lines receiver: batches, a receiver restart, TLS."""
import json
import tempfile
import time
import unittest

from harness import DaemonTestCase, event, wait_until
from net_receivers import LineReceiver, free_port, make_certificates

FAST_RETRY = {"backoff": "fixed", "backoff_min": "200ms"}


def tcp_forwarder(address, **extra):
    return {"id": "siem", "type": "tcp", "dispatch": "async", "address": address, **FAST_RETRY, **extra}


class TcpForwarderTest(DaemonTestCase):
    def receiver(self, **kwargs):
        r = LineReceiver(**kwargs)
        self.addCleanup(r.stop)
        return r

    def job_states(self, d):
        return dict(d.query("SELECT state, count(*) FROM jobs GROUP BY state"))

    def test_a_batch_arrives_exactly_once(self):
        r = self.receiver()
        d = self.daemon([tcp_forwarder(f"tcp://127.0.0.1:{r.port}")], store={"completed_retention": "1h"})
        replies = d.send([event("user.login", metadata={"n": i}) for i in range(200)])
        ids = [reply["id"] for reply in replies]
        wait_until(lambda: self.job_states(d) == {"completed": 200}, message="all jobs completed")
        # Written and flushed by the daemon is not yet read by the receiver's thread.
        wait_until(lambda: len(r.ids()) >= 200, message="the receiver to read every line")
        time.sleep(0.2)  # a duplicate, if any, would arrive right behind
        received = r.ids()
        self.assertEqual(sorted(received), sorted(ids))  # every event, none twice
        self.assertEqual(len(set(received)), 200)
        self.assertEqual(r.events()[0]["action"], "user.login")
        self.assertEqual(d.stop(), 0)

    def test_sync_delivery_reports_the_receiver_state(self):
        r = self.receiver()
        d = self.daemon([{**tcp_forwarder(f"tcp://127.0.0.1:{r.port}"), "dispatch": "sync"}])
        [reply] = d.send([event()])
        self.assertEqual(reply["results"]["siem"], {"status": "ok"})
        wait_until(lambda: r.ids() == [reply["id"]], message="the event at the receiver")
        r.stop()
        [reply] = d.send([event()])
        self.assertEqual(reply["results"]["siem"]["status"], "error", reply)
        self.assertIn("127.0.0.1", reply["results"]["siem"]["reason"])

    def test_receiver_restart_mid_stream_loses_nothing(self):
        port = free_port()
        r1 = self.receiver(port=port)
        d = self.daemon([tcp_forwarder(f"tcp://127.0.0.1:{port}")], store={"completed_retention": "1h"})
        first = [reply["id"] for reply in d.send([event() for _ in range(20)])]
        wait_until(lambda: set(first) <= set(r1.ids()), message="the first events at the receiver")
        r1.stop()

        second = [reply["id"] for reply in d.send([event() for _ in range(20)])]
        # Deliveries fail while nothing listens: the jobs wait for a retry.
        wait_until(lambda: d.query("SELECT count(*) FROM jobs WHERE errors IS NOT NULL AND errors != '[]'")[0][0] > 0,
                   message="a failed delivery attempt")
        third = [reply["id"] for reply in d.send([event() for _ in range(5)])]

        r2 = self.receiver(port=port)
        wait_until(lambda: set(second + third) <= set(r1.ids() + r2.ids()), timeout=60,
                   message="every acknowledged event after the restart")
        wait_until(lambda: self.job_states(d) == {"completed": 45}, timeout=60, message="all jobs completed")
        self.assertIn("connect to tcp://127.0.0.1", d.log())

    def test_tls_with_a_private_ca(self):
        certs = make_certificates(tempfile.mkdtemp(prefix="auditfwd-certs-"))
        r = self.receiver(certs=certs)
        d = self.daemon([tcp_forwarder(f"tls://127.0.0.1:{r.port}", tls_ca_file=certs["ca"])])
        ids = [reply["id"] for reply in d.send([event() for _ in range(10)])]
        wait_until(lambda: sorted(r.ids()) == sorted(ids), message="the events over TLS")
        self.assertEqual(d.stop(), 0)

    def test_mutual_tls_presents_the_client_certificate(self):
        certs = make_certificates(tempfile.mkdtemp(prefix="auditfwd-certs-"))
        r = self.receiver(certs=certs, require_client_cert=True)
        address = f"tls://127.0.0.1:{r.port}"
        d = self.daemon([
            tcp_forwarder(address, tls_ca_file=certs["ca"], tls_cert_file=certs["client_cert"],
                          tls_key_file=certs["client_key"]),
            {**tcp_forwarder(address, tls_ca_file=certs["ca"]), "id": "anonymous"},
        ])
        [reply] = d.send([event()])
        wait_until(lambda: r.ids() == [reply["id"]], message="the event from the forwarder with a certificate")
        wait_until(lambda: d.query("SELECT count(*) FROM jobs WHERE forwarder = 'anonymous' AND attempt > 1")[0][0],
                   message="the forwarder without a certificate retrying")
        self.assertEqual(r.ids(), [reply["id"]])
        [(errors,)] = d.query("SELECT errors FROM jobs WHERE forwarder = 'anonymous'")
        self.assertIn("refused by the server after the handshake", json.loads(errors)[0]["error"])
        self.assertNotIn("BEGIN", d.log())  # no key material in the log

    def test_tls_refuses_an_untrusted_server(self):
        certs = make_certificates(tempfile.mkdtemp(prefix="auditfwd-certs-"))
        r = self.receiver(certs=certs)
        d = self.daemon([tcp_forwarder(f"tls://127.0.0.1:{r.port}")])  # system trust store only
        d.send([event()])

        def failure():
            rows = d.query("SELECT errors FROM jobs WHERE errors IS NOT NULL AND errors != '[]'")
            return rows and json.loads(rows[0][0])

        errors = wait_until(failure, message="a failed TLS delivery")
        self.assertIn("certificate verify failed: unable to get local issuer certificate", errors[0]["error"])
        self.assertEqual(r.events(), [])

    def test_bad_address_is_a_config_error_naming_the_key(self):
        d = self.daemon([tcp_forwarder("udp://127.0.0.1:514")], start=False)
        import subprocess
        from harness import AUDITFWD_BIN
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", d.config_path],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 78, result)
        self.assertIn("forwarders[0].address", result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
