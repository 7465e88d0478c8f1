"""Receivers and certificates for the network forwarder tests (stdlib + the openssl CLI)."""
import json
import os
import socket
import socketserver
import ssl
import subprocess
import threading


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that is free right now (for servers that cannot bind port 0 and report it)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificates(directory, common_name="127.0.0.1"):
    """Creates a CA and a server certificate for 127.0.0.1/localhost signed by it.

    Returns a dict of paths: ca, ca_key, cert, key, client_cert, client_key. The
    server certificate carries the IP and DNS names in subjectAltName, as
    host-name verification requires; the client certificate is for mutual TLS.
    """
    paths = {name: os.path.join(directory, f"{name}.pem")
             for name in ("ca", "ca_key", "cert", "key", "client_cert", "client_key")}
    csr = os.path.join(directory, "server.csr")
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=auditfwd test CA",
        "-keyout", paths["ca_key"], "-out", paths["ca"])
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}",
        "-keyout", paths["key"], "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", paths["ca"], "-CAkey", paths["ca_key"], "-CAcreateserial",
        "-days", "2", "-extfile", ext, "-out", paths["cert"])
    client_ext = os.path.join(directory, "client.ext")
    with open(client_ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=auditfwd test client",
        "-keyout", paths["client_key"], "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", paths["ca"], "-CAkey", paths["ca_key"], "-CAcreateserial",
        "-days", "2", "-extfile", client_ext, "-out", paths["client_cert"])
    return paths


class LineReceiver:
    """A JSON-lines TCP (or TLS) server on 127.0.0.1, like Vector's socket source.

    stop() closes the listener and every open connection, as a restarting
    receiver would; a new LineReceiver may then take the same port.
    """

    def __init__(self, port=0, certs=None, require_client_cert=False):
        receiver = self
        self._lock = threading.Lock()
        self._events = []
        self._connections = set()
        tls = None
        if certs:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(certs["cert"], certs["key"])
            if require_client_cert:
                tls.verify_mode = ssl.CERT_REQUIRED
                tls.load_verify_locations(certs["ca"])

        class Handler(socketserver.StreamRequestHandler):
            def setup(self):
                if tls:
                    try:
                        self.request = tls.wrap_socket(self.request, server_side=True)
                    except (ssl.SSLError, OSError):
                        self.request.close()
                        self.request = None
                        return
                with receiver._lock:
                    receiver._connections.add(self.request)
                super().setup()

            def handle(self):
                if self.request is None:
                    return
                try:
                    for line in self.rfile:
                        with receiver._lock:
                            receiver._events.append(json.loads(line))
                except (OSError, ValueError):
                    pass

            def finish(self):
                if self.request is None:
                    return
                try:
                    super().finish()
                except OSError:
                    pass
                with receiver._lock:
                    receiver._connections.discard(self.request)
                self.request.close()

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def events(self):
        with self._lock:
            return list(self._events)

    def ids(self):
        return [e["id"] for e in self.events()]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
