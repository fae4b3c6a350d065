"""End to end: a worker's /metrics count a known feed, its board shows the alert, its log
is JSON lines. Ports are 0 (free ones, read back from the log) so runs never collide."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from config.models import Settings
from gridwatch.runner import WorkerProcess

pytestmark = pytest.mark.e2e
TS = "2026-11-22T08:0{}:00+08:00"


def logged_url(proc: WorkerProcess, what: str, timeout_s: float = 60.0) -> str:
    """The URL a worker logged for ``what`` (``metrics`` or ``board``)."""
    pattern = re.compile(rf"{what} on (http://[^\s\"]+)")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = pattern.search(proc.log_path.read_text(errors="replace"))
        if found:
            return found.group(1)
        assert proc.exit_code() is None, proc.tail(40)
        time.sleep(0.2)
    pytest.fail(f"no '{what} on' line in the log:\n{proc.tail(40)}")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as res:  # noqa: S310 - our own localhost
        return bytes(res.read())


def metric(text: str, line: str) -> float | None:
    found = re.search(rf"^{re.escape(line)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def test_metrics_and_board_of_a_running_worker(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, send: Any) -> None:
    settings = e2e_settings(observability={"metrics_port": 0, "board_port": 0})
    proc = worker(settings)
    t = settings.kafka.topics
    send(settings, t.iot, [{"event_id": f"i-{n}", "ts": TS.format(n), "device_id": "sm-1001",
                            "metric": "smoke", "value": v} for n, v in ((1, 0), (2, 1))],
         b"{not json", {"event_id": "i-3", "ts": TS.format(3), "device_id": "x",
                        "metric": "smoke", "value": "high"})
    alerts = topic(settings, t.alerts).wait_for(lambda v: len(v) >= 1, worker=proc)
    metrics_url, board_url = logged_url(proc, "metrics"), logged_url(proc, "board")
    lines = {'gridwatch_events_in_total{stream="iot"}': 2.0,
             'gridwatch_input_messages_total{stream="iot"}': 3.0,
             'gridwatch_dead_letters_total{reason="message",stream="iot"}': 1.0,
             'gridwatch_dead_letters_total{reason="value",stream="iot"}': 1.0,
             'gridwatch_alerts_total{kind="sensor_threshold",severity="red",status="firing"}':
             1.0}
    deadline = time.monotonic() + 30
    while True:
        text = get(metrics_url).decode()
        seen = {line: metric(text, line) for line in lines}
        if seen == lines or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert seen == lines, text
    assert "gridwatch_open_episodes" in text and "gridwatch_watermark_lag_seconds" in text
    state = orjson.loads(get(board_url + "api/state?scope=daqing"))
    for _ in range(50):
        if state["recent"]:
            break
        time.sleep(0.2)
        state = orjson.loads(get(board_url + "api/state?scope=daqing"))
    assert [a["alert_id"] for a in state["recent"]] == [alerts[0]["alert_id"]]
    assert state["open"]["red"] == 1
    records = [orjson.loads(line) for line in proc.log_path.read_text().splitlines()
               if line.startswith("{")]
    assert records and {"ts", "level", "logger", "msg", "worker"} <= set(records[0])
    assert any(r.get("partition") is not None for r in records)
