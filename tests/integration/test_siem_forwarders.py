"""The `splunk_hec`, `elasticsearch` and `loki` forwarders through the real binary, against fake endpoints
(siem_receivers.py) that store what they accept the way the real ones do."""
import base64
import calendar
import datetime
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import AUDITFWD_BIN, DaemonTestCase, event, wait_until
from net_receivers import make_pki
from siem_receivers import Elasticsearch, Loki, SplunkHec

HEC_TOKEN = "11111111-hec-token-s3cret"
ES_API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
LOKI_BEARER = "loki-bearer-s3cret"


def base(kind, url, **extra):
    return {"id": kind, "type": kind, "url": url, "backoff": "fixed", "backoff_min": "200ms", "timeout": "5s",
            **extra}


def epoch(text):
    """RFC 3339 ("…Z", as these tests send) to epoch seconds as a float."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class SiemTestCase(DaemonTestCase):
    def fake(self, cls, *args, **kwargs):
        f = cls(*args, **kwargs)
        self.addCleanup(f.stop)
        return f

    def jobs(self, d, state=None, forwarder=None):
        jobs = d.job_list(*(["--state", state] if state else []))
        return [j for j in jobs if forwarder is None or j["forwarder"] == forwarder]

    def check_config(self, forwarder):
        d = self.daemon([forwarder], start=False)
        return subprocess.run([AUDITFWD_BIN, "check-config", "--config", d.config_path],
                              capture_output=True, text=True, timeout=60)

    def assert_no_secret(self, d, secret, jobs=()):
        self.assertNotIn(secret, d.log())
        for job in jobs:
            self.assertNotIn(secret, json.dumps(job))


class SplunkHecTest(SiemTestCase):
    def test_sync_and_async_batches_each_event_indexed_once_with_its_envelope(self):
        hec = self.fake(SplunkHec, HEC_TOKEN)
        token_file = os.path.join(tempfile.mkdtemp(prefix="auditfwd-hec-"), "token")
        self.addCleanup(shutil.rmtree, os.path.dirname(token_file), True)
        with open(token_file, "w") as f:
            f.write(HEC_TOKEN + "\n")
        d = self.daemon([
            {**base("splunk_hec", hec.url(), token_file=token_file, index="audit", gzip=True, batch_max_events=10,
                    dispatch="async"), "id": "hec-async"},
            {**base("splunk_hec", hec.url(), token=HEC_TOKEN, dispatch="sync", sourcetype="auditfwd:test"),
             "id": "hec-sync"},
        ], store={"completed_retention": "1h"})
        sent = [event("user.login", occurred_at=f"2026-11-29T10:00:{i:02d}.25Z", metadata={"n": i}) for i in range(20)]
        replies = d.send(sent)
        ids = [r["id"] for r in replies]
        for reply in replies:
            self.assertEqual(reply["results"]["hec-sync"], {"status": "ok"})
            self.assertEqual(reply["results"]["hec-async"]["status"], "enqueued")
        wait_until(lambda: len(hec.indexed) >= 40, message="40 envelopes")
        wait_until(lambda: len(self.jobs(d, "completed", "hec-async")) == 20, message="20 completed jobs")
        by_sourcetype = {}
        for envelope in hec.indexed:
            by_sourcetype.setdefault(envelope["sourcetype"], []).append(envelope)
        self.assertEqual(sorted(by_sourcetype), ["auditfwd:event", "auditfwd:test"])
        for sourcetype, envelopes in by_sourcetype.items():
            self.assertEqual(sorted(e["event"]["id"] for e in envelopes), sorted(ids), sourcetype)  # once each
            for envelope in envelopes:
                self.assertEqual(envelope["source"], "auditfwd")
                self.assertAlmostEqual(envelope["time"], epoch(envelope["event"]["occurred_at"]), places=3)
                self.assertEqual(envelope["host"], envelope["event"]["host"]["hostname"])
        self.assertTrue(all(e["index"] == "audit" for e in by_sourcetype["auditfwd:event"]))
        self.assertTrue(all("index" not in e for e in by_sourcetype["auditfwd:test"]))
        requests = hec.requests("/services/collector/event")
        gzipped = [r for r in requests if r["headers"].get("content-encoding") == "gzip"]
        self.assertTrue(gzipped)
        self.assertEqual(gzip.decompress(gzipped[0]["raw"]), gzipped[0]["body"])
        self.assertLess(len(gzipped), 20, "the async forwarder should have batched")
        for r in requests:
            self.assertEqual(r["headers"]["authorization"], f"Splunk {HEC_TOKEN}")
        channels = {r["headers"]["x-splunk-request-channel"] for r in requests}
        self.assertEqual(len(channels), 2, "one channel per forwarder")
        self.assertEqual(d.stop(), 0)
        self.assert_no_secret(d, HEC_TOKEN, self.jobs(d))

        # The default channel is kept across restarts (derived from machine id and forwarder id).
        d.start()
        d.send([event("user.logout")])
        wait_until(lambda: len(hec.indexed) >= 42, message="the events after the restart")
        later = {r["headers"]["x-splunk-request-channel"] for r in hec.requests("/services/collector/event")}
        self.assertEqual(later, channels)

    def test_indexer_acknowledgement_completes_the_job_only_when_confirmed(self):
        hec = self.fake(SplunkHec, HEC_TOKEN)
        hec.confirm_after_polls = 3
        d = self.daemon([base("splunk_hec", hec.url(), token=HEC_TOKEN, ack=True, ack_timeout="20s", timeout="30s",
                              dispatch="async")], store={"completed_retention": "1h"})
        [reply] = d.send([event()])
        [job] = wait_until(lambda: self.jobs(d, "completed"), timeout=30, message="the acknowledged job")
        self.assertEqual(job["attempt"], 1)
        polls = hec.requests("/services/collector/ack")
        self.assertEqual(len(polls), 3)  # it waited for the third poll's confirmation
        self.assertEqual(json.loads(polls[0]["body"]), {"acks": [0]})
        self.assertEqual([e["id"] for e in hec.events()], [reply["id"]])

    def test_unconfirmed_ack_within_ack_timeout_is_retried(self):
        hec = self.fake(SplunkHec, HEC_TOKEN)
        hec.confirm_after_polls = None  # never, until the test says so
        d = self.daemon([base("splunk_hec", hec.url(), token=HEC_TOKEN, ack=True, ack_timeout="1s", timeout="10s",
                              dispatch="sync")], store={"completed_retention": "1h"})
        [reply] = d.send([event()])
        result = reply["results"]["splunk_hec"]
        self.assertEqual(result["status"], "error")
        self.assertIn("not confirmed within ack_timeout", result["reason"])
        self.assertGreaterEqual(len(hec.requests("/services/collector/ack")), 1)

        d2 = self.daemon([base("splunk_hec", hec.url(), token=HEC_TOKEN, ack=True, ack_timeout="1s",
                               dispatch="async")], store={"completed_retention": "1h"})
        d2.send([event()])
        [job] = wait_until(lambda: [j for j in self.jobs(d2) if j["errors"]], message="a retry")
        self.assertIn("not confirmed within ack_timeout", job["errors"][0]["error"])
        with hec.lock:
            hec.confirm_after_polls = 1
        [job] = wait_until(lambda: self.jobs(d2, "completed"), timeout=30, message="completed once confirmed")
        self.assertGreaterEqual(job["attempt"], 2)

    def test_hec_error_codes_busy_retried_bad_index_cancelled_bad_token_retried_and_redacted(self):
        hec = self.fake(SplunkHec, HEC_TOKEN)
        hec.busy = 2
        d = self.daemon([
            {**base("splunk_hec", hec.url(), token=HEC_TOKEN, dispatch="async"), "id": "busy"},
        ], store={"completed_retention": "1h"})
        [reply] = d.send([event()])
        [job] = wait_until(lambda: self.jobs(d, "completed"), timeout=30, message="completed after code 9")
        self.assertEqual(job["attempt"], 3)
        self.assertIn("HEC code 9", job["errors"][0]["error"])
        self.assertEqual([e["id"] for e in hec.events()], [reply["id"]])  # once, though sent three times
        d.stop()

        d = self.daemon([
            {**base("splunk_hec", hec.url(), token=HEC_TOKEN, index="nosuchindex", dispatch="async"), "id": "bad-index"},
            {**base("splunk_hec", hec.url(), token="wrong-token-value", dispatch="async"), "id": "bad-token"},
        ])
        d.send([event()])
        [cancelled] = wait_until(lambda: self.jobs(d, "cancelled", "bad-index"), message="the bad index cancelled")
        self.assertIn("HEC code 7", cancelled["errors"][0]["error"])
        [retrying] = wait_until(lambda: [j for j in self.jobs(d, None, "bad-token") if j["errors"]],
                                message="the bad token retried")
        self.assertIn("HEC code 4", retrying["errors"][0]["error"])
        self.assertIn("[REDACTED]", retrying["errors"][0]["error"])  # the fake echoed the token
        self.assertEqual(d.stop(), 0)
        self.assert_no_secret(d, "wrong-token-value", self.jobs(d))

    def test_config_errors_name_the_key(self):
        for forwarder, key in [
            (base("splunk_hec", "http://localhost:1"), "forwarders[0].token"),
            (base("splunk_hec", "http://localhost:1", token="t", ack_timeout="1m"), "forwarders[0].ack_timeout"),
            (base("splunk_hec", "http://localhost:1/?x=1", token="t"), "forwarders[0].url"),
            (base("splunk_hec", "http://localhost:1", token="t", format="json"), "forwarders[0].format"),
        ]:
            result = self.check_config(forwarder)
            self.assertEqual(result.returncode, 78, result)
            self.assertIn(key, result.stdout + result.stderr)


class ElasticsearchTest(SiemTestCase):
    def test_bulk_create_by_id_into_dated_indexes_sync_and_async(self):
        es = self.fake(Elasticsearch, api_key=ES_API_KEY)
        d = self.daemon([
            {**base("elasticsearch", es.url(), api_key=ES_API_KEY, gzip=True, batch_max_events=10,
                    dispatch="async"), "id": "es-async", "index": "audit-%Y.%m.%d"},
            {**base("elasticsearch", es.url(), api_key=ES_API_KEY, dispatch="sync", index="sync-%Y.%m"),
             "id": "es-sync"},
        ], store={"completed_retention": "1h"})
        sent = [event("user.login", occurred_at=f"2026-11-{28 + i % 2}T23:59:59.5Z", metadata={"n": i})
                for i in range(20)]
        replies = d.send(sent)
        for reply in replies:
            self.assertEqual(reply["results"]["es-sync"], {"status": "ok"})
        ids = sorted(r["id"] for r in replies)
        wait_until(lambda: len(self.jobs(d, "completed", "es-async")) == 20, message="20 completed jobs")
        dated = {doc_id: index for index, doc_id in es.docs if index.startswith("audit-")}
        self.assertEqual(sorted(dated), ids)
        for reply, sent_event in zip(replies, sent):
            self.assertEqual(dated[reply["id"]], "audit-" + sent_event["occurred_at"][:10].replace("-", "."))
        self.assertEqual(sorted(doc_id for index, doc_id in es.docs if index == "sync-2026.11"), ids)
        self.assertTrue(all(count == 2 for count in es.attempts.values()))  # one create per forwarder, no retry
        requests = es.requests("/_bulk")
        self.assertTrue(any(r["headers"].get("content-encoding") == "gzip" for r in requests))
        for r in requests:
            self.assertEqual(r["headers"]["authorization"], f"ApiKey {ES_API_KEY}")
            self.assertEqual(r["headers"]["content-type"], "application/x-ndjson")
        self.assertEqual(d.stop(), 0)
        self.assert_no_secret(d, ES_API_KEY, self.jobs(d))

    def test_partial_bulk_failure_retries_only_the_failed_items(self):
        es = self.fake(Elasticsearch, api_key=ES_API_KEY)
        es.throttle = 1  # the first item of the first bulk: 429
        gate_events = [event("user.login", metadata={"n": i}) for i in range(4)]
        gate_events[2]["metadata"]["not_mappable"] = "x"  # 400 mapper_parsing_exception for this one only
        d = self.daemon([base("elasticsearch", es.url(), api_key=ES_API_KEY, batch_max_events=10,
                              batch_timeout="2s", dispatch="async")],
                        store={"completed_retention": "1h"})
        replies = d.send(gate_events)
        ids = [r["id"] for r in replies]
        wait_until(lambda: len(self.jobs(d, "completed")) == 3, timeout=30, message="three completed")
        [cancelled] = wait_until(lambda: self.jobs(d, "cancelled"), message="the unmappable event cancelled")
        self.assertEqual(cancelled["event_id"], ids[2])
        self.assertIn("mapper_parsing_exception", cancelled["errors"][0]["error"])
        self.assertEqual(sorted(doc_id for _, doc_id in es.docs), sorted(ids[:2] + ids[3:]))
        throttled = [doc_id for doc_id, n in es.attempts.items() if n == 2]
        self.assertEqual(len(throttled), 1, es.attempts)  # only the 429 item was sent again
        self.assertEqual(es.attempts[ids[2]], 1)  # the permanent one was not retried
        [retried_job] = [j for j in self.jobs(d, "completed") if j["event_id"] == throttled[0]]
        self.assertIn("bulk item HTTP 429", retried_job["errors"][0]["error"])

    def test_timeout_and_lost_answer_the_document_stays_single(self):
        es = self.fake(Elasticsearch, basic=("elastic", "es-passw0rd"), hold=1)
        d = self.daemon([base("elasticsearch", es.url(), basic_user="elastic", basic_password="es-passw0rd",
                              timeout="1s", dispatch="async")], store={"completed_retention": "1h"})
        [first] = d.send([event("user.login")])
        self.assertTrue(es.http.holding.wait(10))  # the first bulk is held past the forwarder's 1 s timeout
        [job] = wait_until(lambda: self.jobs(d, "completed"), timeout=30, message="completed by the retry")
        self.assertIn("timeout", job["errors"][0]["error"])
        es.http.release.set()  # the held bulk arrives late: its create meets the stored document (409)
        wait_until(lambda: es.attempts.get(first["id"]) == 2, message="the late bulk")
        self.assertEqual([doc_id for _, doc_id in es.docs], [first["id"]])

        with es.lock:
            es.whole_503 = 1  # the next bulk is executed, then its answer is lost
        [second] = d.send([event("user.logout")])
        wait_until(lambda: len(self.jobs(d, "completed")) == 2, timeout=30, message="the second completed")
        self.assertEqual(sorted(doc_id for _, doc_id in es.docs), sorted([first["id"], second["id"]]))
        [job2] = [j for j in self.jobs(d, "completed") if j["event_id"] == second["id"]]
        self.assertIn("HTTP 503", job2["errors"][0]["error"])  # the lost answer; the retry's 409 = delivered
        self.assertEqual(job2["attempt"], 2)
        self.assertEqual(es.attempts[second["id"]], 2)
        self.assertEqual(d.stop(), 0)
        self.assert_no_secret(d, "es-passw0rd", self.jobs(d))
        self.assert_no_secret(d, base64.b64encode(b"elastic:es-passw0rd").decode(), self.jobs(d))

    def test_data_stream_pipeline_and_whole_request_errors(self):
        es = self.fake(Elasticsearch, api_key=ES_API_KEY)
        d = self.daemon([
            {**base("elasticsearch", es.url(), api_key=ES_API_KEY, data_stream="logs-audit-default",
                    pipeline="add geo", dispatch="sync"), "id": "stream"},
            {**base("elasticsearch", es.url(), api_key="wrong-api-key", dispatch="async"), "id": "denied"},
        ])
        [reply] = d.send([event("user.login", occurred_at="2026-11-29T12:00:00Z")])
        self.assertEqual(reply["results"]["stream"], {"status": "ok"})
        [(index, doc_id)] = [key for key in es.docs if key[0] == "logs-audit-default"]
        self.assertEqual(doc_id, reply["id"])
        self.assertEqual(es.docs[(index, doc_id)]["@timestamp"], "2026-11-29T12:00:00Z")
        self.assertIn("/_bulk?pipeline=add%20geo", [r["path"] for r in es.requests()])
        [denied] = wait_until(lambda: self.jobs(d, "cancelled", "denied"), message="401 is permanent")
        self.assertIn("HTTP 401", denied["errors"][0]["error"])
        self.assertNotIn("wrong-api-key", json.dumps(denied))
        self.assertEqual(d.stop(), 0)
        self.assertNotIn("wrong-api-key", d.log())

    def test_config_errors_name_the_key(self):
        for forwarder, key in [
            (base("elasticsearch", "http://localhost:1", index="Audit-%Y"), "forwarders[0].index"),
            (base("elasticsearch", "http://localhost:1", index="audit-%j"), "forwarders[0].index"),
            (base("elasticsearch", "http://localhost:1", index="a", data_stream="b"), "forwarders[0].data_stream"),
            (base("elasticsearch", "http://localhost:1", api_key="k", basic_user="u"), "forwarders[0].api_key"),
        ]:
            result = self.check_config(forwarder)
            self.assertEqual(result.returncode, 78, result)
            self.assertIn(key, result.stdout + result.stderr)


class LokiTest(SiemTestCase):
    def test_push_sync_and_async_labels_tenant_auth_gzip(self):
        loki = self.fake(Loki, bearer=LOKI_BEARER, tenant="team-a")
        d = self.daemon([
            {**base("loki", loki.url(), bearer_token=LOKI_BEARER, tenant_id="team-a", gzip=True, batch_max_events=10,
                    labels={"job": "audit", "env": "prod"}, dispatch="async"), "id": "loki-async"},
            {**base("loki", loki.url(), bearer_token=LOKI_BEARER, tenant_id="team-a", dispatch="sync"),
             "id": "loki-sync"},
        ], store={"completed_retention": "1h"})
        replies = d.send([event("user.login", occurred_at=f"2026-11-29T10:00:{i:02d}.000000123Z") for i in range(12)])
        for reply in replies:
            self.assertEqual(reply["results"]["loki-sync"], {"status": "ok"})
        ids = sorted(r["id"] for r in replies)
        wait_until(lambda: len(self.jobs(d, "completed", "loki-async")) == 12, message="12 completed")
        by_job = {}
        for labels, ns, line in loki.entries:
            by_job.setdefault(labels["job"], []).append((labels, ns, json.loads(line)))
        self.assertEqual(sorted(by_job), ["audit", "auditfwd"])
        for job, entries in by_job.items():
            self.assertEqual(sorted(e["id"] for _, _, e in entries), ids, job)
            for labels, ns, stored in entries:
                self.assertEqual(labels["host"], stored["host"]["hostname"])
                self.assertNotIn("id", labels)
                occurred = stored["occurred_at"]
                whole = calendar.timegm(time.strptime(occurred[:19], "%Y-%m-%dT%H:%M:%S"))
                self.assertEqual(ns, str(whole * 10**9 + 123))
        self.assertEqual(set(by_job["audit"][0][0]), {"job", "env", "host"})
        self.assertEqual(set(by_job["auditfwd"][0][0]), {"job", "host"})
        requests = loki.requests("/loki/api/v1/push")
        self.assertTrue(any(r["headers"].get("content-encoding") == "gzip" for r in requests))
        self.assertTrue(all(r["headers"]["x-scope-orgid"] == "team-a" for r in requests))
        self.assertEqual(d.stop(), 0)
        self.assert_no_secret(d, LOKI_BEARER, self.jobs(d))

    def test_429_retried_after_retry_after_and_400_cancelled(self):
        loki = self.fake(Loki)
        loki.limit, loki.retry_after = 1, "2"
        d = self.daemon([base("loki", loki.url(), basic_user="loki", basic_password="loki-pw-s3cret",
                              dispatch="async")], store={"completed_retention": "1h"})
        [reply] = d.send([event()])
        [job] = wait_until(lambda: self.jobs(d, "completed"), timeout=30, message="completed after 429")
        first, second = loki.requests()[:2]
        self.assertGreaterEqual(second["at"] - first["at"], 1.8)  # Retry-After, not the 200 ms backoff
        self.assertIn("HTTP 429", job["errors"][0]["error"])
        self.assertEqual([e["id"] for e in loki.events()], [reply["id"]])
        self.assertEqual(first["headers"]["authorization"],
                         "Basic " + base64.b64encode(b"loki:loki-pw-s3cret").decode())

        d.send([event(metadata={"note": "loki-refuses-this"})])
        [cancelled] = wait_until(lambda: self.jobs(d, "cancelled"), message="400 cancels")
        self.assertIn("HTTP 400", cancelled["errors"][0]["error"])
        self.assertEqual(d.stop(), 0)
        self.assert_no_secret(d, "loki-pw-s3cret", self.jobs(d))

    def test_a_resent_push_is_stored_once(self):
        # A push that reached Loki but whose answer was lost: the same stream, timestamp and line
        # come again, and Loki keeps one entry.
        loki = self.fake(Loki, hold=1)
        d = self.daemon([base("loki", loki.url(), timeout="1s", dispatch="async")], store={"completed_retention": "1h"})
        [reply] = d.send([event()])
        self.assertTrue(loki.http.holding.wait(10))
        [job] = wait_until(lambda: self.jobs(d, "completed"), timeout=30, message="completed by the retry")
        self.assertIn("timeout", job["errors"][0]["error"])
        loki.http.release.set()
        wait_until(lambda: len(loki.requests()) >= 2, message="both pushes answered")
        self.assertEqual([e["id"] for e in loki.events()], [reply["id"]])

    def test_config_refuses_high_cardinality_labels(self):
        for forwarder, key in [
            (base("loki", "http://localhost:1", labels={"id": "x"}), "forwarders[0].labels.id"),
            (base("loki", "http://localhost:1", labels={"host": "x"}), "forwarders[0].labels.host"),
            (base("loki", "http://localhost:1", labels={"bad-name": "x"}), "forwarders[0].labels.bad-name"),
            (base("loki", "http://localhost:1", bearer_token="t", basic_user="u"), "forwarders[0].bearer_token"),
        ]:
            result = self.check_config(forwarder)
            self.assertEqual(result.returncode, 78, result)
            self.assertIn(key, result.stdout + result.stderr)
            if key.endswith(".id"):
                self.assertIn("high-cardinality", result.stdout + result.stderr)


class ExampleConfigTest(SiemTestCase):
    def test_the_example_config_passes_check_config(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "config", "examples", "siem-forwarders.toml")
        env = dict(os.environ, SPLUNK_HEC_TOKEN="t", ES_API_KEY="k", LOKI_TOKEN="l")
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", example], capture_output=True, text=True,
                                timeout=60, env=env, cwd=tempfile.gettempdir())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


class CrashTest(SiemTestCase):
    """The daemon killed (SIGKILL) after the destination stored a batch and before its answer: the rescued
    jobs are delivered again at the next start. Nothing is lost anywhere; Elasticsearch keeps one copy (the
    create by id meets the stored document: 409, delivered), Loki one (an identical entry is dropped);
    Splunk HEC has no way to refuse a second copy, and indexes the batch again (documented)."""

    def crash_after_store(self, fake, forwarder):
        d = self.daemon([forwarder], store={"completed_retention": "1h"})
        [warm] = d.send([event()])  # connected, batch path warm
        wait_until(lambda: self.jobs(d, "completed"), timeout=30, message="the first event delivered")
        with fake.lock:
            fake.stall_answers = 1
        ids = [warm["id"]] + [r["id"] for r in d.send([event(metadata={"n": i}) for i in range(20)])]
        self.assertTrue(fake.stalled.wait(30), "no batch reached the destination")
        d.kill()
        fake.unstall.set()
        d.start()
        wait_until(lambda: len(self.jobs(d, "completed")) == 21, timeout=60, message="every rescued job completed")
        self.assertEqual(self.jobs(d), self.jobs(d, "completed"))
        self.assertEqual(d.stop(), 0)
        return ids

    def test_elasticsearch_keeps_one_copy(self):
        es = self.fake(Elasticsearch)
        ids = self.crash_after_store(es, base("elasticsearch", es.url(), batch_max_events=50, dispatch="async"))
        stored = [doc_id for _, doc_id in es.docs]
        self.assertEqual(sorted(stored), sorted(ids))  # every event, each once
        self.assertGreater(max(es.attempts.values()), 1, "no event was sent twice: the crash proved nothing")

    def test_loki_keeps_one_copy(self):
        loki = self.fake(Loki)
        ids = self.crash_after_store(loki, base("loki", loki.url(), batch_max_events=50, dispatch="async"))
        self.assertEqual(sorted(e["id"] for e in loki.events()), sorted(ids))
        pushed = [json.loads(line)["id"] for r in loki.requests("/loki/api/v1/push")
                  for stream in json.loads(r["body"])["streams"] for _, line in stream["values"]]
        self.assertGreater(len(pushed), len(ids), "no event was sent twice: the crash proved nothing")

    def test_splunk_hec_loses_nothing(self):
        hec = self.fake(SplunkHec, HEC_TOKEN)
        ids = self.crash_after_store(hec, base("splunk_hec", hec.url(), token=HEC_TOKEN, batch_max_events=50,
                                               dispatch="async"))
        indexed = [e["id"] for e in hec.events()]
        self.assertEqual(set(indexed), set(ids))

