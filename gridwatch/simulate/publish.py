"""Publishing a city to Kafka at an accelerated clock.

Event time is mapped onto the wall clock at ``speed`` event-seconds per
wall-second (3600: an hour a second), so a live worker sees data arrive
roughly as it would in a real deployment, only faster. Consecutive events of
one stream are packed into JSON-array messages of at most ``batch_max``
(the contract allows arrays; Kafka and Faust costs are per message), and a
batch is flushed before every pause so nothing waits behind the clock.

With ``ordered`` (the default) each stream's messages carry the stream name
as key, so a topic's messages share one partition and arrive in time order;
without it the key is None and the client spreads them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

Event = tuple[str, dict[str, Any]]
DEFAULT_TOPICS = {"access": "gw.access", "iot": "gw.iot", "report": "gw.reports"}
MAX_SLEEP_S = 0.2
MIN_PAUSE_S = 0.05  # shorter waits are not worth a message each: keep batching


class Producer(Protocol):
    def send(self, topic: str, value: bytes, key: bytes | None = None) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...


@dataclass
class PublishStats:
    events: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    last_ts: str | None = None
    wall_s: float = 0.0
    stopped: bool = False


def iter_events(source: Path | str | Iterable[Event]) -> Iterator[Event]:
    """(stream, message) from a feed file, a city directory, or an iterable of pairs."""
    if not isinstance(source, (str, Path)):
        yield from source
        return
    path = Path(source)
    if path.is_dir():
        path = path / "feed.jsonl"
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                obj = orjson.loads(line)
                yield obj.pop("stream"), obj


class _Pacer:
    """Maps event time onto the wall clock; sleeps in short slices so ``stop`` is heard."""

    def __init__(self, speed: float, stop: threading.Event | None) -> None:
        self.speed, self.stop = speed, stop
        self.t0: float | None = None
        self.wall0 = time.monotonic()

    def due_in(self, t: float) -> float:
        if self.speed <= 0 or self.speed == float("inf"):
            return 0.0
        if self.t0 is None:
            self.t0, self.wall0 = t, time.monotonic()
        return self.wall0 + (t - self.t0) / self.speed - time.monotonic()

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; False if stopped meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.stop is not None and self.stop.wait(min(left, MAX_SLEEP_S)):
                return False
            if self.stop is None:
                time.sleep(min(left, MAX_SLEEP_S))
        return not (self.stop is not None and self.stop.is_set())


class _Batcher:
    """One pending batch per stream, sent when full, stale, or asked to."""

    def __init__(self, producer: Producer, topics: Mapping[str, str], batch_max: int,
                 max_skew_s: float, ordered: bool, stats: PublishStats) -> None:
        self.producer, self.topics, self.batch_max = producer, topics, max(1, batch_max)
        self.max_skew_s, self.ordered, self.stats = max_skew_s, ordered, stats
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.first: dict[str, float] = {}

    def add(self, stream: str, event: dict[str, Any], t: float) -> None:
        for other, t0 in list(self.first.items()):
            if t - t0 > self.max_skew_s:
                self.send(other)
        items = self.items.setdefault(stream, [])
        if not items:
            self.first[stream] = t
        items.append(event)
        if len(items) >= self.batch_max:
            self.send(stream)

    def send(self, stream: str) -> None:
        items = self.items.pop(stream, [])
        self.first.pop(stream, None)
        if items:
            key = stream.encode() if self.ordered else None
            self.producer.send(self.topics[stream], value=orjson.dumps(items), key=key)
            self.stats.messages[stream] += 1
            self.stats.events[stream] += len(items)

    def flush(self) -> None:
        for stream in sorted(self.items, key=lambda s: self.first.get(s, 0.0)):
            self.send(stream)


def kafka_producer(bootstrap: str, **config: Any) -> Producer:
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1, **config)


def publish(source: Path | str | Iterable[Event], bootstrap: str | None = None,
            topics: Mapping[str, str] | None = None, speed: float = 3600.0,
            batch_max: int = 100, stop: threading.Event | None = None,
            producer: Producer | None = None, ordered: bool = True,
            max_skew_s: float = 120.0) -> PublishStats:
    """Send a city's events to Kafka; ``speed`` <= 0 or inf sends as fast as possible.

    Either ``bootstrap`` (a kafka-python producer is made and closed here) or
    an existing ``producer`` is needed. Returns counts once the feed is
    exhausted or ``stop`` is set.
    """
    own = producer is None
    if producer is None:
        if not bootstrap:
            raise ValueError("publish needs bootstrap servers or a producer")
        producer = kafka_producer(bootstrap)
    stats = PublishStats()
    started = time.monotonic()
    batcher = _Batcher(producer, {**DEFAULT_TOPICS, **(topics or {})}, batch_max, max_skew_s,
                       ordered, stats)
    pacer = _Pacer(speed, stop)
    try:
        for stream, event in iter_events(source):
            if stop is not None and stop.is_set():
                stats.stopped = True
                break
            t = datetime.fromisoformat(event["ts"]).timestamp()
            delay = pacer.due_in(t)
            if delay > MIN_PAUSE_S:
                batcher.flush()
                if not pacer.wait(delay):
                    stats.stopped = True
                    break
            batcher.add(stream, event, t)
            stats.last_ts = event["ts"]
        batcher.flush()
        producer.flush()
    finally:
        if own:
            producer.close()  # type: ignore[attr-defined]
    stats.wall_s = time.monotonic() - started
    return stats
