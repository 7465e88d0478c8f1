"""The kafka forwarder against librdkafka's mock cluster (real Kafka protocol on loopback): every
acknowledged event read back exactly once, through sync, async and auto, across a broker failure."""
import collections
import json
import os
import subprocess
import time
import unittest

from harness import AUDITFWD_BIN, DaemonTestCase, event, requires, wait_until
from kafka_cluster import MOCK_CLUSTER_BIN, MockKafkaCluster

FAST_RETRY = {"backoff": "fixed", "backoff_min": "200ms"}
ORG = "0190b5f0-0000-7000-8000-00000000a11c"


@requires(os.access(MOCK_CLUSTER_BIN, os.X_OK), f"the mock cluster program {MOCK_CLUSTER_BIN} (built with the tests)")
class KafkaForwarderTest(DaemonTestCase):
    def cluster(self, **kwargs):
        cluster = MockKafkaCluster(**kwargs)
        self.addCleanup(cluster.stop)
        return cluster

    def forwarder(self, cluster, **extra):
        properties = {"bootstrap.servers": cluster.bootstrap, **extra.pop("properties", {})}
        return {"id": "stream", "type": "kafka", "dispatch": "async", "topic": cluster.topic,
                "properties": properties, **FAST_RETRY, **extra}

    def job_states(self, d):
        return collections.Counter(job["state"] for job in d.job_list())

    def assert_exactly_once(self, cluster, ids):
        messages = cluster.messages()
        counts = collections.Counter(m["headers"].get("id") for m in messages)
        self.assertEqual(set(counts), set(ids), "every acknowledged event in the topic, and no other")
        self.assertEqual([i for i, n in counts.items() if n > 1], [], "an event in the topic twice")
        return messages

    def assert_all_stored(self, cluster, ids):
        """Every id in `ids` is in the topic; returns those found twice or more (other messages may be there)."""
        counts = collections.Counter(m["headers"].get("id") for m in cluster.messages())
        self.assertEqual([i for i in ids if counts[i] == 0], [], "an acknowledged event missing from the topic")
        return [i for i in ids if counts[i] > 1]

    def test_async_batches_arrive_exactly_once_with_key_headers_and_value(self):
        cluster = self.cluster()
        d = self.daemon([self.forwarder(cluster)], store={"completed_retention": "1h"})
        replies = d.send([event("user.login", metadata={"n": i}) for i in range(300)])
        self.assertTrue(all(r["results"]["stream"]["status"] == "enqueued" for r in replies), replies[0])
        ids = [r["id"] for r in replies]
        wait_until(lambda: self.job_states(d) == {"completed": 300}, timeout=60, message="every job completed")
        messages = self.assert_exactly_once(cluster, ids)
        for m in messages:
            self.assertEqual(m["key"], m["headers"]["id"])
            self.assertEqual(m["headers"]["action"], "user.login")
            self.assertEqual(m["value"]["id"], m["headers"]["id"])
            self.assertEqual(m["value"]["action"], "user.login")
        self.assertEqual(sorted(m["value"]["metadata"]["n"] for m in messages), list(range(300)))
        self.assertEqual(len({m["partition"] for m in messages}), 3, "keys spread over the partitions")
        self.assertEqual(d.stop(), 0)

    def test_sync_and_auto_reply_ok_only_once_acknowledged(self):
        cluster = self.cluster()
        d = self.daemon([{**self.forwarder(cluster), "id": "sync", "dispatch": "sync"},
                         {**self.forwarder(cluster), "id": "auto", "dispatch": "auto"}],
                        store={"enabled": False})
        replies = d.send([event() for _ in range(20)])
        for r in replies:
            self.assertEqual(r["results"], {"sync": {"status": "ok"}, "auto": {"status": "ok"}})
        messages = cluster.messages()
        counts = collections.Counter(m["headers"]["id"] for m in messages)
        self.assertEqual(counts, {r["id"]: 2 for r in replies})  # once per forwarder

    def test_sync_delivery_to_an_unreachable_cluster_is_a_timeout_error(self):
        cluster = self.cluster(brokers=1)
        cluster.broker_down(1)
        d = self.daemon([{**self.forwarder(cluster), "dispatch": "sync", "timeout": "1s"}])
        started = time.monotonic()
        [reply] = d.send([event()])
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(reply["results"]["stream"]["status"], "error", reply)
        self.assertIn("timeout", reply["results"]["stream"]["reason"])
        # The message stays with the producer: once the broker is back it is stored once.
        cluster.broker_up(1)
        wait_until(lambda: [m["headers"]["id"] for m in cluster.messages()] == [reply["id"]], timeout=30,
                   message="the timed-out message stored once the broker is back")

    def test_a_broker_failure_mid_stream_loses_and_duplicates_nothing(self):
        cluster = self.cluster(partitions=3, brokers=3)
        # A timeout shorter than the outage: jobs are retried while their messages wait in the producer.
        d = self.daemon([self.forwarder(cluster, timeout="1s")], store={"completed_retention": "1h"})
        ids = [r["id"] for r in d.send([event(metadata={"phase": 1, "n": i}) for i in range(100)])]
        wait_until(lambda: self.job_states(d)["completed"] >= 50, timeout=60, message="the first deliveries")
        cluster.broker_down(1)
        cluster.broker_down(2)
        ids += [r["id"] for r in d.send([event(metadata={"phase": 2, "n": i}) for i in range(100)])]
        wait_until(lambda: any("timeout" in json.dumps(job.get("errors")) for job in d.job_list()), timeout=30,
                   message="a delivery timed out while the brokers are down")
        time.sleep(2)  # retries of the same events while their messages are still queued
        ids += [r["id"] for r in d.send([event(metadata={"phase": 3, "n": i}) for i in range(50)])]
        cluster.broker_up(1)
        cluster.broker_up(2)
        wait_until(lambda: self.job_states(d) == {"completed": 250}, timeout=120, message="every job completed")
        time.sleep(1)  # a duplicate, if a retry had produced one, would be written by now
        self.assert_exactly_once(cluster, ids)
        self.assertEqual(d.stop(), 0)

    def test_a_report_after_the_timeout_completes_the_retry_without_a_second_copy(self):
        # Every answer comes after the forwarder's timeout and before the job's retry: the retry must
        # find the message stored, not produce it again (the mock cluster, unlike a real broker, would
        # keep both copies of a repeated message, so a second copy would show here).
        cluster = self.cluster(partitions=1, brokers=1)
        d = self.daemon([self.forwarder(cluster, timeout="1s", backoff="fixed", backoff_min="3s")],
                        store={"completed_retention": "1h"})
        d.send([event()])  # the producer connects while the cluster answers at once
        wait_until(lambda: self.job_states(d) == {"completed": 1}, timeout=30, message="the first event")
        cluster.delay_answers(1, 1500)
        ids = [r["id"] for r in d.send([event() for _ in range(20)])]
        wait_until(lambda: self.job_states(d) == {"completed": 21}, timeout=60, message="every job completed")
        retried = [job for job in d.job_list() if job["attempt"] > 1]
        self.assertTrue(retried, "no delivery timed out: the test proves nothing")
        self.assertTrue(all("timeout" in json.dumps(job["errors"]) for job in retried), retried[0])
        cluster.delay_answers(1, 0)
        self.assertEqual(self.assert_all_stored(cluster, ids), [], "an event in the topic twice")

    def test_a_daemon_killed_with_messages_in_flight_loses_nothing(self):
        # Killed while the cluster holds its answers: the jobs were not completed, so the next start
        # delivers them again. Kafka cannot refuse a second copy from a new producer: each event is in
        # the topic at least once (and, where the first copy was stored, twice: consumers drop repeats
        # by the `id` header).
        cluster = self.cluster(partitions=1, brokers=1)
        d = self.daemon([self.forwarder(cluster, timeout="30s")], store={"completed_retention": "1h"})
        [warm] = d.send([event()])
        wait_until(lambda: self.job_states(d) == {"completed": 1}, timeout=30, message="the first event")
        cluster.delay_answers(1, 3000)
        ids = [warm["id"]] + [r["id"] for r in d.send([event() for _ in range(20)])]
        time.sleep(1)  # produced and sent: the cluster has them, its answers are on their way
        d.kill()
        self.assertEqual(self.job_states(d)["completed"], 1, "the jobs completed before the kill: nothing proved")
        cluster.delay_answers(1, 0)
        d.start()
        wait_until(lambda: self.job_states(d) == {"completed": 21}, timeout=60, message="every rescued job completed")
        self.assert_all_stored(cluster, ids)
        self.assertEqual(d.stop(), 0)

    def test_a_daemon_stopped_with_messages_waiting_for_a_down_broker_delivers_them_at_the_next_start(self):
        cluster = self.cluster(partitions=1, brokers=1)
        d = self.daemon([self.forwarder(cluster, timeout="30s")], store={"completed_retention": "1h"},
                        workers={"shutdown_grace": "2s"})
        [warm] = d.send([event()])
        wait_until(lambda: self.job_states(d) == {"completed": 1}, timeout=30, message="the first event")
        cluster.broker_down(1)
        ids = [warm["id"]] + [r["id"] for r in d.send([event() for _ in range(10)])]
        time.sleep(1)  # produced: the messages wait in the producer for the broker
        started = time.monotonic()
        self.assertEqual(d.stop(), 0)
        stopping = time.monotonic() - started
        # The grace (2 s) for the deliveries waiting on their reports, then the producer's 2 s to deliver
        # what it holds and its purge: bounded, whatever the broker does.
        self.assertLess(stopping, 8, "the stop waited for reports that never come")
        cluster.broker_up(1)
        d.start()
        wait_until(lambda: self.job_states(d) == {"completed": 11}, timeout=60, message="delivered after the restart")
        self.assert_all_stored(cluster, ids)
        print(f"\nstopped in {stopping:.2f} s with 10 messages waiting for a down broker")

    def test_retriable_broker_errors_are_retried_without_duplicates(self):
        cluster = self.cluster(partitions=1, brokers=1)
        cluster.fail_produce_requests(5, 19)  # NOT_ENOUGH_REPLICAS: the producer retries, idempotently
        d = self.daemon([self.forwarder(cluster)], store={"completed_retention": "1h"})
        ids = [r["id"] for r in d.send([event() for _ in range(30)])]
        wait_until(lambda: self.job_states(d) == {"completed": 30}, timeout=60, message="every job completed")
        self.assert_exactly_once(cluster, ids)

    def test_a_permanent_broker_error_cancels_the_job(self):
        cluster = self.cluster(partitions=1, brokers=1)
        cluster.fail_produce_requests(1, 10)  # MSG_SIZE_TOO_LARGE: no retry can fix it
        d = self.daemon([self.forwarder(cluster)])
        [reply] = d.send([event()])
        wait_until(lambda: self.job_states(d) == {"cancelled": 1}, timeout=30, message="the job cancelled")
        [job] = d.job_list()
        self.assertIn("MSG_SIZE_TOO_LARGE", json.dumps(job["errors"]))
        [later] = d.send([event()])  # the next event goes through
        wait_until(lambda: [m["headers"]["id"] for m in cluster.messages()] == [later["id"]], timeout=30,
                   message="the next event stored")

    def test_the_key_may_be_another_top_level_field(self):
        cluster = self.cluster()
        d = self.daemon([self.forwarder(cluster, key="organization_id")], store={"completed_retention": "1h"})
        with_org = d.send([event(organization_id=ORG) for _ in range(5)])
        without = d.send([event()])
        wait_until(lambda: self.job_states(d) == {"completed": 6}, timeout=60, message="every job completed")
        keys = {m["headers"]["id"]: m["key"] for m in cluster.messages()}
        self.assertEqual({keys[r["id"]] for r in with_org}, {ORG})
        self.assertEqual(len({m["partition"] for m in cluster.messages() if m["key"] == ORG}), 1)
        self.assertIsNone(keys[without[0]["id"]])

    def test_secret_properties_never_reach_the_log_or_the_jobs(self):
        cluster = self.cluster(brokers=1)
        secret = "kafka-pw-7f3c1d"
        d = self.daemon([self.forwarder(cluster, timeout="1s", properties={
            "security.protocol": "sasl_plaintext", "sasl.mechanisms": "PLAIN", "sasl.username": "relay",
            "sasl.password": secret, "debug": "conf,security,broker"})])
        d.send([event()])
        wait_until(lambda: any(job.get("errors") for job in d.job_list()), timeout=30, message="a failed attempt")
        d.stop()
        self.assertIn("librdkafka", d.log())  # its log lines do reach the daemon's log
        self.assertNotIn(secret, d.log())
        self.assertNotIn(secret, json.dumps(d.job_list()))


