"""Detector time per event, per detector family, by sampling whole work batches.

Timing every ``observe`` call would cost two clock reads per event and
detector. Instead, at most one work batch per ``every_s`` wall seconds runs
with each engine's detectors swapped for timing proxies; the rest run the
detectors untouched. Seconds and events of the sampled batches are counters,
so ``rate(seconds) / rate(events)`` is the time per event; a gauge keeps the
latest sample's value for the board's detector health.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

SAMPLE_EVERY_S = 1.0


class TimedDetector:
    """Forwards to a detector and adds the time of ``observe`` and ``advance`` to ``spent``."""

    __slots__ = ("inner", "spent")

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.spent = 0.0

    def observe(self, event: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.inner.observe(event)
        finally:
            self.spent += time.perf_counter() - start

    def advance(self, watermark: float) -> Any:
        start = time.perf_counter()
        try:
            return self.inner.advance(watermark)
        finally:
            self.spent += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class DetectorSampler:
    """``begin(states)`` before a work batch and ``end(states)`` after it."""

    def __init__(self, registry: CollectorRegistry, every_s: float = SAMPLE_EVERY_S) -> None:
        self.every_s = every_s
        self.seconds = Counter("gridwatch_detector_seconds", "Detector time (observe + "
                               "advance) in sampled work batches", ["detector"],
                               registry=registry)
        self.events = Counter("gridwatch_detector_sampled_events", "Events processed in "
                              "sampled work batches", registry=registry)
        self.per_event = Gauge("gridwatch_detector_seconds_per_event", "Detector time per "
                               "event in the latest sampled batch", ["detector"],
                               registry=registry)
        self.latest: dict[str, float] = {}  # detector → seconds per event, latest sample
        self.last = float("-inf")
        self.active = False
        self._events_before = 0

    def begin(self, states: Iterable[Any]) -> None:
        """Swap in timing proxies if a sample is due (cheap no-op otherwise)."""
        now = time.monotonic()
        if self.active or now - self.last < self.every_s:
            return
        self.last, self.active = now, True
        engines = [s.engine for s in states]
        for engine in engines:
            engine.use_detectors([TimedDetector(d) for d in engine.detectors])
        self._events_before = sum(e.stats.get("events", 0) for e in engines)

    def end(self, states: Iterable[Any]) -> None:
        """Put the detectors back and publish the sample (engines opened meanwhile: as is)."""
        if not self.active:
            return
        self.active = False
        spent: dict[str, float] = {}
        events = 0
        for state in states:
            engine = state.engine
            events += engine.stats.get("events", 0)
            if engine.detectors and isinstance(engine.detectors[0], TimedDetector):
                for proxy in engine.detectors:
                    spent[proxy.name] = spent.get(proxy.name, 0.0) + proxy.spent
                engine.use_detectors([p.inner for p in engine.detectors])
        events -= self._events_before
        self._publish(spent, events)

    def _publish(self, spent: dict[str, float], events: int) -> None:
        if events <= 0:
            return  # a batch of heartbeats says nothing about time per event
        self.events.inc(events)
        for name, seconds in spent.items():
            self.seconds.labels(name).inc(seconds)
            self.per_event.labels(name).set(seconds / events)
            self.latest[name] = seconds / events
