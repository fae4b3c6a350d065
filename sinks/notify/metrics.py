"""Prometheus counters of ``gridwatch notify``: deliveries, failures and retries per sink.

The stage already keeps exact totals in ``SinkStage.stats``; after each poll
the loop hands them here and only the growth is added, so the delivery path
itself is untouched and nothing is counted per alert.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter

FIELDS = {"delivered": "deliveries", "dead": "failures", "retries": "retries",
          "skipped": "skipped"}


class SinkMetrics:
    """Counters per sink name, fed from the stage's running totals."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.counters = {
            "deliveries": Counter("gridwatch_sink_deliveries", "Alerts delivered", ["sink"],
                                  registry=registry),
            "failures": Counter("gridwatch_sink_delivery_failures", "Alerts given up on and "
                                "dead-lettered to gw.alerts.undelivered", ["sink"],
                                registry=registry),
            "retries": Counter("gridwatch_sink_retries", "Delivery attempts after the first",
                               ["sink"], registry=registry),
            "skipped": Counter("gridwatch_sink_skipped", "Alerts this sink's filters leave out",
                               ["sink"], registry=registry)}
        self.seen: dict[tuple[str, str], int] = {}

    def sync(self, sink: str, stats: Mapping[str, int]) -> None:
        """Add what ``stats`` grew by since the last call for this sink."""
        for field, name in FIELDS.items():
            now = int(stats.get(field, 0))
            grown = now - self.seen.get((sink, field), 0)
            if grown > 0:
                self.counters[name].labels(sink).inc(grown)
            self.seen[(sink, field)] = now


_shared: SinkMetrics | None = None


def sink_metrics() -> SinkMetrics:
    """The process's one set (the default registry rejects a second registration)."""
    global _shared
    if _shared is None:
        _shared = SinkMetrics()
    return _shared
