"""Followed topics: every worker reads all of ``gw.registry`` (and others) outside
the consumer group, applying each record as it comes."""

from __future__ import annotations

import asyncio
import logging
import logging.config
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson

from config.models import Settings
from gridwatch.contract import dead_letter
from gridwatch.events import parse_tz
from gridwatch.registry import Registry, RegistryError

log = logging.getLogger(__name__)



# ---------------------------------------------------------------- followed topics

ApplyFn = Callable[[bytes | None, bytes | None, datetime], dict[str, Any] | None]


def apply_registry_value(registry: Registry, key: bytes | None, raw: bytes | None,
                         received_at: datetime) -> dict[str, Any] | None:
    """Apply one ``gw.registry`` message; returns a dead letter if it cannot be used.

    A null value with a ``table/id`` key is a Kafka tombstone and deletes the
    row, as a compacted topic's convention asks.
    """
    if raw is None:
        table, _, item_id = (key or b"").decode("utf-8", "replace").partition("/")
        record: Any = {"table": table, "id": item_id, "deleted": True}
        text = ""
    else:
        text = raw.decode("utf-8", "replace")
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return dead_letter("registry", text, f"message: invalid JSON ({exc})", received_at)
    if not isinstance(record, dict):
        return dead_letter("registry", text, "message: expected a JSON object", received_at)
    try:
        registry.apply_record(record, reindex=False)
    except (RegistryError, ValueError, TypeError) as exc:
        return dead_letter("registry", text, str(exc), received_at)
    return None


class TopicFollower:
    """Reads every partition of a topic from the start and keeps applying it.

    Every worker needs the whole registry (routing and rendering look up any
    id), so this is a plain reader outside the consumer group, as a Faust
    global table would be. ``ready`` is set once it has
    caught up with the end it saw at start; ``after_batch`` runs after each
    batch (the registry rebuilds its indexes once per batch, not per row).
    """

    def __init__(self, settings: Settings, topic: str, apply: ApplyFn,
                 on_dead: Callable[[dict[str, Any]], Awaitable[None]],
                 after_batch: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.topic = topic
        self.apply = apply
        self.on_dead = on_dead
        self.after_batch = after_batch
        self.tz = parse_tz(settings.pipeline.timezone)
        self.ready = asyncio.Event()
        self.applied = 0

    async def run(self) -> None:
        """Follow the topic until cancelled; a failure is logged and the reader restarted.

        A restart reads from the beginning again: applying a record twice is
        harmless (upserts and deletes are idempotent).
        """
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reference data must not stop the worker
                log.warning("reader of %s failed, restarting in 5 s: %r", self.topic, exc)
                await asyncio.sleep(5.0)

    async def _follow(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from gridwatch.broker import aiokafka_config

        consumer = AIOKafkaConsumer(**aiokafka_config(self.settings.kafka), group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            parts = await self._partitions(consumer)
            tps = [TopicPartition(self.topic, p) for p in parts]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            while True:
                # Checked before each wait for more, so an empty or already read topic
                # makes the worker ready at once, not after a getmany timeout.
                if not self.ready.is_set() and await self._caught_up(consumer, end):
                    log.info("%s: %d records applied", self.topic, self.applied)
                    self.ready.set()
                batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                await self._apply([m for msgs in batch.values() for m in msgs])
        finally:
            await consumer.stop()

    @staticmethod
    async def _caught_up(consumer: Any, end: dict[Any, int]) -> bool:
        for tp, offset in end.items():
            if await consumer.position(tp) < offset:
                return False
        return True

    async def _partitions(self, consumer: Any) -> list[int]:
        for _ in range(100):
            parts = consumer.partitions_for_topic(self.topic)
            if parts:
                return sorted(parts)
            await consumer._client.force_metadata_update()  # noqa: SLF001 - no public call
            await asyncio.sleep(0.1)
        raise RuntimeError(f"topic {self.topic} not found")

    async def _apply(self, messages: list[Any]) -> None:
        if not messages:
            return
        received_at = datetime.now(self.tz)
        for m in messages:
            letter = self.apply(m.key, m.value, received_at)
            if letter is not None:
                await self.on_dead(letter)
        if self.after_batch is not None:
            self.after_batch()
        self.applied += len(messages)
