"""Partitioning: which work partition owns which key.

Every detector names the key that owns the state an event touches
(:meth:`Detector.shard_key`, usually a grid id). The router sends each event
once to every partition that owns one of its keys; the engine on that
partition observes it only for the detectors whose key it owns. The hash is
ours (CRC-32), not the Kafka client's, so the router and the engines agree
whatever client library produced the message.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable

from detectors.base import Detector
from gridwatch.events import STREAMS, Event


def partition_of(key: str, partitions: int) -> int:
    return zlib.crc32(key.encode()) % partitions


KEY_CACHE = 100_000  # keys are mostly grid ids: a few thousand in a city


def owner(partition: int, partitions: int) -> Callable[[str], bool]:
    """The ``owns`` predicate of the engine serving ``partition`` (asked per event and
    detector, so answers are remembered)."""
    known: dict[str, bool] = {}

    def owns(key: str) -> bool:
        hit = known.get(key)
        if hit is None:
            if len(known) >= KEY_CACHE:
                known.clear()
            hit = known[key] = partition_of(key, partitions) == partition
        return hit
    return owns


def interest_of(detector: Detector) -> tuple[frozenset[str], frozenset[str] | None]:
    """The input streams a detector looks at (``streams``; all if absent) and the ``iot``
    metrics among them (``metrics``; ``None``: all), so nothing asks a meter-only detector
    about gate passes, nor a gas threshold about water readings."""
    return frozenset(getattr(detector, "streams", STREAMS)), getattr(detector, "metrics", None)


def wants(detector: Detector, stream: str, metric: str | None) -> bool:
    """Whether ``detector`` looks at events of ``stream`` (readings of ``metric``)."""
    streams, metrics = interest_of(detector)
    return stream in streams and (metrics is None or stream != "iot" or metric in metrics)


def split_by_partition(events: Iterable[Event], detectors: list[Detector],
                       partitions: int) -> dict[int, list[Event]]:
    """Group events by destination partition, each event once per partition."""
    out: dict[int, list[Event]] = {}
    asked: dict[tuple[str, str | None], list[Callable[[Event], str | None]]] = {}
    known: dict[str, int] = {}
    for event in events:
        what = (event.stream, getattr(event, "metric", None))
        shard_keys = asked.get(what)
        if shard_keys is None:  # bound once per stream and metric, asked per event
            shard_keys = asked[what] = [d.shard_key for d in detectors if wants(d, *what)]
        targets = set()
        for shard_key in shard_keys:
            key = shard_key(event)
            if key is not None:
                p = known.get(key)
                if p is None:
                    p = known[key] = partition_of(key, partitions)
                targets.add(p)
        for p in targets:
            out.setdefault(p, []).append(event)
    return out
