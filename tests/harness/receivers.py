"""HTTP receivers on loopback for what the engine sends out (webhooks, assistant requests, chat
completions): a real server in a thread that records every request and answers from a script."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HttpServer:
    """``handler`` served on a free loopback port by a thread of its own; ``url`` is its root."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers JSON."""

    def log_message(self, *_: Any) -> None:
        pass

    def send_json(self, code: int, body: Any) -> None:
        """The response ``code`` with ``body`` as JSON (empty when None); a client that gave up
        (deadline tests) is no error."""
        data = json.dumps(body).encode() if body is not None else b""
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass


@dataclass
class Hit:
    """One request the receiver got; header names in lower case."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # monotonic arrival time

    @property
    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.body)["message"]
        return message

    @property
    def event(self) -> str:
        return self.headers.get("x-switchboard-event", "")

    @property
    def signature(self) -> str | None:
        return self.headers.get("x-switchboard-signature")


@dataclass
class Reply:
    code: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    delay_s: float = 0.0


class Receiver(HttpServer):
    """Records every POST in ``hits``; answers per (path, event) script (``script``), else with
    ``answer`` after ``delay_s`` (a slow receiver, on its own thread). ``url`` ends with
    ``path``."""

    def __init__(self, path: str = "", answer: Any = None, delay_s: float = 0.0) -> None:
        self.hits: list[Hit] = []
        self.scripts: dict[tuple[str, str], list[Reply]] = {}
        self.answer: Any = {"ok": True} if answer is None else answer
        self.delay_s = delay_s
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = receiver._record(Hit(self.path, headers, body, time.monotonic()))
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                self.send_json(reply.code, reply.body)

        super().__init__(Handler)
        self.url += path

    def _record(self, hit: Hit) -> Reply:
        with self._lock:
            self.hits.append(hit)
            script = self.scripts.get((hit.path, hit.event)) or self.scripts.get((hit.path, "*"))
            if not script:
                return Reply(200, self.answer, self.delay_s)
            return script.pop(0) if len(script) > 1 else script[0]

    def script(self, path: str, event: str, *replies: Reply) -> None:
        with self._lock:
            self.scripts[(path, event)] = list(replies)

    def at(self, path: str, event: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path and (event is None or h.event == event)]


ChatAnswer = tuple[int, Any] | list[dict[str, Any]]


class ChatStub:
    """An OpenAI-compatible chat-completions server on loopback (``url`` is its ``/v1`` base,
    once ``start`` ran): it records every request's JSON and Authorization header and answers
    with ``respond(body)``: a (status, JSON body) pair, or chunks it streams as server-sent events
    ending in ``[DONE]``."""

    def __init__(self, respond: Callable[[dict[str, Any]], ChatAnswer] | None = None) -> None:
        self.url = ""
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        # ``GET /v1/models`` answers its list to ``Bearer <models_key>`` (any key when None) and
        # 401 to others; the Authorization header of each such request is kept
        self.models_key: str | None = None
        self.model_listings: list[str] = []
        self._respond = respond
        self._server: HttpServer | None = None

    def respond(self, body: dict[str, Any]) -> ChatAnswer:
        assert self._respond is not None, "a ChatStub needs a respond function or method"
        return self._respond(body)

    def start(self) -> None:
        stub = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                stub.authorizations.append(self.headers.get("Authorization", ""))
                answer = stub.respond(body)
                if isinstance(answer, list):
                    self.send_events(answer)
                else:
                    self.send_json(*answer)

            def do_GET(self) -> None:
                if self.path != "/v1/models":
                    self.send_error(404)
                    return
                auth = self.headers.get("Authorization", "")
                stub.model_listings.append(auth)
                if stub.models_key is not None and auth != f"Bearer {stub.models_key}":
                    self.send_json(401, {"error": {"message": "Incorrect API key provided",
                                                   "type": "invalid_request_error"}})
                    return
                self.send_json(200, {"object": "list", "data": [
                    {"id": "stub-1", "object": "model", "owned_by": "stub"}]})

            def send_events(self, chunks: list[dict[str, Any]]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for item in chunks:
                    self.wfile.write(f"data: {json.dumps(item)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self._server = HttpServer(Handler)
        self.url = self._server.url + "/v1"

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
