#!/usr/bin/env python3
"""An example auditfwd `exec` forwarder: appends every event to a file and answers ok.

Usage (auditfwd.toml):

    [[forwarders]]
    id = "archive"
    type = "exec"
    command = ["python3", "/etc/auditfwd/exec_forwarder.py", "/var/log/auditfwd/archive.jsonl"]

Protocol: auditfwd writes one event per line (JSON) on stdin and reads exactly
one reply line per event, in order, on stdout:
    {"ok":true}                                     delivered
    {"ok":false,"retry":true,"error":"why"}         try again later (backoff)
    {"ok":false,"retry":false,"error":"why"}        never: the job is cancelled
Lines on stderr go to the daemon's log. Exit when stdin reaches EOF.
Standard library only.
"""
import json
import os
import sys


def main():
    if len(sys.argv) != 2:
        print("usage: exec_forwarder.py OUTPUT_FILE", file=sys.stderr)
        return 2
    path = sys.argv[1]
    out = sys.stdout
    print(f"exec_forwarder.py: appending events to {path}", file=sys.stderr, flush=True)
    with open(path, "ab") as archive:
        for line in sys.stdin.buffer:
            try:
                event = json.loads(line)
            except ValueError as e:
                # Not retryable: the same bytes will never parse.
                reply = {"ok": False, "retry": False, "error": f"not JSON: {e}"}
            else:
                try:
                    archive.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")
                    archive.flush()
                    os.fsync(archive.fileno())  # answer ok only once the event is on disk
                    reply = {"ok": True}
                except OSError as e:
                    reply = {"ok": False, "retry": True, "error": f"write {path}: {e}"}
            out.write(json.dumps(reply) + "\n")
            out.flush()  # one answer per event, right away: auditfwd waits for it
    return 0


if __name__ == "__main__":
    sys.exit(main())
