"""librdkafka's mock cluster (tests/kafka/kafka_mock_cluster.cpp) as a test fixture: the real Kafka
protocol on loopback, brokers that go down and up on demand, and a consumer that reads the topic back."""
import json
import os
import subprocess

BUILD_DIR = os.environ.get("AUDITFWD_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "dev")
MOCK_CLUSTER_BIN = os.path.join(BUILD_DIR, "tests", "auditfwd_kafka_mock_cluster")


class MockKafkaCluster:
    def __init__(self, topic="audit", partitions=3, brokers=3):
        self.topic = topic
        self.proc = subprocess.Popen([MOCK_CLUSTER_BIN, topic, str(partitions), str(brokers)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline().split()
        if len(first) != 2 or first[0] != "bootstrap":
            raise AssertionError(f"the mock cluster did not start: {first!r}")
        self.bootstrap = first[1]

    def _command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def _ok(self, line):
        self._command(line)
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise AssertionError(f"mock cluster: {line}: {answer}")

    def broker_down(self, broker):
        self._ok(f"down {broker}")

    def broker_up(self, broker):
        self._ok(f"up {broker}")

    def delay_answers(self, broker, milliseconds):
        """Broker `broker` answers every request `milliseconds` late."""
        self._ok(f"rtt {broker} {milliseconds}")

    def fail_produce_requests(self, count, kafka_error_code):
        """The next `count` Produce requests are answered with the Kafka error `kafka_error_code`."""
        self._ok(f"produce-errors {count} {kafka_error_code}")

    def messages(self):
        """Every message of the topic, from the start: dicts with partition, offset, key, headers, value."""
        self._command("consume")
        messages = []
        for line in self.proc.stdout:
            if line.startswith("end "):
                if "incomplete" in line:
                    raise AssertionError(f"mock cluster: the topic could not be read to its end ({line.strip()})")
                return messages
            messages.append(json.loads(line))
        raise AssertionError("mock cluster: exited while consuming")

    def stop(self):
        if self.proc.poll() is None:
            try:
                self._command("quit")
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
