"""The live worker's logic: router, partition engines, event-time alignment, checkpoints.

``streams/app.py`` declares the Faust app (topics, agents, timers) and calls
into :class:`LiveWorker`; everything here is plain Python around the pure
:class:`streams.engine.Engine`, so it is tested without a broker.

Data flow (docs/partitioning.md has the why)::

    gw.access / gw.iot / gw.reports ──router──► gw.work[p] ──engine p──► gw.alerts
                  └─ rejected elements ──────► gw.deadletter

* The router validates every element of every message (a bad one is a dead
  letter, the rest go on), groups the events by the work partition owning each
  detector's shard key, and sends one compact batch per partition. Costs are
  per batch, not per event.
* Watermarks: each input partition (a *source*) is read in its own order, and
  the router agents of the three topics run independently, so one stream can
  run hours of event time ahead of another (a catch-up after downtime, an
  accelerated simulation). Every work message therefore carries the router's
  newest event time per active source; a work partition buffers events and
  feeds its engine in event-time order up to the slowest active source (the
  min), so a stream that is behind never looks silent. A source silent for
  ``idle_advance_s`` stops holding others back. When no data arrives at all,
  idle advance moves the watermark with the wall clock.
* Offsets of ``gw.work`` are acknowledged to Faust only once a checkpoint
  covering them is saved, so the committed offset never passes the state we
  could restore: after a crash the engine resumes from its checkpoint, Kafka
  redelivers what came after, and the engine's event-id memory drops what it
  had already seen (at-least-once, idempotent output).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import logging
import logging.config
import math
import pickle
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from config.models import Settings, load_settings
from detectors.base import Detector
from detectors.catalog import build_detectors
from gridwatch.contract import INPUT_MODELS, dead_letter, describe, parse_message
from gridwatch.events import Access, Event, Iot, Report, parse_tz
from gridwatch.registry import Registry, RegistryError
from sinks.kafka import alert_record, dead_letter_record
from streams.engine import Engine
from streams.metrics import WorkerMetrics
from streams.routing import owner, split_by_partition

log = logging.getLogger(__name__)

MAX_WORK_BYTES = 512 * 1024  # well under Kafka's default 1 MB message limit
CHECKPOINT_CHUNK_BYTES = 512 * 1024
CHECKPOINT_EVERY_S = 10.0
HEARTBEAT_EVERY_S = 1.0
ROUTER_TIMEOUT_S = 3.0  # a router 3 heartbeats behind the newest one is gone
# A source that changes hands (rebalance, a worker stopped) keeps holding event time
# at its last routed time until its new owner reports it, for at most this long.
HANDOVER_S = 30.0
MAX_BUFFERED = 200_000  # events a work partition holds back at most (then: oldest go)
REGISTRY_WAIT_S = 15.0
NEG_INF = float("-inf")
INF = float("inf")

# ---------------------------------------------------------------- work messages
# {"r": "<router id>", "w": <router's wall clock when sent>,
#  "src": {"<stream>/<input partition>": <newest event time> | null},
#  "events": [[code, field, …], …]}
# A row is the event's dataclass fields in declaration order after a one-letter
# stream code: compact, and no timestamps to parse again. ``src`` lists the
# router's active sources; null = assigned but nothing read yet.

_CODE = {"access": "a", "iot": "i", "report": "r"}
_CLASS: dict[str, type[Access] | type[Iot] | type[Report]] = {
    "a": Access, "i": Iot, "r": Report}
_FIELDS = {cls.stream: attrgetter(*cls.__slots__) for cls in (Access, Iot, Report)}

Sources = Mapping[str, float | None]


@dataclass(frozen=True)
class WorkMessage:
    """A decoded ``gw.work`` message."""

    router: str
    sources: dict[str, float | None]
    events: list[Event]
    sent_at: float = 0.0


def encode_work(router: str, sources: Sources, events: Sequence[Event],
                sent_at: float = 0.0) -> bytes:
    """One work message: who sent it and when, its sources' event times, the events."""
    rows = [(_CODE[e.stream], *_FIELDS[e.stream](e)) for e in events]
    return orjson.dumps({"r": router, "w": sent_at, "src": sources, "events": rows})


