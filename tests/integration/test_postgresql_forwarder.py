"""The postgresql forwarder against a real PostgreSQL 15 server started by the test: every acknowledged
event stored exactly once, through sync, async and auto, across a server restart and a daemon crash."""
import collections
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import pg_server
from harness import AUDITFWD_BIN, DaemonTestCase, event, requires, wait_until

FAST_RETRY = {"backoff": "fixed", "backoff_min": "200ms"}
ACTOR = "0190b5f0-0000-7000-8000-0000000000ac"


@requires(pg_server.available(), f"PostgreSQL 15 server binaries in {pg_server.PG_BIN} (postgresql-15)")
class PostgresqlForwarderTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.pg = pg_server.PostgresServer()
        self.addCleanup(self.pg.destroy)

    def forwarder(self, **extra):
        return {"id": "db", "type": "postgresql", "dispatch": "async", "conninfo": self.pg.conninfo(),
                **FAST_RETRY, **extra}

    def job_states(self, d):
        return collections.Counter(job["state"] for job in d.job_list())

    def stored(self, table="audit_events"):
        """Ids in `table` with their counts; none while the forwarder has not created it yet."""
        if self.pg.psql(f"SELECT to_regclass('{table}') IS NOT NULL") != [["t"]]:
            return collections.Counter()
        return collections.Counter(row[0] for row in self.pg.psql(f"SELECT id FROM {table}"))

    def assert_exactly_once(self, ids, table="audit_events"):
        counts = self.stored(table)
        self.assertEqual(set(counts), set(ids), "every acknowledged event stored, and no other")
        self.assertEqual([i for i, n in counts.items() if n > 1], [])

    def test_async_batches_fill_the_documented_columns(self):
        d = self.daemon([self.forwarder()], store={"completed_retention": "1h"})
        replies = d.send([event("user.login", actor_id=ACTOR, ip_address="192.0.2.7", metadata={"n": i})
                          for i in range(300)])
        ids = [r["id"] for r in replies]
        wait_until(lambda: self.job_states(d) == {"completed": 300}, timeout=60, message="every job completed")
        self.assert_exactly_once(ids)
        [row] = self.pg.psql(f"SELECT action, outcome, actor_id, actor_type, host(ip_address), metadata->>'n', "
                             f"source->>'uid', host ? 'hostname', received_at >= occurred_at "
                             f"FROM audit_events WHERE id = '{ids[7]}'")
        self.assertEqual(row, ["user.login", "success", ACTOR, "user", "192.0.2.7", "7", str(os.geteuid()), "t", "t"])
        columns = self.pg.psql("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_name = 'audit_events' ORDER BY ordinal_position")
        self.assertEqual(columns[0], ["id", "uuid"])
        self.assertIn(["metadata", "jsonb"], columns)
        self.assertIn(["received_at", "timestamp with time zone"], columns)
        self.assertEqual(d.stop(), 0)

    def test_sync_and_auto_reply_ok_once_the_row_is_committed(self):
        d = self.daemon([self.forwarder(dispatch="sync", table="sync_events"),
                         {**self.forwarder(dispatch="auto", table="auto_events"), "id": "db2"}],
                        store={"enabled": False})
        replies = d.send([event() for _ in range(20)])
        for r in replies:
            self.assertEqual(r["results"], {"db": {"status": "ok"}, "db2": {"status": "ok"}})
        ids = [r["id"] for r in replies]
        self.assert_exactly_once(ids, "sync_events")  # no wait: the reply came after the commit
        self.assert_exactly_once(ids, "auto_events")

    def test_a_server_restart_mid_stream_stores_every_event_once(self):
        d = self.daemon([self.forwarder(timeout="2s"),
                         {**self.forwarder(dispatch="sync", timeout="2s", table="sync_events"), "id": "db2"}],
                        store={"completed_retention": "1h"})
        ids = [r["id"] for r in d.send([event(metadata={"phase": 1}) for _ in range(100)])]
        wait_until(lambda: len(self.stored()) >= 50, timeout=60, message="the first rows")
        self.pg.stop()
        during = d.send([event(metadata={"phase": 2}) for _ in range(100)])
        self.assertTrue(all(r["results"]["db2"]["status"] == "error" for r in during), during[0])
        self.assertTrue(all(r["results"]["db"]["status"] == "enqueued" for r in during), during[0])
        ids += [r["id"] for r in during]
        wait_until(lambda: any(job.get("errors") for job in d.job_list()), timeout=30,
                   message="a failed delivery while the server is down")
        self.pg.start()
        ids += [r["id"] for r in d.send([event(metadata={"phase": 3}) for _ in range(50)])]
        wait_until(lambda: self.job_states(d) == {"completed": 250}, timeout=120, message="every job completed")
        self.assert_exactly_once(ids)
        self.assertEqual(d.stop(), 0)

    def test_a_crash_between_insert_and_completion_stores_no_second_copy(self):
        d = self.daemon([self.forwarder(timeout="60s")], store={"completed_retention": "1h"})
        ids = [r["id"] for r in d.send([event()])]  # connected, table created, insert prepared
        wait_until(lambda: len(self.stored()) == 1, timeout=30, message="the first row")
        blocker = self.pg.session()
        blocker.stdin.write("BEGIN; LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE;\n")
        blocker.stdin.flush()
        wait_until(lambda: self.pg.psql("SELECT count(*) FROM pg_locks WHERE relation = 'audit_events'::regclass "
                                        "AND granted")[0] == ["1"], message="the table locked")
        ids += [r["id"] for r in d.send([event() for _ in range(20)])]
        # The daemon's insert is at the server, waiting for the lock: the rows are sent, not yet stored.
        wait_until(lambda: int(self.pg.psql("SELECT count(*) FROM pg_locks WHERE relation = "
                                            "'audit_events'::regclass AND NOT granted")[0][0]) >= 1,
                   timeout=30, message="the insert waiting at the server")
        d.kill()  # SIGKILL: the jobs stay executing in the store
        blocker.stdin.write("COMMIT;\n")
        blocker.stdin.close()
        blocker.wait(timeout=30)
        # The orphaned insert still commits: the rows are there although no job completed.
        wait_until(lambda: len(self.stored()) > 1, timeout=30, message="the orphaned insert committed")
        d.start()  # the rescued jobs are delivered again
        wait_until(lambda: self.job_states(d) == {"completed": 21}, timeout=60, message="every job completed")
        self.assert_exactly_once(ids)

    def test_a_row_the_server_refuses_is_cancelled_alone(self):
        d = self.daemon([self.forwarder()], store={"completed_retention": "1h"})
        replies = d.send([event(metadata={"ok": 1}), event(metadata={"bad": "nul \u0000 inside"}),
                          event(metadata={"ok": 2})])
        wait_until(lambda: self.job_states(d) == {"completed": 2, "cancelled": 1}, timeout=60,
                   message="two stored, the refused one cancelled")
        self.assert_exactly_once([replies[0]["id"], replies[2]["id"]])
        [cancelled] = d.job_list("--state", "cancelled")
        self.assertIn("SQLSTATE 22", json.dumps(cancelled["errors"]))

    def test_without_create_table_a_missing_table_is_retried_naming_it_until_it_exists(self):
        d = self.daemon([self.forwarder(table="missing_events", create_table=False)],
                        store={"completed_retention": "1h"})
        ids = [r["id"] for r in d.send([event()])]
        wait_until(lambda: any(job.get("errors") for job in d.job_list()), timeout=60, message="a failed attempt")
        [job] = d.job_list()
        self.assertIn(job["state"], ("available", "retryable", "scheduled", "executing"))
        self.assertIn("missing_events", json.dumps(job["errors"]))
        self.assertIn("42P01", json.dumps(job["errors"]))
        self.pg.psql("CREATE TABLE missing_events (id uuid PRIMARY KEY, occurred_at timestamptz NOT NULL, "
                     "action text NOT NULL, outcome text NOT NULL, actor_id uuid, actor_type text, target_id uuid, "
                     "target_type text, organization_id uuid, effective_user_id uuid, ip_address inet, "
                     "user_agent text, metadata jsonb, source jsonb, host jsonb, received_at timestamptz NOT NULL)")
        wait_until(lambda: self.job_states(d) == {"completed": 1}, timeout=60, message="stored once the table exists")
        self.assert_exactly_once(ids, "missing_events")

    def test_a_table_dropped_while_running_is_created_again(self):
        # Any failure but a refused row starts over on a new connection, which reruns CREATE TABLE.
        d = self.daemon([self.forwarder()], store={"completed_retention": "1h"})
        ids = [r["id"] for r in d.send([event()])]
        wait_until(lambda: self.job_states(d) == {"completed": 1}, timeout=30, message="the first row")
        self.pg.psql("DROP TABLE audit_events")
        ids += [r["id"] for r in d.send([event() for _ in range(5)])]
        wait_until(lambda: self.job_states(d) == {"completed": 6}, timeout=60, message="stored in the new table")
        self.assertEqual(set(self.stored()), set(ids[1:]))  # the first row went with the old table

    def test_unreachable_servers_do_not_hold_up_other_forwarders(self):
        # Each postgresql forwarder blocks on its own thread: servers that accept and never answer (each
        # connect waits out connect_timeout) must not take the blocking pool a file forwarder writes on.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        self.addCleanup(silent.close)
        port = silent.getsockname()[1]
        out = os.path.join(self.pg.dir, "out.log")
        dead = [{"id": f"dead{i}", "type": "postgresql", "dispatch": "async", "timeout": "20s",
                 "conninfo": f"host=127.0.0.1 port={port} dbname=x user=x connect_timeout=20", **FAST_RETRY}
                for i in range(3)]
        d = self.daemon(dead + [{"id": "file", "type": "file", "dispatch": "async", "path": out}],
                        store={"completed_retention": "1h"})
        d.send([event() for _ in range(3)])  # the dead forwarders' first deliveries are now connecting
        time.sleep(0.5)
        sent = [r["id"] for r in d.send([event() for _ in range(50)])]

        def written():
            with open(out) as f:
                return {json.loads(line)["id"] for line in f}
        wait_until(lambda: os.path.exists(out) and set(sent) <= written(), timeout=10,
                   message="the file forwarder's events written while the postgresql ones wait")

    def test_the_password_never_reaches_the_log_the_jobs_or_a_reply(self):
        wrong = "wrong-pw-93ab"
        d = self.daemon([self.forwarder(), {**self.forwarder(dispatch="sync", conninfo=self.pg.conninfo(wrong)),
                                            "id": "bad"}], store={"completed_retention": "1h"})
        [reply] = d.send([event()])
        self.assertEqual(reply["results"]["bad"]["status"], "error")
        self.assertIn("password authentication failed", reply["results"]["bad"]["reason"])
        wait_until(lambda: self.job_states(d) == {"completed": 1}, timeout=60, message="the good one stored")
        d.stop()
        for text in (d.log(), json.dumps(d.job_list()), json.dumps(reply)):
            self.assertNotIn(pg_server.PASSWORD, text)
            self.assertNotIn(wrong, text)


