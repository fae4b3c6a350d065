"""Sink delivery metrics: retries and failures of a flaky receiver are counted exactly."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import orjson
from boardfeed import alert
from prometheus_client import CollectorRegistry

from config.alerts import FileSink
from sinks.notify.exceptions import DeliveryError
from sinks.notify.metrics import SinkMetrics
from sinks.notify.stage import SinkStage


class Flaky:
    """Fails recoverably ``fails`` times per batch, and for good on grid-0301."""

    name = "flaky"

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.left = fails

    def notify(self, alerts: list[dict[str, Any]]) -> None:
        if alerts[0]["grid"]["grid_id"] == "grid-0301":
            raise DeliveryError("400 bad request", recoverable=False)
        if self.left:
            self.left -= 1
            raise DeliveryError("503", recoverable=True)
        self.left = self.fails

    def close(self) -> None:
        return None


def test_retries_and_failures_per_sink() -> None:
    config = FileSink(name="archive", path="/dev/null",
                      retry={"initial_backoff_s": 0.01, "max_backoff_s": 0.01})
    stage = SinkStage(config, Flaky(fails=2), lambda key, value: None, lambda s: False, UTC)
    registry = CollectorRegistry()
    metrics = SinkMetrics(registry)
    batches = [[alert(1, "crowd", "blue", "grid-0101", 8, "…"),
                alert(2, "crowd", "blue", "grid-0102", 8, "…")],
               [alert(3, "crowd", "red", "grid-0301", 9, "…")]]
    for batch in batches:
        assert stage.handle([orjson.dumps(a) for a in batch])
        metrics.sync("archive", stage.stats)
    metrics.sync("archive", stage.stats)  # nothing new: nothing added

    def value(name: str) -> float | None:
        return registry.get_sample_value(name, {"sink": "archive"})

    assert value("gridwatch_sink_deliveries_total") == 2
    assert value("gridwatch_sink_retries_total") == 4  # two per delivered grid batch
    assert value("gridwatch_sink_delivery_failures_total") == 1