def encode_work_chunks(router: str, sources: Sources, events: Sequence[Event],
                       sent_at: float = 0.0, max_bytes: int = MAX_WORK_BYTES,
                       earlier: Sources | None = None) -> list[bytes]:
    """Like :func:`encode_work`, split in halves until every message fits ``max_bytes``.

    Only the last piece may claim ``sources``: the others carry ``earlier`` (the
    source times before this batch), since a claim read before the rest of the
    batch arrives would release events ahead of the ones still on their way.
    """
    pieces = _pieces(events, max_bytes, lambda part: encode_work(router, sources, part,
                                                                  sent_at))
    if len(pieces) == 1:
        return [encode_work(router, sources, pieces[0], sent_at)]
    early = earlier if earlier is not None else {name: None for name in sources}
    return [encode_work(router, early, part, sent_at) for part in pieces[:-1]] + [
        encode_work(router, sources, pieces[-1], sent_at)]


def _pieces(events: Sequence[Event], max_bytes: int,
            encode: Callable[[Sequence[Event]], bytes]) -> list[Sequence[Event]]:
    if len(events) <= 1 or len(encode(events)) <= max_bytes:
        return [events]
    half = len(events) // 2
    return _pieces(events[:half], max_bytes, encode) + _pieces(events[half:], max_bytes, encode)


def decode_work(raw: bytes) -> WorkMessage:
    """Back from bytes to a :class:`WorkMessage`; raises ``ValueError`` if corrupt."""
    try:
        data = orjson.loads(raw)
        events: list[Event] = [_CLASS[row[0]](*row[1:]) for row in data.get("events") or ()]
        sources = {str(k): (None if v is None else float(v))
                   for k, v in (data.get("src") or {}).items()}
        return WorkMessage(str(data.get("r", "")), sources, events, float(data.get("w") or 0))
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, IndexError,
            ValueError) as exc:
        raise ValueError(f"corrupt work message: {type(exc).__name__}") from None


# ---------------------------------------------------------------- input decoding


def decode_input(stream: str, raw: bytes | None,
                 received_at: datetime) -> tuple[list[Event], list[dict[str, Any]]]:
    """Validate one input message; never raises, whatever the bytes.

    A null value is a dead letter of its own. Should the fast parser trip on
    an odd shape (it raised ``TypeError`` on unhashable values), every element
    is validated again by the pydantic model alone, which explains the reject.
    """
    if raw is None:
        return [], [dead_letter(stream, "", "message: empty value (null)", received_at)]
    try:
        return parse_message(stream, raw, received_at)
    except Exception:  # noqa: BLE001 - the contract says: keep going, dead-letter it
        return _validate_each(stream, raw, received_at)


def _validate_each(stream: str, raw: bytes,
                   received_at: datetime) -> tuple[list[Event], list[dict[str, Any]]]:
    data = orjson.loads(raw)  # parse_message already got past this
    items = data if isinstance(data, list) else [data]
    events: list[Event] = []
    dead: list[dict[str, Any]] = []
    for item in items:
        item_raw = orjson.dumps(item).decode() if isinstance(data, list) else \
            raw.decode("utf-8", "replace")
        if not isinstance(item, dict):
            error = f"message: expected a JSON object, got {type(item).__name__}"
            dead.append(dead_letter(stream, item_raw, error, received_at))
            continue
        try:
            events.append(INPUT_MODELS[stream].model_validate(item).to_event())
        except ValidationError as exc:
            dead.append(dead_letter(stream, item_raw, describe(exc), received_at))
    return events, dead


# ---------------------------------------------------------------- router


