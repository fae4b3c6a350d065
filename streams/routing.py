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
from gridwatch.events import Event


def partition_of(key: str, partitions: int) -> int:
    return zlib.crc32(key.encode()) % partitions


def owner(partition: int, partitions: int) -> Callable[[str], bool]:
    """The ``owns`` predicate of the engine serving ``partition``."""
    def owns(key: str) -> bool:
        return partition_of(key, partitions) == partition
    return owns


def split_by_partition(events: Iterable[Event], detectors: list[Detector],
                       partitions: int) -> dict[int, list[Event]]:
    """Group events by destination partition, each event once per partition."""
    out: dict[int, list[Event]] = {}
    for event in events:
        targets = {partition_of(k, partitions) for d in detectors
                   if (k := d.shard_key(event)) is not None}
        for p in targets:
            out.setdefault(p, []).append(event)
    return out
