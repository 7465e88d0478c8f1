"""Fake Splunk HEC, Elasticsearch _bulk and Loki push endpoints on 127.0.0.1, written from their public API
documentation: each stores what it accepted, the way the real store would, so a test can check that every
acknowledged event is there exactly once. Built on net_receivers.HttpReceiver (which records every request).

What each fake implements, and nothing more:
- SplunkHec: POST /services/collector/event (Authorization: Splunk <token>; a stream of concatenated
  JSON objects each with "event"; codes 0 success, 2 token required, 4 invalid token, 6 invalid data
  format and 7 incorrect index with "invalid-event-number", 9 server busy, 10 data channel missing,
  12 event field required), with indexer acknowledgement an "ackId" per request; POST
  /services/collector/ack ({"acks":[ids]} -> {"acks":{"id":bool}}) per channel.
- Elasticsearch: POST /_bulk (NDJSON action/document pairs; `create` with `_index` and `_id`; per-item
  status: 201 created, 409 version_conflict_engine_exception for an `_id` already in the index,
  400 mapper_parsing_exception for a document the mapping refuses, 429
  es_rejected_execution_exception when the write queue is full); "errors" true when any item failed;
  401 security_exception for bad credentials.
- Loki: POST /loki/api/v1/push (JSON streams of labels and [ns-string, line] values); an entry with the
  same stream, timestamp and line as a stored one is dropped (Loki's deduplication); 400 for a
  malformed push, 401 for bad credentials, 429 when rate limited.
"""
import base64
import json
import threading
import urllib.parse

from net_receivers import HttpReceiver


def _json(status, value, headers=None):
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(value).encode()


class _Fake:
    """`stall_answers` = n: the next n requests are carried out (stored), then their answers wait until
    the test sets `unstall` (`stalled` is set meanwhile): the sender may die between the store and the
    answer."""

    def __init__(self, **receiver_args):
        self.lock = threading.RLock()
        self.stall_answers = 0
        self.stalled = threading.Event()
        self.unstall = threading.Event()
        self.http = HttpReceiver(respond=self._respond, **receiver_args)

    def url(self, path=""):
        return self.http.url(path)

    def requests(self, path_prefix=""):
        return [r for r in self.http.received() if r["path"].startswith(path_prefix)]

    def stop(self):
        self.http.stop()

    def _respond(self, request):
        with self.lock:
            answer = self.respond(request)
            stall = self.stall_answers > 0 and 200 <= answer[0] < 300
            if stall:
                self.stall_answers -= 1
        if stall:
            self.stalled.set()
            self.unstall.wait(120)
        return answer


class SplunkHec(_Fake):
    """`busy` = n: the next n event requests get code 9 (503) and index nothing.
    `confirm_after_polls` = n: an ack id is confirmed at its n-th poll; None: never (until set)."""

    def __init__(self, token, indexes=("main", "audit"), **receiver_args):
        self.token = token
        self.indexes = set(indexes)
        self.busy = 0
        self.confirm_after_polls = 1
        self.indexed = []  # every envelope accepted, in order (a resent batch is indexed again, as in Splunk)
        self.next_ack = {}  # channel -> next ack id
        self.pending = {}  # (channel, ack id) -> polls so far
        super().__init__(**receiver_args)

    def events(self):
        return [envelope["event"] for envelope in self.indexed]

    def respond(self, request):
        path = urllib.parse.urlsplit(request["path"]).path
        auth = request["headers"].get("authorization")
        if auth is None:
            return _json(401, {"text": "Token is required", "code": 2})
        if auth != f"Splunk {self.token}":
            # Splunk does not echo the token; this fake does, so tests prove the forwarder redacts it.
            return _json(403, {"text": f"Invalid token {auth}", "code": 4})
        channel = request["headers"].get("x-splunk-request-channel")
        if path == "/services/collector/ack":
            if not channel:
                return _json(400, {"text": "Data channel is missing", "code": 10})
            acks = {}
            for ack_id in json.loads(request["body"])["acks"]:
                key = (channel, ack_id)
                if key not in self.pending:
                    acks[str(ack_id)] = False
                    continue
                self.pending[key] += 1
                done = self.confirm_after_polls is not None and self.pending[key] >= self.confirm_after_polls
                acks[str(ack_id)] = done
            return _json(200, {"acks": acks})
        if path != "/services/collector/event":
            return _json(404, {"text": "The requested URL was not found on this server.", "code": 404})
        if self.busy > 0:
            self.busy -= 1
            return _json(503, {"text": "Server is busy", "code": 9})
        envelopes, decoder, text, at = [], json.JSONDecoder(), request["body"].decode(), 0
        while True:
            while at < len(text) and text[at].isspace():
                at += 1
            if at == len(text):
                break
            try:
                value, at = decoder.raw_decode(text, at)
            except ValueError:
                return _json(400, {"text": "Invalid data format", "code": 6, "invalid-event-number": len(envelopes)})
            envelopes.append(value)
        if not envelopes:
            return _json(400, {"text": "No data", "code": 5})
        for number, envelope in enumerate(envelopes):
            if "event" not in envelope:
                return _json(400, {"text": "Event field is required", "code": 12, "invalid-event-number": number})
            if "index" in envelope and envelope["index"] not in self.indexes:
                return _json(400, {"text": "Incorrect index", "code": 7, "invalid-event-number": number})
        self.indexed.extend(envelopes)
        if not channel:
            return _json(200, {"text": "Success", "code": 0})
        ack_id = self.next_ack.get(channel, 0)
        self.next_ack[channel] = ack_id + 1
        self.pending[(channel, ack_id)] = 0
        return _json(200, {"text": "Success", "code": 0, "ackId": ack_id})


