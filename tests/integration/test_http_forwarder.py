"""The `http` forwarder against real HTTP and HTTPS receivers (stdlib http.server + ssl)."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import AUDITFWD_BIN, DaemonTestCase, event, wait_until
from net_receivers import HttpReceiver, make_pki

BEARER = "bearer-s3cret-value"
SECRETS = ["whsec_current_1234", "whsec_previous_5678"]


def http_forwarder(url, **extra):
    return {"id": "hook", "type": "http", "dispatch": "async", "url": url,
            "backoff": "fixed", "backoff_min": "200ms", "timeout": "5s", **extra}


def expected_signatures(request):
    headers = request["headers"]
    message = f"{headers['idempotency-key']}.{headers['x-auditfwd-timestamp']}.".encode() + request["raw"]
    return ["v1=" + hmac.new(s.encode(), message, hashlib.sha256).hexdigest() for s in SECRETS]


class HttpForwarderTest(DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tempfile.mkdtemp(prefix="auditfwd-http-pki-")
        cls.pki = make_pki(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, ignore_errors=True)

    def receiver(self, **kwargs):
        r = HttpReceiver(**kwargs)
        self.addCleanup(r.stop)
        return r

    def jobs(self, d, state=None):
        args = ["list", "--json"] + (["--state", state] if state else [])
        result = d.jobs(*args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def test_https_json_carries_auth_idempotency_key_and_signatures(self):
        r = self.receiver(pki=self.pki)
        d = self.daemon([http_forwarder(r.url(), tls_ca_file=self.pki["ca.pem"], bearer_token=BEARER,
                                        hmac_secrets=SECRETS, headers={"X-Tenant": "acme"})],
                        store={"completed_retention": "1h"})
        replies = d.send([event("user.login"), event("user.logout"), event("user.password_changed")])
        ids = [reply["id"] for reply in replies]
        wait_until(lambda: len(r.received()) >= 3, message="three requests")
        received = r.received()
        self.assertEqual(len(received), 3)
        self.assertEqual(sorted(req["headers"]["idempotency-key"] for req in received), sorted(ids))
        for req in received:
            headers = req["headers"]
            [body_event] = r.events(req)
            self.assertEqual(headers["idempotency-key"], body_event["id"])
            self.assertEqual(headers["authorization"], f"Bearer {BEARER}")
            self.assertEqual(headers["content-type"], "application/json")
            self.assertEqual(headers["user-agent"], "auditfwd/0.1")
            self.assertEqual(headers["x-tenant"], "acme")
            self.assertEqual(req["path"], "/hook")
            self.assertLess(abs(int(headers["x-auditfwd-timestamp"]) - time.time()), 300)
            self.assertEqual(headers["x-auditfwd-signature"].split(","), expected_signatures(req))
        self.assertIn("localhost", r.sni_names)
        # Keep-alive: the three requests did not need three connections.
        self.assertLess(len({req["peer_port"] for req in received}), 3)
        wait_until(lambda: len(self.jobs(d, "completed")) == 3, message="three completed jobs")
        self.assertEqual(d.stop(), 0)
        log = d.log()
        for secret in [BEARER, *SECRETS]:
            self.assertNotIn(secret, log)

    def test_ndjson_and_json_array_batches_deliver_every_event_once(self):
        gate = threading.Event()

        def respond(request):
            gate.wait(30)  # hold the first requests until every event is queued: later claims fill batches
            return 200, {}, b""

        r = self.receiver(respond=respond)
        d = self.daemon([
            {**http_forwarder(r.url("/ndjson"), format="ndjson", batch_max_events=10), "id": "nd"},
            {**http_forwarder(r.url("/array"), format="json_array", batch_max_events=10), "id": "arr"},
        ])
        replies = d.send([event("user.login", metadata={"n": i}) for i in range(25)])
        ids = sorted(reply["id"] for reply in replies)
        gate.set()
        for path, content_type in [("/ndjson", "application/x-ndjson"), ("/array", "application/json")]:
            def delivered(path=path):
                return [e["id"] for req in r.received() if req["path"] == path for e in r.events(req)]
            wait_until(lambda: len(delivered()) >= 25, message=f"25 events at {path}")
            requests = [req for req in r.received() if req["path"] == path]
            self.assertEqual(sorted(delivered()), ids, path)  # every event exactly once
            self.assertLessEqual(len(requests), 4, path)  # at most 1 held + ceil(24 / 10)
            for req in requests:
                self.assertEqual(req["headers"]["content-type"], content_type)
                self.assertEqual(req["headers"]["idempotency-key"], r.events(req)[0]["id"])
                self.assertLessEqual(len(r.events(req)), 10)
        self.assertEqual(d.stop(), 0)

    def test_batch_timeout_gathers_events_that_trickle_in(self):
        r = self.receiver()
        d = self.daemon([http_forwarder(r.url("/batched"), format="ndjson", batch_max_events=100, batch_timeout="3s")])
        ids = []
        for i in range(8):  # eight separate round trips, each committing its own job
            ids += [reply["id"] for reply in d.send([event("trickle.in", metadata={"n": i})])]
        wait_until(lambda: len([e for req in r.received() for e in r.events(req)]) >= 8, message="8 events delivered")
        delivered = [e["id"] for req in r.received() for e in r.events(req)]
        self.assertEqual(sorted(delivered), sorted(ids))
        self.assertLess(len(r.received()), 8, "batch_timeout should have gathered events into fewer requests")

    def test_503_with_retry_after_is_retried_after_the_given_time(self):
        def respond(request):
            if not r.received():
                return 503, {"Retry-After": "2"}, b"overloaded"
            return 200, {}, b""

        r = self.receiver(respond=respond)
        d = self.daemon([http_forwarder(r.url())], store={"completed_retention": "1h"})
        [reply] = d.send([event()])
        wait_until(lambda: len(r.received()) >= 2, message="the retry")
        first, second = r.received()[:2]
        self.assertGreaterEqual(second["at"] - first["at"], 1.8)  # Retry-After (2 s) beat the 200 ms backoff
        self.assertEqual(second["headers"]["idempotency-key"], reply["id"])
        [job] = wait_until(lambda: self.jobs(d, "completed"), message="the job to complete")
        self.assertEqual(job["attempt"], 2)
        self.assertIn("HTTP 503", job["errors"][0]["error"])
        self.assertIn("overloaded", job["errors"][0]["error"])

    def test_retry_after_0_still_waits_a_second(self):
        def respond(request):
            if not r.received():
                return 503, {"Retry-After": "0"}, b"overloaded"
            return 200, {}, b""

        r = self.receiver(respond=respond)
        # backoff 100ms: without the 1 s floor, "Retry-After: 0" would retry at the next poll.
        d = self.daemon([http_forwarder(r.url(), backoff_min="100ms")], store={"completed_retention": "1h"})
        d.send([event()])
        wait_until(lambda: len(r.received()) >= 2, message="the retry")
        first, second = r.received()[:2]
        self.assertGreaterEqual(second["at"] - first["at"], 0.9, "Retry-After: 0 retried at once")
        [job] = wait_until(lambda: self.jobs(d, "completed"), message="the job to complete")
        self.assertEqual(job["attempt"], 2)

    def test_400_cancels_the_job_with_status_and_body(self):
        r = self.receiver(respond=lambda request: (400, {"Content-Type": "application/json"},
                                                   b'{"error":"schema mismatch: field actor_type"}'))
        d = self.daemon([http_forwarder(r.url())])
        [reply] = d.send([event()])
        [job] = wait_until(lambda: self.jobs(d, "cancelled"), message="the job to be cancelled")
        self.assertEqual(job["event_id"], reply["id"])
        self.assertEqual(len(job["errors"]), 1)
        self.assertIn("HTTP 400 Bad Request", job["errors"][0]["error"])
        self.assertIn("schema mismatch", job["errors"][0]["error"])
        self.assertEqual(len(r.received()), 1)  # a permanent failure is not retried

    def test_untrusted_server_certificate_is_never_sent_anything(self):
        r = self.receiver(pki=self.pki)
        d = self.daemon([http_forwarder(r.url(), tls_ca_file=self.pki["other-ca.pem"], bearer_token=BEARER)])
        d.send([event()])

        def tls_error():
            return [j for j in self.jobs(d, "retryable") if j["errors"]]

        [job] = wait_until(tls_error, message="a TLS error on the job")
        self.assertIn("certificate verify failed", job["errors"][0]["error"])
        self.assertEqual(r.received(), [])
        self.assertNotIn(BEARER, d.log())

    def test_a_trusted_certificate_for_another_host_is_never_sent_anything(self):
        # The chain is sound (our CA signed it), only the name is wrong: this
        # fails only if the host name is checked. The control forwarder, same CA
        # and a certificate that names the host, proves the chain is accepted.
        wrong = self.receiver(pki=self.pki, cert="other-host")
        right = self.receiver(pki=self.pki)
        d = self.daemon([
            {**http_forwarder(wrong.url(host="localhost"), tls_ca_file=self.pki["ca.pem"], bearer_token=BEARER),
             "id": "by-name"},
            {**http_forwarder(wrong.url(host="127.0.0.1"), tls_ca_file=self.pki["ca.pem"], bearer_token=BEARER),
             "id": "by-address"},
            {**http_forwarder(right.url(), tls_ca_file=self.pki["ca.pem"]), "id": "control"},
        ], store={"completed_retention": "1h"})
        [reply] = d.send([event()])
        self.assertTrue(reply["ok"], reply)
        wait_until(right.received, message="the control delivery")

        def failed_jobs():
            return {j["forwarder"]: j for j in self.jobs(d) if j["forwarder"] != "control" and j["errors"]}

        wait_until(lambda: wrong.received() or len(failed_jobs()) == 2, message="both handshakes to fail")
        self.assertEqual(wrong.received(), [], "a request reached a server whose certificate names another host")
        for job in failed_jobs().values():
            self.assertIn(job["state"], ("retryable", "available"), job)
            self.assertIn("certificate verify failed", job["errors"][0]["error"])
        self.assertNotIn(BEARER, d.log())

    def test_tls_verify_false_delivers_and_warns(self):
        r = self.receiver(pki=self.pki)
        d = self.daemon([http_forwarder(r.url(), tls_verify=False)])
        d.send([event()])
        wait_until(r.received, message="the request")
        wait_until(lambda: "NOT verified" in d.log(), message="the warning")

    def test_mutual_tls(self):
        r = self.receiver(pki=self.pki, require_client_cert=True)
        d = self.daemon([
            {**http_forwarder(r.url("/with-cert"), tls_ca_file=self.pki["ca.pem"],
                              tls_cert_file=self.pki["client.pem"], tls_key_file=self.pki["client.key"]), "id": "mtls"},
            {**http_forwarder(r.url("/without-cert"), tls_ca_file=self.pki["ca.pem"]), "id": "nocert"},
        ])
        d.send([event()])
        [req] = wait_until(r.received, message="the mTLS request")
        self.assertEqual(req["path"], "/with-cert")
        subject = dict(pair for rdn in req["client_cert"]["subject"] for pair in rdn)
        self.assertEqual(subject["commonName"], "auditfwd-client")
        wait_until(lambda: [j for j in self.jobs(d, "retryable") if j["forwarder"] == "nocert" and j["errors"]],
                   message="the forwarder without a client certificate to fail")
        self.assertEqual([q["path"] for q in r.received()], ["/with-cert"])

    def test_sync_dispatch_returns_the_result_in_the_reply(self):
        def respond(request):
            if json.loads(request["body"])["action"] == "user.login":
                return 204, {}, b""
            return 422, {}, b"unknown action"

        r = self.receiver(respond=respond)
        d = self.daemon([http_forwarder(r.url(), dispatch="sync")])
        ok, refused = d.send([event("user.login"), event("user.deleted")])
        self.assertEqual(ok["results"]["hook"], {"status": "ok"})
        self.assertEqual(refused["results"]["hook"]["status"], "error")
        self.assertIn("HTTP 422", refused["results"]["hook"]["reason"])
        self.assertIn("unknown action", refused["results"]["hook"]["reason"])

    def test_gzip_body_decodes_and_the_signature_covers_the_compressed_bytes(self):
        r = self.receiver()

        def forwarders(directory):
            password_file = os.path.join(directory, "password")
            with open(password_file, "w") as f:
                f.write("pa55:word\n")
            return [http_forwarder(r.url(), gzip=True, format="ndjson", hmac_secrets=SECRETS,
                                   basic_user="auditfwd", basic_password_file=password_file)]

        d = self.daemon(forwarders)
        [reply] = d.send([event(metadata={"note": "x" * 2000})])
        [req] = wait_until(r.received, message="the request")
        self.assertEqual(req["headers"]["content-encoding"], "gzip")
        self.assertLess(len(req["raw"]), 2000)
        [body_event] = r.events(req)
        self.assertEqual(body_event["id"], reply["id"])
        self.assertEqual(req["headers"]["x-auditfwd-signature"].split(","), expected_signatures(req))
        self.assertEqual(req["headers"]["authorization"],
                         "Basic " + base64.b64encode(b"auditfwd:pa55:word").decode())
        self.assertNotIn("pa55:word", d.log())

    def test_timeout_cancels_a_hung_request_and_the_retry_succeeds(self):
        def respond(request):
            if not r.received() and not hasattr(r, "held"):
                r.held = True
                r.release.wait(60)  # never answers within the forwarder's timeout
            return 200, {}, b""

        r = self.receiver(respond=respond)
        d = self.daemon([http_forwarder(r.url(), timeout="500ms")], store={"completed_retention": "1h"})
        d.send([event()])
        [job] = wait_until(lambda: self.jobs(d, "completed"), message="the retry to succeed")
        self.assertEqual(job["attempt"], 2)
        self.assertIn("timeout", job["errors"][0]["error"])

    def test_sync_delivery_to_a_hung_receiver_ends_at_the_timeout(self):
        def respond(request):
            r.release.wait(60)  # longer than the client's patience: only cancellation can end the delivery
            return 200, {}, b""

        r = self.receiver(respond=respond)
        d = self.daemon([http_forwarder(r.url(), dispatch="sync", timeout="500ms")])
        [reply] = d.send([event()])
        self.assertEqual(reply["results"]["hook"]["status"], "error")
        self.assertIn("timeout", reply["results"]["hook"]["reason"])
        self.assertEqual(d.stop(), 0)

    def test_sync_deliveries_from_two_connections_run_side_by_side(self):
        both_in_flight = threading.Event()
        lock = threading.Lock()
        in_flight = [0]

        def respond(request):
            with lock:
                in_flight[0] += 1
                if in_flight[0] == 2:
                    both_in_flight.set()
            # Held until the other connection's request is in flight too: if one
            # connection's delivery stalled the other, this would time out.
            ok = both_in_flight.wait(20)
            with lock:
                in_flight[0] -= 1
            return (200 if ok else 503), {}, b""

        r = self.receiver(respond=respond)
        d = self.daemon([http_forwarder(r.url(), dispatch="sync", timeout="30s")])
        replies = [None, None]

        def client(index):
            replies[index] = d.send([event("side.by.side")])[0]

        threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertTrue(both_in_flight.is_set(), "the two sync deliveries never overlapped")
        self.assertEqual([reply["results"]["hook"]["status"] for reply in replies], ["ok", "ok"])

    def test_a_connection_closed_while_idle_is_replaced_without_a_failed_attempt(self):
        r = self.receiver(close_after_response=True)
        d = self.daemon([http_forwarder(r.url())], store={"completed_retention": "1h"})
        for n in range(1, 4):
            d.send([event()])
            wait_until(lambda: len(self.jobs(d, "completed")) == n, message=f"job {n} completed")
        for job in self.jobs(d, "completed"):
            self.assertEqual(job["attempt"], 1)
            self.assertEqual(job["errors"], [])
        self.assertEqual(len(r.received()), 3)

    def test_refused_connection_is_retried(self):
        r = self.receiver()
        port = r.port
        r.stop()
        d = self.daemon([http_forwarder(f"http://127.0.0.1:{port}/hook")])
        d.send([event()])
        [job] = wait_until(lambda: [j for j in self.jobs(d, "retryable") if j["errors"]], message="a retryable error")
        self.assertIn("connect 127.0.0.1", job["errors"][0]["error"])

    def check_config(self, forwarder):
        d = self.daemon([forwarder], start=False)
        return subprocess.run([AUDITFWD_BIN, "check-config", "--config", d.config_path],
                              capture_output=True, text=True, timeout=60)

    def test_config_errors_name_the_key(self):
        for forwarder, key in [
            (http_forwarder("ftp://example.com/"), "forwarders[0].url"),
            (http_forwarder("https://localhost/", tls_ca_file="/nonexistent.pem"), "forwarders[0].tls_ca_file"),
            (http_forwarder("https://localhost/", tls_cert_file=self.pki["client.pem"],
                            tls_key_file=self.pki["server.key"]), "forwarders[0].tls_key_file"),
            (http_forwarder("http://localhost/", format="xml"), "forwarders[0].format"),
            (http_forwarder("http://localhost/", bearer_tokn=BEARER), "forwarders[0].bearer_tokn"),
        ]:
            result = self.check_config(forwarder)
            self.assertEqual(result.returncode, 78, result.stdout + result.stderr)
            self.assertIn(key, result.stdout + result.stderr)
            self.assertNotIn(BEARER, result.stdout + result.stderr)

    def test_check_config_loads_tls_files_but_connects_nowhere(self):
        r = self.receiver(pki=self.pki)
        result = self.check_config(http_forwarder(r.url(), tls_ca_file=self.pki["ca.pem"],
                                                  tls_cert_file=self.pki["client.pem"],
                                                  tls_key_file=self.pki["client.key"]))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(r.received(), [])

if __name__ == "__main__":
    unittest.main()