@dataclass
class Routed:
    """What one input batch becomes: work messages by partition, and dead letters."""

    work: list[tuple[int, bytes]]
    dead: list[dict[str, Any]]


@dataclass
class Source:
    """One input partition as the router sees it: newest event time, last offset and
    when (wall clock) a message last came from it."""

    max_t: float = NEG_INF
    last_seen: float = 0.0
    offset: int = -1
    baseline: int | None = None  # highwater first seen while nothing was read yet


HighwaterFn = Callable[[str, int], "int | None"]


class Router:
    """Validates input batches, repartitions the events by shard key, tracks sources.

    A source is active — it holds event time back — while it has unread
    messages (its highwater is past the last offset routed: a backlog, e.g.
    after downtime, or a sparse or newly started source whose data is about to
    be read) or sent something within ``idle_advance_s`` wall seconds (or was
    just assigned). :meth:`heartbeats` carries the source times to
    partitions that got nothing lately, so a quiet partition's event time moves.
    """

    def __init__(self, settings: Settings, registry: Registry,
                 detectors: list[Detector] | None = None, router_id: str | None = None,
                 highwater: HighwaterFn | None = None) -> None:
        self.id = router_id or uuid.uuid4().hex[:12]
        self.partitions = settings.kafka.partitions
        self.lateness = settings.pipeline.allowed_lateness_s
        self.idle_s = settings.pipeline.idle_advance_s
        self.tz = parse_tz(settings.pipeline.timezone)
        self.registry = registry
        self.detectors = detectors if detectors is not None else build_detectors(
            settings.detectors, registry)
        self.highwater = highwater
        self.sources: dict[str, Source] = {}
        self.handed: dict[str, tuple[float, float]] = {}  # revoked: (newest time, when)
        self.last_sent: dict[int, float] = {}
        self.stats = {"messages": 0, "events": 0, "dead": 0, "work": 0}

    def reconfigure(self, settings: Settings) -> None:
        """Shard keys may depend on what is enabled: ask the reloaded detectors."""
        self.detectors = build_detectors(settings.detectors, self.registry)

    def assign(self, sources: Iterable[str], now: float) -> None:
        """Input partitions just assigned: active (holding time back) until idle."""
        for name in sources:
            self.handed.pop(name, None)
            self.sources.setdefault(name, Source()).last_seen = now

    def revoke(self, sources: Iterable[str], now: float | None = None) -> None:
        """Input partitions taken away. With ``now``, each one that was active keeps
        being reported at its newest routed time for ``HANDOVER_S``: in a rebalance
        every router gives up its sources before any gets them back, and a work
        partition hearing of no active source at all would take it for "no data on
        its way" and release everything it buffered, ahead of the events the new
        owner has yet to route (they would then arrive late)."""
        active = self.active(now) if now is not None else {}
        for name in sources:
            self.sources.pop(name, None)
            t = active.get(name)
            if now is not None and t is not None:
                self.handed[name] = (t, now)

    def active(self, now: float) -> dict[str, float | None]:
        """Active sources and their newest event time (None: nothing read yet), and
        sources handed over lately at the time they were handed over at."""
        out: dict[str, float | None] = {
            name: (s.max_t if s.max_t > NEG_INF else None)
            for name, s in self.sources.items()
            if now - s.last_seen <= self.idle_s or self._backlog(name, s)}
        for name, (t, since) in list(self.handed.items()):
            if now - since > HANDOVER_S:
                del self.handed[name]
            elif name not in out:
                out[name] = t
        return out

    def _backlog(self, name: str, source: Source) -> bool:
        """Messages are waiting: the highwater is past the last offset routed, or, for a
        source not read yet, has grown since first seen (data began to arrive)."""
        if self.highwater is None:
            return False
        stream, _, partition = name.rpartition("/")
        try:
            high = self.highwater(stream, int(partition))
        except Exception:  # noqa: BLE001 - unknown yet: judge by the wall clock alone
            return False
        if high is None:
            return False
        if source.offset < 0:
            if source.baseline is None:
                source.baseline = high
            return high > source.baseline
        return source.offset + 1 < high

    def route(self, stream: str, messages: Iterable[tuple[int, int, bytes | None]],
              now: float) -> Routed:
        """Validate a batch of (input partition, offset, value) of one stream and split it."""
        received_at = datetime.now(self.tz)
        earlier = self.active(now)
        events: list[Event] = []
        dead: list[dict[str, Any]] = []
        for partition, offset, raw in messages:
            self.stats["messages"] += 1
            good, bad = decode_input(stream, raw, received_at)
            source = self.sources.setdefault(f"{stream}/{partition}", Source())
            source.last_seen = now
            source.offset = max(source.offset, offset)
            for event in good:
                if event.t > source.max_t:
                    source.max_t = event.t
            events.extend(good)
            dead.extend(bad)
        self.stats["events"] += len(events)
        self.stats["dead"] += len(dead)
        active = self.active(now)
        earlier = {name: earlier.get(name) for name in active}
        work = [(p, chunk)
                for p, part in sorted(split_by_partition(events, self.detectors,
                                                         self.partitions).items())
                for chunk in encode_work_chunks(self.id, active, part, now, earlier=earlier)]
        for p, _ in work:
            self.last_sent[p] = now
        self.stats["work"] += len(work)
        return Routed(work, dead)

    def heartbeats(self, now: float) -> list[tuple[int, bytes]]:
        """Source times for the partitions that received nothing for a second."""
        quiet = [p for p in range(self.partitions)
                 if now - self.last_sent.get(p, NEG_INF) >= HEARTBEAT_EVERY_S]
        beat = encode_work(self.id, self.active(now), (), now)
        for p in quiet:
            self.last_sent[p] = now
        self.stats["work"] += len(quiet)
        return [(p, beat) for p in quiet]