class Elasticsearch(_Fake):
    """`throttle` = n: the next n items get 429. `reject_field`: a document whose metadata has this key
    is refused with 400 mapper_parsing_exception. `whole_503` = n: the next n bulk requests are
    executed and then answered 503 (the answer lost on the way: the retry meets its own documents)."""

    def __init__(self, api_key=None, basic=None, **receiver_args):
        self.api_key = api_key
        self.basic = basic
        self.throttle = 0
        self.reject_field = "not_mappable"
        self.whole_503 = 0
        self.docs = {}  # (index, _id) -> document
        self.attempts = {}  # _id -> create actions seen
        super().__init__(**receiver_args)

    def _authorized(self, header):
        if self.api_key is not None:
            return header == f"ApiKey {self.api_key}"
        if self.basic is not None:
            return header == "Basic " + base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
        return True

    def respond(self, request):
        parts = urllib.parse.urlsplit(request["path"])
        if parts.path != "/_bulk":
            return _json(404, {"error": "no handler", "status": 404})
        if not self._authorized(request["headers"].get("authorization")):
            return _json(401, {"error": {"type": "security_exception",
                                         "reason": f"unable to authenticate with {request['headers'].get('authorization')}"},
                               "status": 401})
        lines = [line for line in request["body"].decode().split("\n") if line]
        if len(lines) % 2:
            return _json(400, {"error": {"type": "illegal_argument_exception",
                                         "reason": "The bulk request must be terminated by a newline"}, "status": 400})
        items, errors = [], False
        for action_line, doc_line in zip(lines[0::2], lines[1::2]):
            action = json.loads(action_line)["create"]
            index, doc_id, doc = action["_index"], action["_id"], json.loads(doc_line)
            self.attempts[doc_id] = self.attempts.get(doc_id, 0) + 1
            result = {"_index": index, "_id": doc_id}
            if self.throttle > 0:
                self.throttle -= 1
                result.update(status=429, error={"type": "es_rejected_execution_exception",
                                                 "reason": "rejected execution of coordinating operation"})
            elif self.reject_field in (doc.get("metadata") or {}):
                result.update(status=400, error={"type": "mapper_parsing_exception",
                                                 "reason": f"failed to parse field [metadata.{self.reject_field}]"})
            elif (index, doc_id) in self.docs:
                result.update(status=409, error={"type": "version_conflict_engine_exception",
                                                 "reason": f"[{doc_id}]: version conflict, document already exists"})
            else:
                self.docs[(index, doc_id)] = doc
                result.update(status=201, result="created", _version=1)
            errors = errors or result["status"] >= 300
            items.append({"create": result})
        if self.whole_503 > 0:
            self.whole_503 -= 1
            return _json(503, {"error": "answer lost", "status": 503})
        return _json(200, {"took": 3, "errors": errors, "items": items})


class Loki(_Fake):
    """`limit` = n: the next n pushes get 429 with Retry-After `retry_after`. A line containing
    `refuse_marker` makes the push a 400 (as Loki answers an entry too far behind or too long)."""

    def __init__(self, bearer=None, tenant=None, **receiver_args):
        self.bearer = bearer
        self.tenant = tenant
        self.limit = 0
        self.retry_after = "1"
        self.refuse_marker = "loki-refuses-this"
        self.entries = []  # (labels dict, ns, line), each once
        self._seen = set()
        super().__init__(**receiver_args)

    def events(self):
        return [json.loads(line) for _, _, line in self.entries]

    def respond(self, request):
        if urllib.parse.urlsplit(request["path"]).path != "/loki/api/v1/push":
            return 404, {}, b"404 page not found\n"
        headers = request["headers"]
        if self.bearer is not None and headers.get("authorization") != f"Bearer {self.bearer}":
            return 401, {}, f"no org id / bad auth: {headers.get('authorization')}\n".encode()
        if self.tenant is not None and headers.get("x-scope-orgid") != self.tenant:
            return 401, {}, b"no org id\n"
        if self.limit > 0:
            self.limit -= 1
            return 429, {"Retry-After": self.retry_after}, b"Ingestion rate limit exceeded\n"
        try:
            push = json.loads(request["body"])
            accepted = []
            for stream in push["streams"]:
                labels = stream["stream"]
                if not labels:
                    return 400, {}, b"error at least one label pair is required per stream\n"
                for ns, line in stream["values"]:
                    int(ns)
                    if self.refuse_marker in line:
                        return 400, {}, b"entry for stream has timestamp too old\n"
                    accepted.append((labels, ns, line))
        except (ValueError, KeyError, TypeError) as e:
            return 400, {}, f"loghttp.PushRequest: {e}\n".encode()
        for labels, ns, line in accepted:
            key = (tuple(sorted(labels.items())), ns, line)
            if key not in self._seen:
                self._seen.add(key)
                self.entries.append((labels, ns, line))
        return 204, {}, b""
