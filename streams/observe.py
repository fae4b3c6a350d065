"""The worker's windows: the Prometheus endpoint and the live board, started with the app.

Both are optional extras of a worker: a port that is taken (another worker
on the host, a test run next door) is logged and skipped, never fatal. With
port 0 the OS picks one and the log line says which (``gridwatch run``
reads the board's from there).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from config.models import Settings
from gridwatch.metrics_http import start_metrics
from gridwatch.registry import Registry
from sinks.board.server import Board, start
from sinks.board.state import BoardState
from streams.follow import TopicFollower
from streams.worker import LiveWorker

log = logging.getLogger(__name__)


def health(live: LiveWorker, state: BoardState) -> dict[str, Any]:
    """Detector health for the board: time per event, last alert, watermark lag."""
    names = [d.name for d in live.router.detectors]
    latest = live.metrics.detectors.latest
    marks = [s.engine.watermark for s in live.work.states.values()
             if s.engine.watermark > float("-inf")]
    return {"detectors": [{"name": n, "us_per_event": latest[n] * 1e6 if n in latest else None,
                           "last_alert": state.last_by_detector.get(n)} for n in names],
            "watermark_lag_s": time.time() - min(marks) if marks else None,
            "partitions": sorted(live.work.states)}


async def serve(settings: Settings, registry: Registry, live: LiveWorker) -> None:
    """A Faust task: metrics, then the board and its reader of ``gw.alerts`` until cancelled."""
    obs = settings.observability
    start_metrics(live.metrics.registry, obs.bind_host, obs.metrics_port)
    if obs.board_port < 0:
        return
    state = BoardState(registry.grids)
    board = Board(state, lambda: health(live, state))
    try:
        runner, url = await start(board, obs.bind_host, obs.board_port)
    except OSError as exc:
        log.error("board not started: port %d: %s", obs.board_port, exc)
        return
    log.info("board on %s", url)
    reader = TopicFollower(settings, settings.kafka.topics.alerts, board.apply_raw, _ignore)
    try:
        await reader.run()
    finally:
        await runner.cleanup()


async def _ignore(letter: dict[str, Any]) -> None:
    return None
