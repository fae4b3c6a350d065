"""Prometheus metrics of a live worker, counted per batch so the hot path stays cheap.

The worker calls :class:`WorkerMetrics` once per routed batch, once per batch
of alerts, around each work batch (detector timing, sampled) and from its
0.5 s timer (gauges). Every label is bounded: streams, detector families,
alert kinds and severities, partitions, and for dead letters the failing
field, never the free-text error (``docs/observability.md`` lists them all).

Each worker object gets its own :class:`prometheus_client.CollectorRegistry`,
so tests can build many workers in one process and read exact values.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector

from gridwatch.contract import INPUT_MODELS
from streams.detector_timing import DetectorSampler

REFRESH_EVERY_S = 5.0
REGISTRY_REASONS = frozenset({"message", "table", "row"})


def dead_reason(stream: str, error: str) -> str:
    """The bounded label of a dead letter: the first failing field, or its kind.

    >>> dead_reason("access", "direction: must be 'in' or 'out'")
    'direction'
    >>> dead_reason("iot", "message: invalid JSON (unexpected character)")
    'message'
    >>> dead_reason("iot", "p-00042 called 13800000000")  # free text never becomes a label
    'other'
    """
    head = error.split(":", 1)[0].split(";", 1)[0].strip()
    model = INPUT_MODELS.get(stream)
    known = set(model.model_fields) | {"message"} if model is not None else REGISTRY_REASONS
    return head if head in known else "other"


class WorkerMetrics:
    """The counters and gauges of one worker, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.clock = clock
        r = self.registry
        self.messages_in = Counter("gridwatch_input_messages", "Input messages read, per "
                                   "stream (one may hold a batch of events)", ["stream"],
                                   registry=r)
        self.events_in = Counter("gridwatch_events_in", "Valid input events routed, per "
                                 "stream", ["stream"], registry=r)
        self.dead = Counter("gridwatch_dead_letters", "Inputs dead-lettered, per stream and "
                            "failing field (or kind: message, other)", ["stream", "reason"],
                            registry=r)
        self.alerts = Counter("gridwatch_alerts", "Alert updates sent to gw.alerts",
                              ["kind", "severity", "status"], registry=r)
        self.muted = Counter("gridwatch_alerts_muted", "Alert updates muted by a silence or "
                             "inhibition", ["kind"], registry=r)
        self.episodes = Gauge("gridwatch_open_episodes", "Open alert episodes of this "
                              "worker's partitions", ["kind"], registry=r)
        self.wm_lag = Gauge("gridwatch_watermark_lag_seconds", "Wall clock minus the event-"
                            "time watermark, per work partition", ["partition"], registry=r)
        self.lag = Gauge("gridwatch_consumer_lag_messages", "Messages not yet read, per input "
                         "stream and partition", ["stream", "partition"], registry=r)
        self.detectors = DetectorSampler(r)
        ProcessCollector(registry=r)  # CPU, memory, open files of the worker
        self._refreshed = float("-inf")

    # ------------------------------------------------------------ per batch
    def routed(self, stream: str, messages: int, events: int,
               dead: Iterable[Mapping[str, Any]]) -> None:
        """One routed input batch: its messages, valid events and dead letters."""
        self.messages_in.labels(stream).inc(messages)
        if events:
            self.events_in.labels(stream).inc(events)
        self.dead_letters(dead)

    def dead_letters(self, dead: Iterable[Mapping[str, Any]]) -> None:
        """Count dead letters by (stream, reason), one ``inc`` per distinct pair."""
        tally = Tally((str(d.get("stream", "")), dead_reason(str(d.get("stream", "")),
                                                              str(d.get("error", ""))))
                      for d in dead)
        for (stream, reason), n in tally.items():
            self.dead.labels(stream, reason).inc(n)

    def sent(self, alerts: Iterable[Mapping[str, Any]],
             muted: Iterable[Mapping[str, Any]] = ()) -> None:
        """One batch of alert updates sent (and of updates muted)."""
        tally = Tally((str(a.get("kind")), str(a.get("severity") or "none"),
                       str(a.get("status"))) for a in alerts)
        for labels, n in tally.items():
            self.alerts.labels(*labels).inc(n)
        for kind, n in Tally(str(m.get("kind")) for m in muted).items():
            self.muted.labels(kind).inc(n)

    # ------------------------------------------------------------ gauges, from the timer
    def refresh(self, live: Any, force: bool = False) -> None:
        """Gauges from the worker's state, at most every few seconds (the timer runs at 2 Hz).

        Runs in the event loop, so the engines are not changing underneath.
        """
        now = self.clock()
        if not force and now - self._refreshed < REFRESH_EVERY_S:
            return
        self._refreshed = now
        self._episodes(live.work.states.values())
        self.wm_lag.clear()
        for partition, state in live.work.states.items():
            if state.engine.watermark > float("-inf"):
                self.wm_lag.labels(str(partition)).set(now - state.engine.watermark)
        self._consumer_lag(live.router.sources, live.highwater)

    def _episodes(self, states: Iterable[Any]) -> None:
        kinds = Tally(key[0] for s in states for key in s.engine.book.open)
        for labels in list(self.episodes._metrics):  # noqa: SLF001 - zero kinds that closed
            if labels[0] not in kinds:
                self.episodes.labels(*labels).set(0)
        for kind, n in kinds.items():
            self.episodes.labels(kind).set(n)

    def _consumer_lag(self, sources: Mapping[str, Any],
                      highwater: Callable[[str, int], int | None] | None) -> None:
        self.lag.clear()
        if highwater is None:
            return
        for name, source in list(sources.items()):
            stream, _, partition = name.rpartition("/")
            try:
                high = highwater(stream, int(partition))
            except Exception:  # noqa: BLE001, S112 - not known yet: no sample
                continue
            if high is not None:
                self.lag.labels(stream, partition).set(max(0, high - (source.offset + 1)))
