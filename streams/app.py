"""The Faust app, declared: topics, agents, timers, signals. The logic is in streams.worker.

* ``route_access`` / ``route_iot`` / ``route_report``: take input messages in
  batches, validate them, dead-letter the rejects, repartition the events onto
  ``gw.work`` by shard key.
* ``work``: one engine per assigned ``gw.work`` partition; alerts to
  ``gw.alerts``; offsets acknowledged only under a saved checkpoint.
* timers: source-time heartbeats to quiet work partitions and to those whose sources
  moved on; release and idle advance.
* tasks: readers of ``gw.registry`` (and ``gw.silences``) into the shared registry.

Topic names and the broker come from :class:`config.models.Settings`, so the
app is built by :func:`create_app` rather than at import time (the tests run
several apps with their own topics in one process).
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import faust
from faust.types import TP, AgentT, TopicT

from config.models import Settings
from gridwatch.broker import bootstrap_list, checkpoint_topic, faust_credentials
from gridwatch.events import STREAMS
from gridwatch.registry import Registry
from sinks.kafka import dead_letter_record
from streams.checkpoints import CheckpointStore, KafkaCheckpointStore
from streams.engine import Engine
from streams.follow import TopicFollower, apply_registry_value
from streams.reload import RELOAD_EVERY_S, ConfigWatcher, log_reload
from streams.router import CLAIMS_EVERY_S, Fetched
from streams.routing import owner
from streams.worker import CHECKPOINT_EVERY_S, LiveWorker, WorkItem

ROUTE_BATCH = 200  # input messages per router batch (each may hold ~100 events)
WORK_BATCH = 64
ROUTE_WITHIN_S = 0.05  # longest a router batch waits to fill
# A work batch waits less: what it waits for has already waited in a router batch, and an
# alarm's alert leaves only after its work batch is taken (p50 at 12k events/s ~30% lower).
WORK_WITHIN_S = 0.02
TICK_S = 0.5


class Pipeline(NamedTuple):
    """The app and handles the tests need (agents for ``test_context``, the worker)."""

    app: faust.App
    live: LiveWorker
    routers: dict[str, AgentT]
    work: AgentT
    topics: dict[str, TopicT]


class FaustOutputs:
    """:class:`streams.worker.Outputs` over Faust topics."""

    def __init__(self, topics: dict[str, TopicT]) -> None:
        self.topics = topics

    async def work(self, partition: int, value: bytes) -> None:
        await self.topics["work"].send(value=value, partition=partition)

    async def alert(self, key: bytes, value: bytes) -> None:
        await self.topics["alerts"].send(key=key, value=value)

    async def muted(self, key: bytes, value: bytes) -> None:
        if "muted" in self.topics:
            await self.topics["muted"].send(key=key, value=value)

    async def dead(self, key: bytes, value: bytes) -> None:
        await self.topics["deadletter"].send(key=key, value=value)

    async def checkpoint(self, partition: int, key: bytes, value: bytes) -> Any:
        return await self.topics["checkpoints"].send(key=key, value=value, partition=partition)


def _fetch_wait(ms: int) -> None:
    """Faust builds its consumer with ``fetch_max_wait_ms=1500`` and offers no setting
    for it. A broker that holds every fetch to that deadline (Tansu does) would add
    up to 1.5 s per hop (input → router → work), so the consumer gets ours instead."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread as Thread

    original = getattr(Thread, "_gridwatch_original", Thread._create_worker_consumer)

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = ms  # read by aiokafka when the consumer starts
        return consumer

    Thread._gridwatch_original = original  # type: ignore[attr-defined]
    Thread._create_worker_consumer = create  # type: ignore[method-assign]


