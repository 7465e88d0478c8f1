"""Issue 10 through the real daemon: the narrowed field rules (leap seconds, fraction digits,
years, zone ids, the nesting limit)."""
import grp
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap

from harness import AUDITFWD_BIN, DaemonTestCase, event, read_json_lines, requires, wait_until
from net_receivers import HttpReceiver


def file_forwarder(directory, dispatch="sync", name="out.log"):
    return {"id": "file", "type": "file", "dispatch": dispatch, "path": os.path.join(directory, name)}


def sync_file(directory):
    return [file_forwarder(directory)]


def first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip() or None
    except OSError:
        return None


def expected_unit(pid):
    """The unit of /proc/PID/cgroup as systemd finds it (sd_pid_get_unit): the first
    non-slice component of the systemd hierarchy, or None outside one."""
    hierarchies = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            number, controllers, path = line.rstrip("\n").split(":", 2)
            hierarchies[(number, controllers)] = path
    path = hierarchies.get(("0", "")) or next((p for (n, c), p in hierarchies.items() if c == "name=systemd"), None)
    for component in (path or "").split("/"):
        if component.endswith((".service", ".scope")):
            return component
        if component and not component.endswith(".slice"):
            return None
    return None


class SecretKeysAndFieldsTest(DaemonTestCase):
    def test_field_rules_refuse_loose_times_and_zone_ids(self):
        d = self.daemon(sync_file)
        refused = [event("a.b", occurred_at="2026-11-26T12:34:60Z"),          # a leap second at noon
                   event("a.b", occurred_at="2016-12-31T23:59:60+01:00"),     # 22:59:60 UTC
                   event("a.b", occurred_at="2026-11-26T12:34:56." + "1" * 10 + "Z"),
                   event("a.b", occurred_at="2026-11-26T12:34:56." + "1" * 1000 + "Z"),
                   event("a.b", occurred_at="0000-01-01T00:00:00Z"),
                   event("a.b", occurred_at="1969-12-31T23:59:59Z"),
                   event("a.b", ip_address="fe80::1%nosuchif0"),
                   event("a.b", ip_address="fe80::1%lo")]
        replies = d.send(refused)
        for line, reply in zip(refused, replies):
            self.assertEqual(reply.get("error"), "invalid_event", (line, reply))
            self.assertTrue("occurred_at" in reply["detail"] or "ip_address" in reply["detail"], reply)
        accepted = [event("a.b", occurred_at="2016-12-31T23:59:60Z"),
                    event("a.b", occurred_at="2017-01-01T00:59:60.5+01:00"),
                    event("a.b", occurred_at="2026-11-26T12:34:56.123456789Z"),
                    event("a.b", occurred_at="1970-01-01T00:00:00Z"),
                    event("a.b", occurred_at="9999-12-31T23:59:59Z"),
                    event("a.b", ip_address="fe80::1")]
        replies = d.send(accepted)
        self.assertTrue(all(r["ok"] for r in replies), replies)

    def test_nesting_limit_is_the_documented_default(self):
        def nested(levels):  # the event is level 1, metadata level 2
            value = {}
            for _ in range(levels - 2):
                value = {"n": value}
            return event("a.b", metadata=value)

        d = self.daemon(sync_file)
        deepest, too_deep = d.send([nested(32), nested(33)])
        self.assertTrue(deepest["ok"], deepest)
        self.assertEqual(too_deep["error"], "invalid_event")
        self.assertIn("ingest.max_nesting_depth", too_deep["detail"])
