"""The live worker: async glue from the Faust app to the router and partition engines.

``streams/app.py`` declares the Faust app (topics, agents, timers) and calls
into :class:`LiveWorker`; it and the modules it drives are plain Python
around the pure :class:`streams.engine.Engine`, so they are tested without a
broker: ``streams.router`` (validation, repartitioning, source times),
``streams.workmsg`` (the work-message codec), ``streams.partitions``
(event-time alignment and release per work partition), ``streams.checkpoints``
(snapshot storage) and ``streams.follow`` (topics every worker reads whole).

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
  ``idle_advance_s`` stops holding others back, one read to its end (nothing
  more on the broker) already ``caught_up_idle_s`` after its last message.
  When no data arrives at all, idle advance moves the watermark with the wall
  clock.
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
import logging
import logging.config
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from config.models import Settings, load_settings
from gridwatch.registry import Registry
from sinks.kafka import alert_record, dead_letter_record
from streams.checkpoints import CheckpointStore
from streams.metrics import WorkerMetrics
from streams.partitions import EngineFactory, WorkProcessor
from streams.router import FetchedFn, HighwaterFn, Router

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 10.0
REGISTRY_WAIT_S = 15.0


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
    fetched: FetchedFn | None = None
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
    router: Router = field(init=False)
    work: WorkProcessor = field(init=False)
    assigned: set[int] | None = field(default=None, init=False)
    pending: dict[int, list[Any]] = field(default_factory=dict, init=False)
    ready: asyncio.Event | None = field(default=None, init=False)
    _open_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _route_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        self.router = Router(self.settings, self.registry, highwater=self.highwater,
                             fetched=self.fetched)
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
        covers it; one that changed nothing is acknowledged at once. Alerts go
        out as soon as the message that raised them is processed, not after the
        whole batch: a batch may hold a few hundred milliseconds of engine work.
        """
        clean: list[Any] = []
        self.metrics.detectors.begin(self.work.states.values())
        for item in items:
            if self.assigned is not None and item.partition not in self.assigned:
                continue  # revoked meanwhile: its new owner gets it again
            await self.ensure(item.partition)
            alerts = self.work.handle(item.partition, item.offset, item.value)
            if alerts:
                await self._send_alerts(alerts)
            if self.work.states[item.partition].dirty:
                self.pending.setdefault(item.partition, []).append(item.token)
            else:
                clean.append(item.token)
        self.metrics.detectors.end(self.work.states.values())
        await self._send_alerts([])  # updates muted meanwhile
        for token in clean:
            await ack(token)
        # One snapshot per batch, the oldest: partitions opened together fall due together,
        # and snapshotting them all at once stalls the loop for all of them (~25 ms each for
        # a 4,000-person city's eighth, plus the send), every checkpoint_every_s.
        for partition in self.work.due(self.checkpoint_every_s)[:1]:
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