class OptionalLibrariesTest(DaemonTestCase):
    """libpq and librdkafka (with LDAP, Kerberos, GnuTLS, SASL behind them: about 4 MiB resident) are
    loaded only by a daemon that has a postgresql or kafka forwarder."""

    def mapped_libraries(self, d):
        with open(f"/proc/{d.proc.pid}/maps") as f:
            return {os.path.basename(line.split()[-1]) for line in f if ".so" in line}

    def test_a_daemon_without_those_forwarders_does_not_load_them(self):
        d = self.daemon([{"id": "out", "type": "stdout", "dispatch": "sync"}])
        d.send([event()])
        mapped = self.mapped_libraries(d)
        self.assertFalse([lib for lib in mapped if lib.startswith(("libpq.", "librdkafka.", "libldap", "libgnutls"))],
                         sorted(mapped))

    def test_a_postgresql_or_kafka_forwarder_loads_its_library(self):
        d = self.daemon([{"id": "db", "type": "postgresql", "dispatch": "async",
                          "conninfo": "host=/nonexistent dbname=audit"},
                         {"id": "stream", "type": "kafka", "dispatch": "async", "topic": "audit",
                          "properties": {"bootstrap.servers": "127.0.0.1:1"}}])
        mapped = self.mapped_libraries(d)
        self.assertTrue(any(lib.startswith("libpq.so.5") for lib in mapped), sorted(mapped))
        self.assertTrue(any(lib.startswith("librdkafka.so.1") for lib in mapped), sorted(mapped))


class PostgresqlConfigTest(unittest.TestCase):
    def test_bad_table_and_conninfo_are_refused_naming_each(self):
        directory = tempfile.mkdtemp(prefix="auditfwd-pg-config-")
        path = os.path.join(directory, "auditfwd.toml")
        with open(path, "w") as f:
            f.write("""[[forwarders]]
id = "db"
type = "postgresql"
conninfo = "host=db password=topsecret-1 colour=blue"
table = "audit; DROP TABLE x"
""")
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", path], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 78, result.stderr)
        self.assertIn(f'{path}:4:1: forwarders[0].conninfo: not a valid libpq connection string: invalid '
                      'connection option "colour"', result.stderr)
        self.assertIn(f"{path}:5:1: forwarders[0].table: must be an SQL name", result.stderr)
        self.assertNotIn("topsecret-1", result.stderr)

    def test_the_example_config_is_valid(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "config", "examples", "postgresql.toml")
        result = subprocess.run([AUDITFWD_BIN, "check-config", "--config", example], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
