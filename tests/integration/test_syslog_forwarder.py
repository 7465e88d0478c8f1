"""The syslog forwarder against a real rsyslogd: the fields rsyslog parsed, over UDP, TCP and TLS."""
import json
import os
import socket
import tempfile
import unittest

from harness import DaemonTestCase, event, requires, wait_until
from net_receivers import free_port, make_certificates
from rsyslog_server import RSYSLOGD, Rsyslog

FAST_RETRY = {"backoff": "fixed", "backoff_min": "200ms"}


@requires(os.access(RSYSLOGD, os.X_OK), "rsyslogd is not installed")
class SyslogForwarderTest(DaemonTestCase):
    def rsyslog(self, transport, port=None, certs=None):
        directory = tempfile.mkdtemp(prefix="auditfwd-rsyslog-")
        port = port or free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
        server = Rsyslog(directory, transport, port, certs=certs)
        self.addCleanup(server.stop)
        return server.start()

    def syslog_forwarder(self, server, **extra):
        return {"id": "syslog", "type": "syslog", "dispatch": "async",
                "address": f"{server.transport}://127.0.0.1:{server.port}", **FAST_RETRY, **extra}

    def received(self, server, ids):
        """Waits until rsyslog has every id; returns its parsed messages by event id."""
        def complete():
            by_id = {}
            for m in server.messages():
                by_id.setdefault(json.loads(m["msg"])["id"], []).append(m)
            return by_id if set(ids) <= set(by_id) else None
        return wait_until(complete, timeout=60, message=f"{len(ids)} events at rsyslog")

    def test_udp_carries_every_rfc5424_field(self):
        server = self.rsyslog("udp")
        d = self.daemon([self.syslog_forwarder(server, facility="local3", app_name="billing", hostname="web-1")])
        long_action = "billing.invoice_" + "x" * 40
        sent = [event("user.login"), event("user.login", outcome="failure"),
                event(long_action, outcome="error", occurred_at="2026-01-02T03:04:05.123456789+02:00",
                      metadata={"note": "caf\u00e9 \"quoted\" ] \\"})]
        ids = [reply["id"] for reply in d.send(sent)]
        by_id = self.received(server, ids)

        ok, failure, error = (by_id[i][0] for i in ids)
        for m in (ok, failure, error):
            self.assertEqual(m["app-name"], "billing")
            self.assertEqual(m["hostname"], "web-1")
            self.assertEqual(m["syslogfacility-text"], "local3")
            self.assertEqual(m["procid"], str(d.proc.pid))
        self.assertEqual([m["syslogseverity-text"] for m in (ok, failure, error)], ["info", "notice", "err"])
        self.assertEqual(ok["msgid"], "user.login")
        self.assertEqual(error["msgid"], long_action[:32])
        self.assertEqual(ok["structured-data"], f'[auditfwd@32473 id="{ids[0]}" outcome="success"]')
        self.assertEqual(error["structured-data"], f'[auditfwd@32473 id="{ids[2]}" outcome="error"]')
        self.assertEqual(error["timestamp"], "2026-01-02T03:04:05.123456+02:00")
        payload = json.loads(error["msg"])
        self.assertEqual(payload["action"], long_action)
        self.assertEqual(payload["metadata"]["note"], "caf\u00e9 \"quoted\" ] \\")

    def test_tcp_octet_counted_batch_arrives_once_each(self):
        server = self.rsyslog("tcp")
        d = self.daemon([self.syslog_forwarder(server)], store={"completed_retention": "1h"})
        ids = [reply["id"] for reply in d.send([event("user.login", metadata={"n": i}) for i in range(150)])]
        wait_until(lambda: dict(d.query("SELECT state, count(*) FROM jobs GROUP BY state")) == {"completed": 150},
                   message="all jobs completed")
        by_id = self.received(server, ids)
        self.assertEqual(sorted(by_id), sorted(ids))
        self.assertTrue(all(len(copies) == 1 for copies in by_id.values()))
        sample = by_id[ids[0]][0]
        self.assertEqual((sample["app-name"], sample["syslogfacility-text"], sample["syslogseverity-text"]),
                         ("auditfwd", "authpriv", "info"))
        self.assertEqual(sample["hostname"], socket.gethostname()[:255])

    def test_tls_with_a_private_ca(self):
        certs = make_certificates(tempfile.mkdtemp(prefix="auditfwd-certs-"))
        server = self.rsyslog("tls", certs=certs)
        d = self.daemon([self.syslog_forwarder(server, tls_ca_file=certs["ca"])])
        ids = [reply["id"] for reply in d.send([event("user.login"), event("user.logout", outcome="failure")])]
        by_id = self.received(server, ids)
        self.assertEqual(by_id[ids[1]][0]["msgid"], "user.logout")
        self.assertEqual(by_id[ids[1]][0]["syslogseverity-text"], "notice")
        self.assertEqual(d.stop(), 0)

    def test_events_sent_while_rsyslog_is_down_arrive_after_it_returns(self):
        server = self.rsyslog("tcp")
        d = self.daemon([self.syslog_forwarder(server)], store={"completed_retention": "1h"})
        before = [reply["id"] for reply in d.send([event() for _ in range(5)])]
        self.received(server, before)
        server.stop()

        during = [reply["id"] for reply in d.send([event() for _ in range(10)])]
        wait_until(lambda: d.query("SELECT count(*) FROM jobs WHERE errors IS NOT NULL AND errors != '[]'")[0][0],
                   message="a failed delivery while rsyslog is down")
        server.start()
        self.received(server, before + during)
        wait_until(lambda: dict(d.query("SELECT state, count(*) FROM jobs GROUP BY state")) == {"completed": 15},
                   timeout=60, message="all jobs completed")


if __name__ == "__main__":
    unittest.main()