# ---------------------------------------------------------------- partition engines


@dataclass(frozen=True)
class Checkpoint:
    """A partition snapshot and the last ``gw.work`` offset it includes."""

    partition: int
    offset: int
    blob: bytes


@dataclass
class PartitionState:
    """One work partition: its engine, the events held back, and the bookkeeping.

    ``buffer`` is a heap of (t, n, event) waiting for the slowest source;
    ``routers`` the latest source times each router reported, with its send time;
    ``orphans`` the sources of routers gone silent (a stopped worker), held at their
    last time until another router reports them; ``base_wm`` the watermark data
    justified (idle advance adds to it).
    """

    engine: Engine
    offset: int = -1
    base_wm: float = NEG_INF
    last_input: float = 0.0
    last_checkpoint: float = 0.0
    dirty: bool = False
    buffer: list[tuple[float, int, Event]] = field(default_factory=list)
    seq: int = 0
    routers: dict[str, tuple[dict[str, float | None], float]] = field(default_factory=dict)
    orphans: dict[str, tuple[float, float]] = field(default_factory=dict)

    def snapshot(self) -> bytes:
        return pickle.dumps({"engine": self.engine.snapshot(), "buffer": self.buffer,
                             "seq": self.seq}, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, blob: bytes) -> None:
        state = pickle.loads(blob)
        self.engine.restore(state["engine"])
        self.buffer, self.seq = state["buffer"], state["seq"]
        self.base_wm = self.engine.watermark


EngineFactory = Callable[[int], Engine]


