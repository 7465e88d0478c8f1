"""A real rsyslogd for the syslog forwarder tests: foreground, own work directory, one listener.

What rsyslog parsed is written one message per line with the fields a user
would check, tab-separated, so the tests assert on rsyslog's view of the
message rather than on our own bytes.
"""
import os
import signal
import subprocess
import time

RSYSLOGD = os.environ.get("RSYSLOGD", "/usr/sbin/rsyslogd")
# A private copy (scripts/auditfwd-dev, beside another syslog daemon) loads its modules from here.
RSYSLOGD_MODDIR = os.environ.get("RSYSLOGD_MODDIR")
FIELDS = ["app-name", "msgid", "structured-data", "syslogseverity-text", "syslogfacility-text", "hostname",
          "procid", "timereported:::date-rfc3339", "msg"]


def _listening(port, proto):
    """True when something on this host listens on 127.0.0.1:`port` (from /proc, without touching the port)."""
    wanted = f"0100007F:{port:04X}"
    listen_state = "0A" if proto == "tcp" else "07"
    try:
        with open(f"/proc/net/{proto}") as f:
            rows = [line.split() for line in f.readlines()[1:]]
    except OSError:
        return False
    return any(row[1] == wanted and row[3] == listen_state for row in rows)


class Rsyslog:
    """rsyslogd listening on 127.0.0.1:`port` with `transport` udp, tcp or tls (gtls driver)."""

    def __init__(self, directory, transport, port, certs=None):
        self.dir = directory
        self.transport = transport
        self.port = port
        self.output = os.path.join(directory, "received.tsv")
        self.conf = os.path.join(directory, "rsyslog.conf")
        self.pidfile = os.path.join(directory, "rsyslogd.pid")
        self.log_path = os.path.join(directory, "rsyslogd.log")
        work = os.path.join(directory, "work")
        os.makedirs(work, exist_ok=True)
        glob = [f'workDirectory="{work}"', 'maxMessageSize="64k"']
        if transport == "tls":
            glob += [f'defaultNetstreamDriverCAFile="{certs["ca"]}"',
                     f'defaultNetstreamDriverCertFile="{certs["cert"]}"',
                     f'defaultNetstreamDriverKeyFile="{certs["key"]}"']
        lines = [f"global({' '.join(glob)})"]
        if transport == "udp":
            lines += ['module(load="imudp")', f'input(type="imudp" address="127.0.0.1" port="{port}")']
        elif transport == "tcp":
            lines += ['module(load="imtcp")', f'input(type="imtcp" address="127.0.0.1" port="{port}")']
        else:
            lines += ['module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" '
                      'streamDriver.authMode="anon")',
                      f'input(type="imtcp" address="127.0.0.1" port="{port}")']
        template = ' constant(value="\\t") '.join(f'property(name="{name.split(":")[0]}"'
                                                   + (f' dateFormat="rfc3339"' if "date-rfc3339" in name else "")
                                                   + ')' for name in FIELDS)
        lines += [f'template(name="fields" type="list") {{ {template} constant(value="\\n") }}',
                  # Only our messages: rsyslogd's own start/stop notices go elsewhere.
                  f'if $app-name != "rsyslogd" then {{ action(type="omfile" file="{self.output}" template="fields") }}']
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self, timeout=15):
        self._log = open(self.log_path, "ab")
        moddir = ["-M", RSYSLOGD_MODDIR] if RSYSLOGD_MODDIR else []
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile, *moddir],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        proto = "udp" if self.transport == "udp" else "tcp"
        deadline = time.monotonic() + timeout
        while not _listening(self.port, proto):
            if self.proc.poll() is not None:
                raise AssertionError(f"rsyslogd exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"rsyslogd did not listen on {self.port}:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._log.close()
        self.proc = None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def messages(self):
        """What rsyslog parsed, one dict per message (keys as in FIELDS, the date field as 'timestamp')."""
        try:
            with open(self.output, "rb") as f:
                text = f.read().decode()
        except OSError:
            return []
        rows = []
        for line in text.splitlines():
            values = line.split("\t", len(FIELDS) - 1)
            if len(values) == len(FIELDS):
                row = dict(zip(FIELDS, values))
                row["timestamp"] = row.pop("timereported:::date-rfc3339")
                rows.append(row)
        return rows
