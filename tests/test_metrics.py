"""Worker metrics count exactly what a known feed holds (no broker: the LiveWorker alone)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from config.models import load_settings
from gridwatch.registry import Registry
from streams.checkpoints import MemoryCheckpointStore
from streams.metrics import WorkerMetrics, dead_reason
from streams.worker import LiveWorker, WorkItem

DATA = Path(__file__).parent / "data"
TS = "2026-11-22T08:0{}:00+08:00"


def iot(n: int, device: str, metric: str, value: Any) -> dict[str, Any]:
    return {"event_id": f"i-{n}", "ts": TS.format(n), "device_id": device, "metric": metric,
            "value": value}


class Outputs:
    """Remembers what the worker sends; ``ack`` does nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, bytes]] = []
        self.alerts: list[dict[str, Any]] = []

    async def work(self, partition: int, value: bytes) -> None:
        self.sent.append((partition, value))

    async def alert(self, key: bytes, value: bytes) -> None:
        self.alerts.append(orjson.loads(value))

    async def muted(self, key: bytes, value: bytes) -> None:
        return None

    async def dead(self, key: bytes, value: bytes) -> None:
        return None


async def feed(live: LiveWorker, out: Outputs) -> None:
    """Three iot messages (one a batch with a bad element, one not JSON), then the work."""
    await live.on_assigned(set(range(4)), {"iot/0"})
    batch = orjson.dumps([iot(1, "sm-1001", "smoke", 1), iot(2, "sm-1001", "smoke", "high")])
    await live.route("iot", [(0, 0, batch), (0, 1, b"{not json"),
                             (0, 2, orjson.dumps(iot(3, "tm-9001", "temperature", 21.5)))])
    items = [WorkItem(p, n, value) for n, (p, value) in enumerate(out.sent)]

    async def ack(token: Any) -> None:
        return None

    await live.on_work(items, ack)


def sample(m: WorkerMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_a_known_feed_is_counted_exactly() -> None:
    out = Outputs()
    live = LiveWorker(load_settings(), Registry.from_dir(DATA / "registry"), out,
                      MemoryCheckpointStore(), highwater=lambda stream, p: 10)
    asyncio.run(feed(live, out))
    m = live.metrics
    assert sample(m, "gridwatch_input_messages_total", stream="iot") == 3
    assert sample(m, "gridwatch_events_in_total", stream="iot") == 2
    assert sample(m, "gridwatch_dead_letters_total", stream="iot", reason="value") == 1
    assert sample(m, "gridwatch_dead_letters_total", stream="iot", reason="message") == 1
    assert [a["kind"] for a in out.alerts] == ["sensor_threshold"]
    assert sample(m, "gridwatch_alerts_total", kind="sensor_threshold", severity="red",
                  status="firing") == 1
    assert sample(m, "gridwatch_detector_sampled_events_total") == 2
    assert (sample(m, "gridwatch_detector_seconds_total", detector="sensor_threshold")
            or 0) > 0
    m.refresh(live, force=True)
    assert sample(m, "gridwatch_open_episodes", kind="sensor_threshold") == 1
    assert sample(m, "gridwatch_consumer_lag_messages", stream="iot", partition="0") == 7
    lags = [s for f in m.registry.collect() if f.name == "gridwatch_watermark_lag_seconds"
            for s in f.samples]
    assert lags and all(s.value > 0 for s in lags)


def test_detectors_are_put_back_after_a_sampled_batch() -> None:
    out = Outputs()
    live = LiveWorker(load_settings(), Registry.from_dir(DATA / "registry"), out,
                      MemoryCheckpointStore())
    asyncio.run(feed(live, out))
    for state in live.work.states.values():
        assert all(type(d).__name__ != "TimedDetector" for d in state.engine.detectors)
    assert set(live.metrics.detectors.latest) >= {"sensor_threshold"}


@pytest.mark.parametrize(("stream", "error", "reason"), [
    ("access", "direction: must be 'in' or 'out'", "direction"),
    ("report", "source: must be 'grid_worker', 'citizen', 'police' or 'system'", "source"),
    ("iot", "message: empty value (null)", "message"),
    ("iot", "value: Input should be a valid number; ts: bad", "value"),
    ("registry", "table: must be one of grids, houses", "table"),
    ("registry", "grid_id: Field required", "other"),
    ("iot", "张三 13800138000", "other"),
])
def test_dead_letter_reasons_are_a_bounded_set(stream: str, error: str, reason: str) -> None:
    assert dead_reason(stream, error) == reason