class WorkProcessor:
    """The engines of the work partitions this worker owns (no I/O, clock injected)."""

    def __init__(self, settings: Settings, registry: Registry,
                 clock: Callable[[], float] = time.monotonic,
                 engine_factory: EngineFactory | None = None) -> None:
        self.settings = settings
        self.registry = registry
        self.clock = clock
        self.partitions = settings.kafka.partitions
        self.lateness = settings.pipeline.allowed_lateness_s
        self.idle_s = settings.pipeline.idle_advance_s
        self.router_timeout = max(ROUTER_TIMEOUT_S, self.idle_s)
        self.engine_factory = engine_factory or self._engine
        self.states: dict[int, PartitionState] = {}
        self.stats = {"messages": 0, "events": 0, "alerts": 0, "corrupt": 0}

    def _engine(self, partition: int) -> Engine:
        return Engine(self.settings, self.registry, owns=owner(partition, self.partitions))

    def has(self, partition: int) -> bool:
        return partition in self.states

    def reconfigure(self, settings: Settings) -> None:
        """New thresholds for every open engine and for the partitions opened later."""
        self.settings = settings
        for state in self.states.values():
            state.engine.reconfigure(settings)

    def open(self, partition: int, checkpoint: Checkpoint | None) -> PartitionState:
        """Start serving a partition, from its checkpoint if there is one."""
        now = self.clock()
        engine = self.engine_factory(partition)
        if engine.settings is not self.settings:  # a reload happened since start
            engine.reconfigure(self.settings)
        state = PartitionState(engine, last_input=now, last_checkpoint=now)
        if checkpoint is not None:
            state.restore(checkpoint.blob)
            state.offset = checkpoint.offset
        self.states[partition] = state
        return state

    def close(self, partition: int) -> PartitionState | None:
        return self.states.pop(partition, None)

    def handle(self, partition: int, offset: int, raw: bytes | None) -> list[dict[str, Any]]:
        """Take one work message: buffer its events, release what is due; returns alerts."""
        state = self.states[partition]
        self.stats["messages"] += 1
        state.offset = offset
        try:
            msg = decode_work(raw or b"")
        except ValueError:
            self.stats["corrupt"] += 1
            log.warning("skipped a corrupt work message (partition %d, offset %d)",
                        partition, offset)
            return []
        now = self.clock()
        self._heard(state, msg)
        for event in msg.events:
            heapq.heappush(state.buffer, (event.t, state.seq, event))
            state.seq += 1
        before = state.base_wm
        alerts, released = self._release(state)
        if msg.events or state.base_wm > before:
            state.last_input = now
        if msg.events or released or alerts:
            state.dirty = True
        self.stats["events"] += len(msg.events)
        self.stats["alerts"] += len(alerts)
        return alerts

    def _heard(self, state: PartitionState, msg: WorkMessage) -> None:
        """Keep each router's latest report; forget routers that stopped sending.

        Liveness is judged on the routers' own send times, never on when this
        worker happens to read the messages: a worker that lags behind on
        ``gw.work`` must not take a slow read for a dead router.
        """
        state.routers[msg.router] = (msg.sources, msg.sent_at)
        latest = max(sent for _, sent in state.routers.values())
        for router, (sources, sent) in list(state.routers.items()):
            if latest - sent > self.router_timeout:
                del state.routers[router]
                # Its sources were still active: until their new owner reports them
                # (within HANDOVER_S), events up to their last time are all we have.
                state.orphans.update({name: (t, sent) for name, t in sources.items()
                                      if t is not None})
        if state.orphans:
            reported = {name for sources, _ in state.routers.values() for name in sources}
            for name, (_, since) in list(state.orphans.items()):
                if name in reported or latest - since > HANDOVER_S:
                    del state.orphans[name]

    @staticmethod
    def bound(state: PartitionState) -> float | None:
        """Event time up to which every active source has been read (None: wait).

        The min over sources of the newest event time the live routers reported
        (and the last time of orphaned sources); +inf when there is no active
        source (no data is on its way). Before any router is heard (just opened)
        it waits.
        """
        if not state.routers:
            return None
        newest: dict[str, float] = {name: t for name, (t, _) in state.orphans.items()}
        for sources, _ in state.routers.values():
            for name, t in sources.items():
                newest[name] = max(newest.get(name, NEG_INF), NEG_INF if t is None else t)
        return min(newest.values()) if newest else INF

    def _release(self, state: PartitionState) -> tuple[list[dict[str, Any]], int]:
        """Feed the engine, in time order, the buffered events every source has passed."""
        bound = self.bound(state)
        if bound is None:
            return [], 0
        ready: list[Event] = []
        buffer = state.buffer
        while buffer and (buffer[0][0] <= bound or len(buffer) > MAX_BUFFERED):
            ready.append(heapq.heappop(buffer)[2])
        engine = state.engine
        alerts = engine.process(ready) if ready else []
        if math.isfinite(bound):
            alerts.extend(engine.advance(bound - self.lateness))
            state.base_wm = max(state.base_wm, bound - self.lateness)
        state.base_wm = max(state.base_wm, engine.watermark)
        return alerts, len(ready)

    def tick(self) -> list[dict[str, Any]]:
        """Idle advance, run by a timer.

        When the routers report no active source at all (no data on its way)
        and a partition had no input for ``idle_advance_s``, its watermark
        follows the wall clock — ``base_wm`` plus the wall seconds since it
        went idle — so silence-based detectors fire live when nothing arrives.
        """
        now = self.clock()
        out: list[dict[str, Any]] = []
        for state in self.states.values():
            idle_for = now - state.last_input - self.idle_s
            if idle_for <= 0 or state.base_wm == NEG_INF or state.buffer or \
                    self.bound(state) != INF:
                continue
            alerts = state.engine.advance(state.base_wm + idle_for)
            if alerts:
                state.dirty = True
                out.extend(alerts)
        self.stats["alerts"] += len(out)
        return out

    def due(self, every_s: float) -> list[int]:
        """Partitions with unsaved changes whose last checkpoint is ``every_s`` old."""
        now = self.clock()
        return [p for p, s in self.states.items()
                if s.dirty and now - s.last_checkpoint >= every_s]

    def checkpoint(self, partition: int) -> Checkpoint:
        """Snapshot a partition now; it counts as clean until it changes again."""
        state = self.states[partition]
        state.dirty = False
        state.last_checkpoint = self.clock()
        return Checkpoint(partition, state.offset, state.snapshot())

    def take_muted(self) -> list[dict[str, Any]]:
        """Updates the engines muted (silences, inhibition), for ``gw.alerts.muted``."""
        out: list[dict[str, Any]] = []
        for state in self.states.values():
            take = getattr(state.engine, "take_muted", None)
            if take is not None:
                out.extend(take())
        return out


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


