"""A scripted webhook receiver on 127.0.0.1 for the notify tests (stdlib ``http.server``).

``script`` is the list of statuses to answer, in order; once it is used up
every request gets ``then``. Every request is recorded, failed or not, so a
test sees the retries as well as what was accepted.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson


class Receiver:
    def __init__(self, script: list[int] | None = None, then: int = 200,
                 headers: dict[str, str] | None = None) -> None:
        self.script = list(script or [])
        self.then = then
        self.headers = headers or {}
        self.requests: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def accepted(self) -> list[dict[str, Any]]:
        """Every alert of every accepted (2xx) request, duplicates included."""
        with self.lock:
            return [a for status, _, body in self.requests if status < 300
                    for a in body["alerts"]]

    def statuses(self) -> list[int]:
        with self.lock:
            return [status for status, _, _ in self.requests]

    def _answer(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else self.then

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver._answer()
                with receiver.lock:
                    receiver.requests.append((status, dict(self.headers), body))
                self.send_response(status)
                for k, v in receiver.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        return Handler

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
