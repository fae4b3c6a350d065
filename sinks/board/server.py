"""The live board's web server: the page, its JSON state, and server-sent events.

A small aiohttp app in the worker's own event loop (Faust's web server is
off in our app, and a board must not need a second process). Routes:

* ``/`` the page (``?lang=en`` for English, zh-CN by default; ``#scope`` path)
* ``/static/…`` its script and style, shipped as package data (no CDN: the
  centre's network often has no internet)
* ``/api/state?scope=city/district/…`` the view of one hierarchy node
* ``/api/events`` server-sent events: one ``alert`` event per new update
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any

import orjson
from aiohttp import web

from sinks.board.state import BoardState

log = logging.getLogger(__name__)

QUEUE_MAX = 256
KEEPALIVE_S = 15.0
STATIC = resources.files("sinks.board") / "static"
CONTENT_TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}
HealthFn = Callable[[], dict[str, Any]]


class Board:
    """The board's state and its live subscribers (one queue per open page)."""

    def __init__(self, state: BoardState, health: HealthFn | None = None) -> None:
        self.state = state
        self.health = health or (lambda: {})
        self.subscribers: set[asyncio.Queue[bytes]] = set()

    def publish(self, alert: dict[str, Any]) -> bool:
        """Apply one alert update; if it is new, push it to every open page."""
        if not self.state.apply(alert):
            return False
        data = orjson.dumps(self.state.recent[0])
        for queue in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):  # a stuck page refetches anyway
                queue.put_nowait(data)
        return True

    def apply_raw(self, key: bytes | None, raw: bytes | None,
                  received_at: datetime) -> dict[str, Any] | None:
        """A ``gw.alerts`` message, as :class:`streams.worker.TopicFollower` hands it over.

        Not an alert (it cannot be: the worker wrote it)? Skipped, no dead letter.
        """
        with contextlib.suppress(orjson.JSONDecodeError, TypeError, ValueError):
            alert = orjson.loads(raw or b"")
            if isinstance(alert, dict) and alert.get("alert_id"):
                self.publish(alert)
        return None


BOARD = web.AppKey("board", Board)


def make_app(board: Board) -> web.Application:
    app = web.Application()
    app[BOARD] = board
    app.router.add_get("/", _page)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/api/events", _events)
    return app


async def _page(request: web.Request) -> web.Response:
    return _file("index.html")


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if "/" in name or name.startswith(".") or not (STATIC / name).is_file():
        raise web.HTTPNotFound()
    return _file(name)


def _file(name: str) -> web.Response:
    suffix = name[name.rfind("."):]
    return web.Response(body=(STATIC / name).read_bytes(), charset="utf-8",
                        content_type=CONTENT_TYPES.get(suffix, "application/octet-stream"),
                        headers={"Cache-Control": "no-cache"})


async def _state(request: web.Request) -> web.Response:
    board = request.app[BOARD]
    scope = tuple(p for p in request.query.get("scope", "").split("/") if p)
    view = board.state.view(scope)
    view["health"] = board.health()
    return web.Response(body=orjson.dumps(view), content_type="application/json")


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events until the page goes away; a comment line keeps proxies open."""
    board = request.app[BOARD]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_MAX)
    board.subscribers.add(queue)
    try:
        await response.write(b"retry: 2000\n\n")
        while True:
            try:
                data = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                await response.write(b"event: alert\ndata: " + data + b"\n\n")
            except TimeoutError:
                await response.write(b": keepalive\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        board.subscribers.discard(queue)
    return response


async def start(board: Board, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve the board; returns the runner (``cleanup()`` to stop) and the page's URL."""
    runner = web.AppRunner(make_app(board), handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    return runner, f"http://{shown}:{bound}/"
