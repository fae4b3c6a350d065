"""Partition engines: event-time alignment of buffered work, release, idle advance,
and the snapshot that a checkpoint saves."""

from __future__ import annotations

import heapq
import logging
import logging.config
import math
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from config.models import Settings
from gridwatch.events import Event
from gridwatch.registry import Registry
from streams.engine import Engine
from streams.router import HANDOVER_S, NEG_INF
from streams.routing import owner
from streams.workmsg import WorkMessage, decode_work

log = logging.getLogger(__name__)

ROUTER_TIMEOUT_S = 3.0  # a router 3 heartbeats behind the newest one is gone
MAX_BUFFERED = 200_000  # events a work partition holds back at most (then: oldest go)
INF = float("inf")


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
    ``routers`` the latest source times each router reported, with its send time and
    its idle sources; ``orphans`` the sources of routers gone silent (a stopped
    worker), active or idle, held at their last time until another router reports
    them; ``base_wm`` the watermark data justified (idle advance adds to it).
    """

    engine: Engine
    offset: int = -1
    base_wm: float = NEG_INF
    last_input: float = 0.0
    last_checkpoint: float = 0.0
    dirty: bool = False
    buffer: list[tuple[float, int, Event]] = field(default_factory=list)
    seq: int = 0
    routers: dict[str, tuple[dict[str, float | None], float, dict[str, float]]] = field(
        default_factory=dict)
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
        state.routers[msg.router] = (msg.sources, msg.sent_at, msg.idle)
        latest = max(sent for _, sent, _ in state.routers.values())
        for router, (sources, sent, idle) in list(state.routers.items()):
            if latest - sent > self.router_timeout:
                del state.routers[router]
                # Its sources have no owner now, and data may reach them (the idle ones
                # too): until their new owner reports them (within HANDOVER_S), events
                # up to their last time are all we have.
                held = {**idle, **{name: t for name, t in sources.items() if t is not None}}
                state.orphans.update({name: (t, sent) for name, t in held.items()})
        if state.orphans:
            reported = {name for sources, _, idle in state.routers.values()
                        for name in (*sources, *idle)}
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
        for sources, _, _ in state.routers.values():
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
        """Partitions with unsaved changes and a checkpoint ``every_s`` old, oldest first."""
        now = self.clock()
        return sorted((p for p, s in self.states.items()
                       if s.dirty and now - s.last_checkpoint >= every_s),
                      key=lambda p: self.states[p].last_checkpoint)

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
