"""Receivers and certificates for the network forwarder tests (stdlib + the openssl CLI)."""
import gzip
import http.server
import json
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time


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


def make_pki(directory):
    """A test CA; server certificates signed by it for localhost/127.0.0.1 ("server"), for
    other.example only ("other-host") and for localhost but expired ("expired"); a client
    certificate; and an unrelated CA."""

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    def key_and_csr(name, cn):
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")

    def ca(name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=auditfwd test {name}",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def sign(name, extensions, days="2"):
        with open(os.path.join(directory, f"{name}.ext"), "w") as f:
            f.write(extensions)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", days, "-extfile", f"{name}.ext")

    ca("ca")
    ca("other-ca")
    key_and_csr("server", "localhost")
    sign("server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    key_and_csr("other-host", "other.example")  # a valid chain, but for another host
    sign("other-host", "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n")
    key_and_csr("expired", "localhost")  # right name, right CA, expired yesterday
    sign("expired", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", days="-1")
    key_and_csr("client", "auditfwd-client")
    sign("client", "extendedKeyUsage=clientAuth\n")
    return {name: os.path.join(directory, name) for name in
            ["ca.pem", "other-ca.pem", "server.pem", "server.key", "other-host.pem", "other-host.key",
             "expired.pem", "expired.key", "client.pem", "client.key"]}


class HttpReceiver:
    """An HTTP(S) server on 127.0.0.1 that records every request and answers with `respond(request)`.

    With `pki` (from make_pki) it serves TLS with the certificate named `cert`.
    With `hold` = n, the n-th request (from 1) waits, before it is answered, until
    the test sets `release`; `holding` is set once it has arrived: a delivery in
    flight for exactly as long as the test wants.
    """

    def __init__(self, pki=None, require_client_cert=False, respond=None, close_after_response=False, cert="server",
                 hold=None):
        self.requests = []
        self.lock = threading.Lock()
        self.respond = respond or (lambda request: (200, {}, b'{"ok":true}'))
        self.sni_names = []
        self.release = threading.Event()  # for responders that hold a request
        self.hold = hold
        self.holding = threading.Event()
        self._arrivals = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "raw": body,
                    "body": gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body,
                    "at": time.monotonic(),
                    "peer_port": self.client_address[1],
                    "client_cert": self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None,
                }
                with receiver.lock:
                    receiver._arrivals += 1
                    held = receiver._arrivals == receiver.hold
                if held:
                    receiver.holding.set()
                    receiver.release.wait(120)
                status, headers, payload = receiver.respond(request)
                with receiver.lock:
                    receiver.requests.append(request)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the forwarder gave up on a held request: expected
                    return
                if close_after_response:
                    self.close_connection = True  # without "Connection: close": the client finds out later

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
                    return  # a peer that hung up or failed the handshake: what some tests provoke
                super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if pki:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pki[f"{cert}.pem"], pki[f"{cert}.key"])
            context.sni_callback = lambda sock, name, ctx: self.sni_names.append(name) and None
            if require_client_cert:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(pki["ca.pem"])
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook", host="localhost"):
        return f"{self.scheme}://{host}:{self.port}{path}"

    def received(self):
        with self.lock:
            return list(self.requests)

    def events(self, request):
        """The events in one request, whatever the body format."""
        content_type = request["headers"]["content-type"]
        if content_type == "application/x-ndjson":
            return [json.loads(line) for line in request["body"].splitlines() if line.strip()]
        value = json.loads(request["body"])
        return value if isinstance(value, list) else [value]

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# getaddrinfo for names ending in HANGING_SUFFIX sleeps (as a dead DNS server
# makes it), then fails; other names resolve as usual. Loaded with LD_PRELOAD.
HANGING_SUFFIX = ".hang.test"
HANGING_GETADDRINFO_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
  static int (*real)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  if (!real) real = (int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**))dlsym(RTLD_NEXT, "getaddrinfo");
  const char* suffix = "%s";
  size_t n = node ? strlen(node) : 0, m = strlen(suffix);
  if (n >= m && strcmp(node + n - m, suffix) == 0) {
    sleep(60);
    return EAI_AGAIN;
  }
  return real(node, service, hints, res);
}
""" % HANGING_SUFFIX


def hanging_lookup_env(directory):
    """Environment for a daemon whose lookups of *.hang.test hang; None without a C compiler."""
    import shutil
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        return None
    source, shim = os.path.join(directory, "hanging_getaddrinfo.c"), os.path.join(directory, "hanging_getaddrinfo.so")
    with open(source, "w") as f:
        f.write(HANGING_GETADDRINFO_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", shim, source, "-ldl"], check=True)
    return {"LD_PRELOAD": shim,
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