# ---------------------------------------------------------------- the live worker


class Outputs(Protocol):
    """Where the worker's messages go (Faust topics live, mocks in tests)."""

    async def work(self, partition: int, value: bytes) -> None: ...

    async def alert(self, key: bytes, value: bytes) -> None: ...

    async def muted(self, key: bytes, value: bytes) -> None: ...

    async def dead(self, key: bytes, value: bytes) -> None: ...


AckFn = Callable[[Any], Awaitable[Any]]


@dataclass
class WorkItem:
    """One message of ``gw.work`` as the work agent hands it over; ``token`` is acked."""

    partition: int
    offset: int
    value: bytes | None
    token: Any = None


@dataclass
class LiveWorker:
    """Async glue between the Faust app and the router, engines and checkpoint store."""

    settings: Settings
    registry: Registry
    outputs: Outputs
    store: CheckpointStore
    clock: Callable[[], float] = time.time  # wall clock: routers compare send times
    checkpoint_every_s: float = CHECKPOINT_EVERY_S
    engine_factory: EngineFactory | None = None
    highwater: HighwaterFn | None = None
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
    router: Router = field(init=False)
    work: WorkProcessor = field(init=False)
    assigned: set[int] | None = field(default=None, init=False)
    pending: dict[int, list[Any]] = field(default_factory=dict, init=False)
    ready: asyncio.Event | None = field(default=None, init=False)
    _open_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _route_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        self.router = Router(self.settings, self.registry, highwater=self.highwater)
        self.work = WorkProcessor(self.settings, self.registry, self.clock,
                                  self.engine_factory)

    # ------------------------------------------------------------ router side
    async def route(self, stream: str,
                    messages: Sequence[tuple[int, int, bytes | None]]) -> None:
        """Route a batch of (input partition, offset, value) of one stream."""
        if self.ready is not None and not self.ready.is_set():
            # Route with the registry topic applied, or give up waiting after a while.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), REGISTRY_WAIT_S)
            self.ready = None
        # One batch at a time, sends included: a work message claiming "iot/0 has
        # reached t" must not overtake the events up to t it promises (the three
        # router agents and the heartbeat share the router and the producer).
        async with self._route_lock:
            events_before = self.router.stats["events"]
            routed = self.router.route(stream, messages, self.clock())
            for partition, value in routed.work:
                await self.outputs.work(partition, value)
        self.metrics.routed(stream, len(messages), self.router.stats["events"] - events_before,
                            routed.dead)
        for letter in routed.dead:
            await self.outputs.dead(*dead_letter_record(letter))

    async def heartbeat(self) -> None:
        async with self._route_lock:
            for partition, value in self.router.heartbeats(self.clock()):
                await self.outputs.work(partition, value)

    # ------------------------------------------------------------ work side
    async def ensure(self, partition: int) -> None:
        """Open a partition's engine from its checkpoint, once (concurrent callers wait)."""
        if not self.work.has(partition):
            await self._open([partition])

    async def _open(self, partitions: Sequence[int]) -> None:
        async with self._open_lock:
            missing = [p for p in partitions if not self.work.has(p)]
            for p, ck in (await self.store.load_many(missing)).items():
                self.work.open(p, ck)
                log.info("work partition %d opened from %s", p,
                         f"checkpoint at offset {ck.offset}" if ck else "scratch",
                         extra={"partition": p})

    async def on_work(self, items: Sequence[WorkItem], ack: AckFn) -> None:
        """Process a batch of work messages, send the alerts, checkpoint what is due.

        A message that changed state stays unacknowledged until a checkpoint
        covers it; one that changed nothing is acknowledged at once.
        """
        alerts: list[dict[str, Any]] = []
        clean: list[Any] = []
        self.metrics.detectors.begin(self.work.states.values())
        for item in items:
            if self.assigned is not None and item.partition not in self.assigned:
                continue  # revoked meanwhile: its new owner gets it again
            await self.ensure(item.partition)
            alerts.extend(self.work.handle(item.partition, item.offset, item.value))
            if self.work.states[item.partition].dirty:
                self.pending.setdefault(item.partition, []).append(item.token)
            else:
                clean.append(item.token)
        self.metrics.detectors.end(self.work.states.values())
        await self._send_alerts(alerts)
        for token in clean:
            await ack(token)
        for partition in self.work.due(self.checkpoint_every_s):
            if await self._checkpoint(partition):
                for token in self.pending.pop(partition, ()):
                    await ack(token)

    async def tick(self) -> None:
        await self._send_alerts(self.work.tick())
        self.metrics.refresh(self)

    def log_stats(self) -> None:
        """Counts for operators and for bench/bench_live.py: router in, work done."""
        log.info("stats: router %s work %s", self.router.stats, self.work.stats)

    def reconfigure(self, settings: Settings) -> None:
        """Hot reload (:mod:`streams.reload`): between batches, so no event is lost."""
        self.settings = settings
        self.router.reconfigure(settings)
        self.work.reconfigure(settings)

    async def _send_alerts(self, alerts: list[dict[str, Any]]) -> None:
        for alert in alerts:
            await self.outputs.alert(*alert_record(alert))
        muted = self.work.take_muted()
        for update in muted:
            await self.outputs.muted(*alert_record(update))
        self.metrics.sent(alerts, muted)

    async def _checkpoint(self, partition: int) -> bool:
        ck = self.work.checkpoint(partition)
        try:
            await self.store.save(ck)
        except Exception as exc:  # noqa: BLE001 - keep serving; retry at the next due time
            self.work.states[partition].dirty = True
            log.warning("checkpoint of work partition %d failed: %r", partition, exc,
                        extra={"partition": partition})
            return False
        return True

    # ------------------------------------------------------------ rebalance, shutdown
    async def on_assigned(self, work: set[int], sources: set[str]) -> None:
        """Input sources start holding event time back; work partitions open from checkpoints."""
        log.info("assigned work partitions %s and %d input partitions", sorted(work),
                 len(sources))
        self.router.assign(sources, self.clock())
        self.assigned = set(work)
        await self._open(sorted(work))

    async def on_revoked(self, work: set[int], sources: set[str]) -> None:
        """Save and drop revoked partitions; their unacked messages go to the new owner."""
        self.router.revoke(sources, self.clock())
        if self.assigned is not None:
            self.assigned -= work
        for partition in sorted(work):
            if self.work.has(partition):
                if self.work.states[partition].dirty:
                    await self._checkpoint(partition)
                self.work.close(partition)
            self.pending.pop(partition, None)

    async def shutdown(self) -> None:
        """Checkpoint every partition with unsaved changes, then close the store."""
        for partition in sorted(self.work.states):
            if self.work.states[partition].dirty:
                await self._checkpoint(partition)
        await self.store.close()
        late = sum(s.engine.stats.get("late", 0) for s in self.work.states.values())
        log.info("worker stopped: router %s, work %s, late events %d", self.router.stats,
                 self.work.stats, late)


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
                batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                await self._apply([m for msgs in batch.values() for m in msgs])
                if not self.ready.is_set() and await self._caught_up(consumer, end):
                    log.info("%s: %d records applied", self.topic, self.applied)
                    self.ready.set()
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