class KafkaConfigTest(unittest.TestCase):
    def check(self, text):
        import tempfile
        directory = tempfile.mkdtemp(prefix="auditfwd-kafka-config-")
        path = os.path.join(directory, "auditfwd.toml")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([AUDITFWD_BIN, "check-config", "--config", path], capture_output=True, text=True,
                              timeout=60), path

    def test_unknown_and_invalid_properties_are_refused_naming_each(self):
        result, path = self.check(f"""[store]
path = "/tmp/unused.db"

[[forwarders]]
id = "stream"
type = "kafka"
topic = "audit"
key = "metadata"

[forwarders.properties]
"bootstrap.servers" = "127.0.0.1:9092"
"no.such.property" = "1"
acks = "several"
sasl.password = "hunter2hunter2"
""")
        self.assertEqual(result.returncode, 78, result.stderr)
        lines = result.stderr.splitlines()
        self.assertIn(f'{path}:8:1: forwarders[0].key: must be a top-level string field of the event ('
                      'id, action, outcome, occurred_at, actor_id, actor_type, target_id, target_type, '
                      'organization_id, effective_user_id, ip_address, user_agent)', lines)
        self.assertIn(f'{path}:12:1: forwarders[0].properties."no.such.property": '
                      'No such configuration property: "no.such.property"', lines)
        self.assertTrue(any(line.startswith(f'{path}:13:1: forwarders[0].properties."acks": Invalid value')
                            for line in lines), lines)
        self.assertIn("3 problem(s)", lines[-1])
        self.assertNotIn("hunter2hunter2", result.stderr)

    def test_bootstrap_servers_is_required(self):
        result, path = self.check("""[[forwarders]]
id = "stream"
type = "kafka"
topic = "audit"
properties = { acks = "all" }
""")
        self.assertEqual(result.returncode, 78)
        self.assertIn('forwarders[0].properties: "bootstrap.servers" is required', result.stderr)

    def test_a_valid_entry_passes_without_contacting_a_broker(self):
        result, _ = self.check("""[[forwarders]]
id = "stream"
type = "kafka"
topic = "audit"
properties = { "bootstrap.servers" = "192.0.2.1:9092", "compression.type" = "zstd", "linger.ms" = 10 }
""")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_the_example_config_is_valid(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "config", "examples", "kafka.toml")
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", example], capture_output=True, text=True,
                                timeout=60, env=dict(os.environ, KAFKA_PASSWORD="example"))
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
