#!/usr/bin/env python3
"""What an idle connection costs the daemon: RSS before and after 1,000 clients connect and send nothing.

    bench/idle_connections.py [build-dir]      CONNECTIONS=1000 by default
"""
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build/release"
CONNECTIONS = int(os.environ.get("CONNECTIONS", "1000"))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, CONNECTIONS + 256)), hard))
    work = tempfile.mkdtemp(prefix="auditfwd-idle-bench-")
    try:
        with open(f"{work}/c.toml", "w") as f:
            f.write(f'[ingest]\nsocket = "{work}/s.sock"\n[store]\npath = "{work}/jobs.db"\n[log]\nlevel = "warn"\n'
                    '[[forwarders]]\nid = "out"\ntype = "stdout"\ndispatch = "async"\n')
        daemon = subprocess.Popen([f"{BUILD}/daemon/auditfwd", "--config", f"{work}/c.toml"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not os.path.exists(f"{work}/s.sock"):
            time.sleep(0.05)
        time.sleep(0.5)
        before = rss_mib(daemon.pid)
        clients = []
        for _ in range(CONNECTIONS):
            client = socket.socket(socket.AF_UNIX)
            client.connect(f"{work}/s.sock")
            clients.append(client)
        time.sleep(1)
        after = rss_mib(daemon.pid)
        print(f"daemon RSS {before:.1f} MiB, with {CONNECTIONS} idle connections {after:.1f} MiB: "
              f"{(after - before) * 1024 / CONNECTIONS:.1f} KiB each")
        for client in clients:
            client.close()
        daemon.terminate()
        daemon.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
