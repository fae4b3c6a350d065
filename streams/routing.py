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


def by_stream(detectors: Iterable[Detector]) -> dict[str, list[Detector]]:
    """The detectors that look at each stream (``streams`` class attribute; all if
    absent), so nothing asks a meter-only detector about gate passes."""
    dets = list(detectors)
    return {s: [d for d in dets if s in getattr(d, "streams", STREAMS)] for s in STREAMS}


def split_by_partition(events: Iterable[Event], detectors: list[Detector],
                       partitions: int) -> dict[int, list[Event]]:
    """Group events by destination partition, each event once per partition."""
    out: dict[int, list[Event]] = {}
    per_stream = {stream: [d.shard_key for d in dets]  # bound once, asked per event
                  for stream, dets in by_stream(detectors).items()}
    known: dict[str, int] = {}
    for event in events:
        targets = set()
        for shard_key in per_stream[event.stream]:
            key = shard_key(event)
            if key is not None:
                p = known.get(key)
                if p is None:
                    p = known[key] = partition_of(key, partitions)
                targets.add(p)
        for p in targets:
            out.setdefault(p, []).append(event)
    return out
