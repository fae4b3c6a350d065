"""Checkpoint storage: snapshots chunked onto a compacted topic, or kept in memory."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import orjson

from config.models import Settings
from streams.partitions import Checkpoint

CHECKPOINT_CHUNK_BYTES = 512 * 1024


# ---------------------------------------------------------------- checkpoint storage
# A checkpoint is stored as consecutive chunk messages on the checkpoint topic's
# partition of the same number, key ``<partition>/<chunk>`` (a compacting broker
# keeps the latest version of each chunk). Each value is a JSON header line,
# a newline, then the chunk's bytes.


def checkpoint_records(ck: Checkpoint, chunk_bytes: int = CHECKPOINT_CHUNK_BYTES,
                       ck_id: str | None = None) -> list[tuple[bytes, bytes]]:
    """(key, value) chunk messages of one checkpoint, each under ``chunk_bytes`` + header."""
    ck_id = ck_id or uuid.uuid4().hex
    parts = [ck.blob[i:i + chunk_bytes] for i in range(0, len(ck.blob), chunk_bytes)] or [b""]
    out = []
    for index, part in enumerate(parts):
        header = orjson.dumps({"v": 1, "id": ck_id, "partition": ck.partition,
                               "offset": ck.offset, "chunk": index, "chunks": len(parts)})
        out.append((f"{ck.partition}/{index}".encode(), header + b"\n" + part))
    return out


def latest_checkpoint(values: Iterable[bytes | None]) -> Checkpoint | None:
    """The newest complete checkpoint among chunk messages in log order."""
    chunks: dict[str, dict[int, bytes]] = {}
    headers: dict[str, dict[str, Any]] = {}
    best: str | None = None
    for value in values:
        if not value:
            continue
        head, _, body = value.partition(b"\n")
        try:
            h = orjson.loads(head)
            ck_id, index, count = str(h["id"]), int(h["chunk"]), int(h["chunks"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        headers[ck_id] = h
        chunks.setdefault(ck_id, {})[index] = body
        if len(chunks[ck_id]) == count:
            best = ck_id
    if best is None:
        return None
    h, parts = headers[best], chunks[best]
    return Checkpoint(int(h["partition"]), int(h["offset"]),
                      b"".join(parts[i] for i in range(len(parts))))


class CheckpointStore(Protocol):
    async def save(self, ck: Checkpoint) -> None: ...

    async def load_many(self, partitions: Sequence[int]) -> dict[int, Checkpoint | None]: ...

    async def close(self) -> None: ...


class MemoryCheckpointStore:
    """Checkpoints in a dict: for tests, and for a worker that must not persist."""

    def __init__(self) -> None:
        self.saved: dict[int, Checkpoint] = {}

    async def save(self, ck: Checkpoint) -> None:
        self.saved[ck.partition] = ck

    async def load_many(self, partitions: Sequence[int]) -> dict[int, Checkpoint | None]:
        return {p: self.saved.get(p) for p in partitions}

    async def close(self) -> None:
        return None


SendFn = Callable[[int, bytes, bytes], Awaitable[Awaitable[Any]]]


class KafkaCheckpointStore:
    """Checkpoints on a Kafka topic: written through Faust's producer, read with aiokafka.

    ``send(partition, key, value)`` enqueues a message and returns an awaitable
    that completes on delivery; :meth:`save` returns only when every chunk is
    acknowledged, so offsets acknowledged after it are covered by durable state.
    Reading takes the tail of the partition (compaction is not assumed, Tansu
    does not apply it) and widens the window until a complete checkpoint shows.
    Offsets of all partitions are asked in one request (a ListOffsets round
    trip costs Tansu half a second).
    """

    def __init__(self, settings: Settings, topic: str, send: SendFn) -> None:
        self.settings = settings
        self.topic = topic
        self.send = send
        self._consumer: Any = None

    async def save(self, ck: Checkpoint) -> None:
        pending = [await self.send(ck.partition, key, value)
                   for key, value in checkpoint_records(ck)]
        await asyncio.gather(*pending)

    async def load_many(self, partitions: Sequence[int]) -> dict[int, Checkpoint | None]:
        from aiokafka import TopicPartition

        if not partitions:
            return {}
        consumer = await self._reader()
        tps = {p: TopicPartition(self.topic, p) for p in partitions}
        consumer.assign(list(tps.values()))
        begin = await consumer.beginning_offsets(list(tps.values()))
        end = await consumer.end_offsets(list(tps.values()))
        out: dict[int, Checkpoint | None] = {}
        for p, tp in tps.items():
            consumer.assign([tp])
            out[p] = await self._latest(consumer, tp, begin[tp], end[tp])
        return out

    async def _latest(self, consumer: Any, tp: Any, begin: int, end: int) -> Checkpoint | None:
        window = 16
        while True:
            start = max(begin, end - window)
            ck = latest_checkpoint(await self._read(consumer, tp, start, end))
            if ck is not None or start <= begin:
                return ck
            window *= 4

    async def _reader(self) -> Any:
        if self._consumer is None:
            from aiokafka import AIOKafkaConsumer

            from gridwatch.broker import aiokafka_config

            self._consumer = AIOKafkaConsumer(
                **aiokafka_config(self.settings.kafka), group_id=None,
                enable_auto_commit=False, auto_offset_reset="earliest")
            await self._consumer.start()
        return self._consumer

    @staticmethod
    async def _read(consumer: Any, tp: Any, start: int, end: int,
                    timeout_s: float = 30.0) -> list[bytes | None]:
        consumer.seek(tp, start)
        values: list[bytes | None] = []
        deadline = time.monotonic() + timeout_s
        while await consumer.position(tp) < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"checkpoint read of {tp} stalled")
            batch = await consumer.getmany(tp, timeout_ms=500)
            values.extend(m.value for m in batch.get(tp, ()) if m.offset < end)
        return values

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()