def _app(settings: Settings) -> faust.App:
    kafka = settings.kafka
    _fetch_wait(kafka.fetch_max_wait_ms)
    broker = ([f"kafka://{h}" for h in bootstrap_list(kafka)] if kafka.bootstrap_servers
              else "kafka://localhost:9092")
    datadir = Path(tempfile.gettempdir()) / "gridwatch-faust" / kafka.group_id
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    return faust.App(
        kafka.group_id, broker=broker, broker_credentials=faust_credentials(kafka),
        store="memory://", web_enabled=False, topic_disable_leader=True,
        topic_allow_declare=False, topic_partitions=kafka.partitions,
        key_serializer="raw", value_serializer="raw", datadir=str(datadir),
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=6.0, broker_heartbeat_interval=2.0,
        producer_linger=0.02, producer_acks=-1,
        # Unacked work messages wait for a checkpoint; a rebalance must not
        # wait for them (they are redelivered to the new owner instead).
        stream_wait_empty=False,
    )


def _topics(app: faust.App, settings: Settings) -> dict[str, TopicT]:
    t = settings.kafka.topics
    names = {"access": t.access, "iot": t.iot, "report": t.reports, "work": t.work,
             "alerts": t.alerts, "deadletter": t.deadletter,
             "checkpoints": checkpoint_topic(settings)}
    if getattr(t, "alerts_muted", None):
        names["muted"] = t.alerts_muted
    return {role: app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                            value_serializer="raw", partitions=settings.kafka.partitions)
            for role, name in names.items()}


def create_app(settings: Settings, registry: Registry,
               store: CheckpointStore | None = None,
               checkpoint_every_s: float = CHECKPOINT_EVERY_S,
               follow_topics: bool = True,
               config_path: str | None = None) -> Pipeline:
    """Declare the whole live pipeline for ``settings``; ``store`` defaults to Kafka.

    ``follow_topics=False`` leaves out the readers of ``gw.registry`` and
    ``gw.silences`` (unit tests without a broker).
    """
    app = _app(settings)
    topics = _topics(app, settings)
    outputs = FaustOutputs(topics)
    store = store or KafkaCheckpointStore(settings, topics["checkpoints"].get_topic_name(),
                                          outputs.checkpoint)
    silences = _silence_book() if follow_topics else None
    inputs = {topics[s].get_topic_name(): s for s in STREAMS}
    live = LiveWorker(settings, registry, outputs, store,
                      checkpoint_every_s=checkpoint_every_s,
                      engine_factory=_engine_factory(settings, registry, silences),
                      highwater=_highwater(app, {s: t for t, s in inputs.items()}),
                      fetched=_fetched(app, {s: t for t, s in inputs.items()}))
    work_topic = topics["work"].get_topic_name()

    def split(tps: set[Any]) -> tuple[set[int], set[str]]:
        """Work partitions, and input partitions as router source names."""
        return ({tp.partition for tp in tps if tp.topic == work_topic},
                {f"{inputs[tp.topic]}/{tp.partition}" for tp in tps if tp.topic in inputs})

    routers = {stream: app.agent(topics[stream], name=f"gridwatch.route_{stream}")(
        _router(live, stream)) for stream in STREAMS}

    @app.agent(topics["work"], name="gridwatch.work")
    async def work(stream: faust.StreamT) -> None:
        async for batch in stream.noack_take(WORK_BATCH, within=WORK_WITHIN_S):
            await live.on_work([WorkItem(e.message.partition, e.message.offset, e.value, e)
                                for e in batch], stream.ack)

    @app.timer(CLAIMS_EVERY_S)
    async def heartbeat() -> None:
        await live.heartbeat()

    @app.timer(TICK_S)
    async def tick() -> None:
        await live.tick()

    @app.timer(settings.pipeline.stats_every_s)
    async def stats() -> None:
        live.log_stats()

    @app.on_partitions_assigned.connect
    async def assigned(sender: Any, assigned: set[Any], **_: Any) -> None:
        await live.on_assigned(*split(assigned))

    @app.on_partitions_revoked.connect
    async def revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        await live.on_revoked(*split(revoked))

    @app.on_before_shutdown.connect
    async def shutdown(sender: Any, **_: Any) -> None:
        await live.shutdown()

    if follow_topics:
        _followers(app, settings, registry, silences, outputs, live)
        app.task(partial(_observe, settings, registry, live))
    if config_path:
        _hot_reload(app, config_path, live)
    return Pipeline(app, live, routers, work, topics)


