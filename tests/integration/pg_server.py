"""A throw-away PostgreSQL 15 server for the postgresql forwarder's tests: initdb in a temporary
directory as an unprivileged user (the tests may run as root, which PostgreSQL refuses to run as),
password authentication, a Unix socket in that directory and 127.0.0.1 on a free port."""
import os
import shutil
import subprocess
import tempfile

from net_receivers import free_port

PG_BIN = os.environ.get("AUDITFWD_PG_BIN", "/usr/lib/postgresql/15/bin")
UNPRIVILEGED_UID = 65534  # nobody
PASSWORD = "pg-test-pw-5d1e"


def available():
    return all(os.access(os.path.join(PG_BIN, tool), os.X_OK) for tool in ("initdb", "pg_ctl", "postgres", "psql"))


class PostgresServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="auditfwd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        password_file = os.path.join(self.dir, "password")
        with open(password_file, "w") as f:
            f.write(PASSWORD + "\n")
        if os.geteuid() == 0:
            for path in (self.dir, password_file):
                os.chown(path, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
        self._as_server_user([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "auditfwd", "-E", "UTF8",
                              "--auth=scram-sha-256", "--pwfile", password_file, "--no-sync"])
        self.start()

    def _as_server_user(self, command, **kwargs):
        if os.geteuid() == 0:
            command = ["setpriv", f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}", "--clear-groups",
                       *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.dir, **kwargs)
        if result.returncode != 0:
            raise AssertionError(f"{command}: {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def start(self):
        self._as_server_user([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"),
                              "-w", "-o", f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off",
                              "start"])

    def stop(self, mode="fast"):
        self._as_server_user([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"])

    def conninfo(self, password=PASSWORD):
        return f"host={self.dir} port={self.port} user=auditfwd dbname=postgres password={password}"

    def psql(self, sql):
        """Runs `sql`; returns the rows, each a list of column texts."""
        result = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-F", "\t", "-v",
                                 "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port), "-U", "auditfwd",
                                 "-d", "postgres", "-c", sql], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, PGPASSWORD=PASSWORD))
        if result.returncode != 0:
            raise AssertionError(f"psql: {sql}: {result.stderr}")
        return [line.split("\t") for line in result.stdout.splitlines() if line]

    def session(self):
        """A psql process reading statements from its stdin, for a transaction held open across a test step."""
        return subprocess.Popen([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                                 "-p", str(self.port), "-U", "auditfwd", "-d", "postgres"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                env=dict(os.environ, PGPASSWORD=PASSWORD))

    def destroy(self):
        try:
            self.stop(mode="immediate")
        except AssertionError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