# ---------------------------------------------------------------- command


def worker_settings(config: str | None, bootstrap: str | None) -> Settings:
    """Settings from ``--config`` (and the environment), ``--bootstrap`` on top."""
    settings = load_settings(config)
    if bootstrap:
        kafka = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})
        settings = settings.model_copy(update={"kafka": kafka})
    return settings


def logging_config() -> dict[str, Any]:
    """Warnings only from Faust, aiokafka and kafka-python (Faust would leave the root
    logger at DEBUG); our own lines at INFO: counts and partitions, never event
    contents, which hold personal data. A fresh dict each time: dictConfig consumes it."""
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {name: {"level": "INFO"} for name in ("streams", "gridwatch", "sinks")},
    }


def worker_command(args: argparse.Namespace) -> int:
    """``gridwatch worker``: create the topics if missing, then run the Faust worker."""
    import faust

    from gridwatch.broker import BrokerError, ensure_topics
    from gridwatch.jsonlog import use_json
    from sinks.topics import ensure_alert_topics
    from streams.app import create_app

    settings = worker_settings(args.config, args.bootstrap)
    if not settings.kafka.bootstrap_servers:
        print("error: no Kafka bootstrap servers (use --bootstrap, the config file or "
              "GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS)")
        return 2
    log_format = settings.observability.log_format
    logging.config.dictConfig(use_json(logging_config(), log_format))
    registry = Registry.from_dir(args.registry) if args.registry else Registry()
    try:
        ensure_topics(settings)
        ensure_alert_topics(settings)
    except (BrokerError, RuntimeError) as exc:
        print(f"error: {exc}")
        return 1
    pipeline = create_app(settings, registry, config_path=args.config)
    # loglevel INFO turns off the progress spinner, whose handler would put the root
    # logger at DEBUG; the levels themselves come from logging_config().
    worker = faust.Worker(pipeline.app, loglevel="INFO", quiet=True, redirect_stdouts=False,
                          logging_config=use_json(logging_config(), log_format))
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int | None) else 1
    return 0