def _followers(app: faust.App, settings: Settings, registry: Registry, silences: Any,
               outputs: FaustOutputs, live: LiveWorker) -> None:
    """Readers of the registry and silences topics: every worker reads all of them."""
    async def dead(letter: dict[str, Any]) -> None:
        await outputs.dead(*dead_letter_record(letter))

    follower = TopicFollower(settings, settings.kafka.topics.registry,
                             partial(apply_registry_value, registry), dead, registry.reindex)
    live.ready = follower.ready
    app.task(follower.run)
    if silences is not None:
        from sinks.silence_store import apply_silence_value

        app.task(TopicFollower(settings, settings.kafka.topics.silences,
                               partial(apply_silence_value, silences), dead).run)


def _hot_reload(app: faust.App, path: str, live: LiveWorker) -> None:
    """Watch the ``--config`` file; apply a valid change, refuse a bad one."""
    watcher = ConfigWatcher(path, live.settings)

    @app.timer(RELOAD_EVERY_S)
    async def reload_config() -> None:
        outcome = watcher.poll()
        if outcome is None:
            return
        log_reload(watcher.path, outcome)
        if outcome.settings is not None:
            live.reconfigure(outcome.settings)


async def _observe(settings: Settings, registry: Registry, live: LiveWorker) -> None:
    """The worker's metrics endpoint and live board (``streams.observe``)."""
    from streams.observe import serve

    await serve(settings, registry, live)


def _highwater(app: faust.App, topics: dict[str, str]) -> Any:
    """(stream, partition) → the consumer's latest known end offset of that input partition."""
    def highwater(stream: str, partition: int) -> int | None:
        result = app.consumer.highwater(TP(topics[stream], partition))
        return int(result) if result is not None else None
    return highwater


def _fetched(app: faust.App, topics: dict[str, str]) -> Any:
    """(stream, partition) → what the consumer's latest fetch response said of that input
    partition, read from aiokafka's fetch state (Faust exposes only the highwater)."""
    def fetched(stream: str, partition: int) -> Fetched | None:
        consumer = app.consumer._thread._ensure_consumer()  # noqa: SLF001 - no public call
        assignment = consumer._subscription.subscription.assignment  # noqa: SLF001
        tp = TP(topics[stream], partition)
        state = assignment.state_value(tp)
        if state is None or not state.has_valid_position or state.highwater is None \
                or not state.timestamp:
            return None
        start = app.consumer._committed_offset.get(tp)  # noqa: SLF001 - set on assignment
        return Fetched(state.position, state.highwater, state.timestamp / 1000, start or 0)
    return fetched


def _silence_book() -> Any:
    """The silences shared by this worker's engines (read from ``gw.silences``)."""
    from sinks.silence import SilenceBook

    return SilenceBook()


def _engine_factory(settings: Settings, registry: Registry, silences: Any) -> Any:
    def make(partition: int) -> Engine:
        owns = owner(partition, settings.kafka.partitions)
        if silences is None:
            return Engine(settings, registry, owns=owns)
        return Engine(settings, registry, owns=owns, silences=silences)
    return make


def _router(live: LiveWorker, stream: str) -> Any:
    """The router agent of one input stream: validate and repartition in batches.

    A batch is acknowledged only once its work messages are handed to the producer
    (which Faust flushes before it commits). ``take_events`` would ack in a ``finally``,
    also when the agent is cancelled mid-batch by a shutdown: the final commit then
    passed over events never routed."""
    async def route(events: faust.StreamT) -> None:
        async for batch in events.noack_take(ROUTE_BATCH, within=ROUTE_WITHIN_S):
            await live.route(stream, [(e.message.partition, e.message.offset, e.value)
                                      for e in batch])
            for event in batch:
                await events.ack(event)
    route.__name__ = route.__qualname__ = f"route_{stream}"
    return route
