"""A keep-alive HTTP/1.1 receiver on 127.0.0.1 for the delivery benchmarks: it counts the events of each
POST with a function of the benchmark's and answers what that function says (standard library,
TCP_NODELAY, one thread per connection)."""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CountingReceiver(ThreadingHTTPServer):
    """`count_and_answer(headers, body)` -> (events in the request, status, answer body)."""

    daemon_threads = True

    def __init__(self, count_and_answer):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.count_and_answer = count_and_answer
        self.lock = threading.Lock()
        self.events = 0
        self.requests = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def process_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(request, client_address)

    def url(self, path=""):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        count, status, answer = self.server.count_and_answer(self.headers, body)
        with self.server.lock:
            self.server.events += count
            self.server.requests += 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass
