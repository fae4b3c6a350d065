"""Batched producing for the adapters: many small events, few Kafka messages.

Kafka and Faust costs are per message, and the contract lets an input
message be a JSON array, so adapters pack valid events into arrays of up to
``batch_max``, sent when full or when the oldest waited ``linger``. Dead
letters go one record each (key = stream), as the worker writes them.

:class:`Batcher` is the pure policy (the caller passes the clock);
:class:`KafkaSink` drives it from threads (MQTT callbacks, file import) with
kafka-python; :class:`AsyncSink` from the HTTP server's event loop, where a
request waits until its own events are acknowledged.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from config.models import KafkaSettings, Settings
from sinks.kafka import dead_letter_record


def received_at(settings: Settings) -> datetime:
    """Now, in the pipeline's display offset (dead letters carry it)."""
    from gridwatch.adapters.mapping import zone

    return datetime.now(zone(settings.pipeline.timezone))


Done = Callable[[], None]


@dataclass
class Batch:
    topic: str
    items: list[dict[str, Any]]
    started: float
    done: list[Done] = field(default_factory=list)  # run once Kafka acknowledged it

    def value(self) -> bytes:
        return orjson.dumps(self.items)


@dataclass
class Batcher:
    """Pending events per topic; full batches come back from :meth:`add`."""

    batch_max: int = 200
    linger_s: float = 0.05
    pending: dict[str, Batch] = field(default_factory=dict)

    def add(self, topic: str, item: dict[str, Any], now: float,
            done: Done | None = None) -> Batch | None:
        batch = self.pending.get(topic)
        if batch is None:
            batch = self.pending[topic] = Batch(topic, [], now)
        batch.items.append(item)
        if done is not None:
            batch.done.append(done)
        if len(batch.items) >= self.batch_max:
            return self.pending.pop(topic)
        return None

    def due(self, now: float) -> list[Batch]:
        """Batches whose first event has waited ``linger_s`` or more."""
        ready = [t for t, b in self.pending.items() if now - b.started >= self.linger_s]
        return [self.pending.pop(t) for t in ready]

    def drain(self) -> list[Batch]:
        batches, self.pending = list(self.pending.values()), {}
        return batches


class KafkaSink:
    """Thread-safe batched producer (kafka-python) with a linger thread.

    ``send`` blocks when the client's buffer is full, which slows the caller
    (an MQTT callback, a file reader) instead of losing events.
    """

    def __init__(self, kafka: KafkaSettings, batch_max: int = 200, linger_ms: int = 50,
                 producer: Any = None) -> None:
        from gridwatch.broker import kafka_python_config

        if producer is None:
            from kafka import KafkaProducer

            producer = KafkaProducer(**kafka_python_config(kafka), linger_ms=5, acks="all")
        self.producer = producer
        self.kafka = kafka
        self.batcher = Batcher(batch_max, linger_ms / 1000.0)
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="gw-linger", daemon=True)
        self._ticker.start()

    def events(self, stream: str, items: Iterable[dict[str, Any]],
               done: Done | None = None) -> None:
        """Queue valid contract messages of one stream; ``done`` runs once Kafka has
        acknowledged the batch holding the last of them (never, if sending fails)."""
        topic = self.kafka.topics.for_stream(stream)
        with self._lock:
            items = list(items)
            for i, item in enumerate(items):
                last = done if i == len(items) - 1 else None
                full = self.batcher.add(topic, item, time.monotonic(), last)
                if full is not None:
                    self._send(full)

    def dead(self, letters: Iterable[dict[str, Any]], done: Done | None = None) -> None:
        """Send dead letters now (they are rare, and each is its own record)."""
        with self._lock:
            letters = list(letters)
            for i, letter in enumerate(letters):
                key, value = dead_letter_record(letter)
                last = [done] if done is not None and i == len(letters) - 1 else []
                self._track(self.producer.send(self.kafka.topics.deadletter, key=key,
                                               value=value), "dead", 1, last)

    def _send(self, batch: Batch) -> None:
        # Key = topic, as the simulator does: one feed stays in time order on one
        # partition; the worker repartitions by grid on its work topic anyway.
        future = self.producer.send(batch.topic, key=batch.topic.encode(), value=batch.value())
        self._track(future, "accepted", len(batch.items), batch.done)
        self.counts["messages"] += 1

    def _track(self, future: Any, what: str, n: int = 1,
               done: list[Done] | tuple[Done, ...] = ()) -> None:
        def ok(_: Any) -> None:
            self.counts[what] += n
            for callback in done:
                callback()

        def failed(exc: BaseException) -> None:
            self.errors.append(f"{what}: {exc!r}")
        future.add_callback(ok)
        future.add_errback(failed)

    def _tick(self) -> None:
        period = max(self.batcher.linger_s / 2, 0.005)
        while not self._stop.wait(period):
            with self._lock:
                for batch in self.batcher.due(time.monotonic()):
                    self._send(batch)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Send every pending batch and wait for the broker's acknowledgements."""
        with self._lock:
            for batch in self.batcher.drain():
                self._send(batch)
        self.producer.flush(timeout=timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._ticker.join()
        self.flush(timeout_s)
        self.producer.close(timeout=5)


class Busy(Exception):
    """Too many events wait for Kafka: the client should retry after ``retry_after``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"busy, retry after {retry_after:g}s")
        self.retry_after = retry_after


SendFn = Callable[[str, bytes, bytes], Awaitable[Any]]


class AsyncSink:
    """Coalesces events from concurrent requests into array messages.

    :meth:`submit` returns once the broker acknowledged every batch holding
    the caller's events, or raises (:class:`Busy` when more than
    ``max_pending`` events are already waiting: bounded memory, and the
    client learns to slow down instead of timing out).
    """

    def __init__(self, send: SendFn, batch_max: int = 200, linger_s: float = 0.02,
                 max_pending: int = 10_000) -> None:
        self.send, self.batch_max, self.linger_s = send, batch_max, linger_s
        self.max_pending, self.in_flight = max_pending, 0
        self.pending: dict[str, tuple[list[dict[str, Any]], asyncio.Future[None]]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def submit(self, topic: str, items: list[dict[str, Any]]) -> None:
        if self.in_flight + len(items) > self.max_pending:
            raise Busy(1.0)
        self.in_flight += len(items)
        waits: list[asyncio.Future[None]] = []
        for item in items:
            if topic not in self.pending:
                future = asyncio.get_running_loop().create_future()
                self.pending[topic] = ([], future)
                asyncio.get_running_loop().call_later(self.linger_s, self._flush, topic, future)
            batch, future = self.pending[topic]
            batch.append(item)
            if not waits or waits[-1] is not future:
                waits.append(future)
            if len(batch) >= self.batch_max:
                self._flush(topic, future)
        await asyncio.gather(*waits)

    def _flush(self, topic: str, future: asyncio.Future[None]) -> None:
        entry = self.pending.get(topic)
        if entry is None or entry[1] is not future:
            return  # that batch was already sent when it filled up
        del self.pending[topic]
        task = asyncio.get_running_loop().create_task(self._send(topic, entry[0], future))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send(self, topic: str, items: list[dict[str, Any]],
                    future: asyncio.Future[None]) -> None:
        try:
            await self.send(topic, orjson.dumps(items), topic.encode())
            if not future.done():
                future.set_result(None)
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request
            if not future.done():
                future.set_exception(exc)
        finally:
            self.in_flight -= len(items)

    async def close(self) -> None:
        for topic, (_, future) in list(self.pending.items()):
            self._flush(topic, future)
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
