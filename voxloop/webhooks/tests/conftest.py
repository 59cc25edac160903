"""A real HTTP receiver on 127.0.0.1 (http.server in a thread) and the case fixtures."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from voxloop.cases.tests.conftest import (  # noqa: F401 - fixtures shared with the case tests
    english_messages,
    make_feedback,
    on_postgres,
    sla_defaults,
)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What each path answers: an int status, ("sleep", seconds) to stall past the read timeout, or
    ("body", status, bytes) to answer with that body."""

    base_url: str
    answers: dict[str, int | tuple[Any, ...]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


@pytest.fixture
def receiver():
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            rec = state["r"]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with rec.lock:
                rec.received.append(Received(self.path, dict(self.headers.items()), body))
            answer = rec.answers.get(self.path, 200)
            status, text = 200, None
            if isinstance(answer, int):
                status = answer
            elif answer[0] == "body":
                status, text = int(answer[1]), bytes(answer[2])
            elif answer[0] == "sleep":
                time.sleep(float(answer[1]))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(text if text is not None else b"receiver says %d" % status)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up (timeout) before we answered

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["r"]
    server.shutdown()
    server.server_close()
