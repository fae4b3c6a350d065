"""Idle sources by position: an input partition read to its end stops holding event time
back at once (Flink's idle sources), without a broker.

Live latency depends on it: a work partition releases an event only once every
source holding event time back has passed it, and a sparse input partition (few
reports) used to hold all the others back for ``idle_advance_s`` of silence.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from config.models import Settings, load_settings
from gridwatch.registry import Registry
from gridwatch.replay import replay
from streams.follow import TopicFollower
from streams.partitions import WorkProcessor
from streams.router import Fetched, Router
from streams.routing import partition_of
from streams.workmsg import decode_work

DATA = Path(__file__).parent / "data"
READING = {"event_id": "i-1", "ts": "2026-11-22T08:00:00+08:00", "device_id": "sm-1001",
           "metric": "smoke", "value": 1}


def settings(**pipeline: Any) -> Settings:
    s = load_settings()
    return s.model_copy(update={"pipeline": s.pipeline.model_copy(update=pipeline)})


class Consumer:
    """What a consumer's fetch responses said, per (stream, partition), set by hand."""

    def __init__(self) -> None:
        self.views: dict[tuple[str, int], Fetched] = {}

    def at(self, stream: str, partition: int, position: int, highwater: int,
           polled_at: float, start: int = 0) -> None:
        self.views[stream, partition] = Fetched(position, highwater, polled_at, start)

    def __call__(self, stream: str, partition: int) -> Fetched | None:
        return self.views.get((stream, partition))


def router(consumer: Consumer, **pipeline: Any) -> Router:
    return Router(settings(**{"idle_advance_s": 2.0, "caught_up_idle_s": 0.1, **pipeline}),
                  Registry.from_dir(DATA / "registry"), router_id="r1",
                  highwater=lambda s, p: None if consumer(s, p) is None
                  else consumer(s, p).highwater, fetched=consumer)


def reading(n: int, minute: int, device: str = "sm-1001") -> bytes:
    return orjson.dumps({**READING, "event_id": f"i-{n}", "device_id": device,
                         "ts": f"2026-11-22T08:{minute:02d}:00+08:00"})


# ---------------------------------------------------------------- the router's view


def test_a_source_read_to_its_end_stops_holding_back_long_before_idle_advance() -> None:
    consumer = Consumer()
    r = router(consumer)
    r.route("iot", [(0, 4, reading(1, 0))], now=10.0)
    consumer.at("iot", 0, position=5, highwater=5, polled_at=10.05)
    assert "iot/0" in r.active(10.05), "just routed: still holding for caught_up_idle_s"
    assert r.active(10.2) == {}, "read to its end: nothing of it is on its way"
    consumer.at("iot", 0, position=5, highwater=6, polled_at=10.25)
    assert "iot/0" in r.active(10.3), "a new message on the broker holds again"


def test_messages_fetched_but_not_routed_yet_keep_holding_back() -> None:
    consumer = Consumer()
    r = router(consumer)
    r.route("iot", [(0, 4, reading(1, 0))], now=10.0)
    consumer.at("iot", 0, position=9, highwater=9, polled_at=10.5)  # 5..8 in the stream
    assert "iot/0" in r.active(11.0)
    assert "iot/0" in r.active(60.0), "however long it takes to route them"


def test_an_unread_source_is_idle_only_while_nothing_came_since_its_assignment() -> None:
    consumer = Consumer()
    r = router(consumer)
    r.assign(["report/3"], now=10.0)
    consumer.at("report", 3, position=7, highwater=7, polled_at=10.3, start=7)
    assert r.active(10.3) == {}, "at the committed end: idle"
    consumer.at("report", 3, position=8, highwater=8, polled_at=10.4, start=7)
    assert r.active(10.4) == {"report/3": None}, "one message handed over, not routed"
    consumer.at("report", 3, position=3, highwater=7, polled_at=10.5, start=3)
    assert r.active(10.5) == {"report/3": None}, "a backlog after a restart"


def test_without_a_fresh_fetch_response_the_wall_clock_rule_applies() -> None:
    consumer = Consumer()
    r = router(consumer)
    r.route("iot", [(0, 4, reading(1, 0))], now=10.0)
    consumer.at("iot", 0, position=5, highwater=5, polled_at=4.0)  # a stalled consumer
    assert "iot/0" in r.active(11.0)
    assert r.active(12.5) == {}, "silent for idle_advance_s"
    plain = Router(settings(), Registry.from_dir(DATA / "registry"))
    plain.route("iot", [(0, 4, reading(1, 0))], now=10.0)
    assert "iot/0" in plain.active(11.0), "no consumer view at all: as before"


def test_a_partition_hears_at_once_when_its_held_back_sources_moved_on() -> None:
    consumer = Consumer()
    r = router(consumer)
    r.assign(["iot/0", "report/0"], now=0.0)
    consumer.at("report", 0, position=1, highwater=2, polled_at=9.9)  # unrouted report
    p = partition_of("grid-0103", r.partitions)
    routed = r.route("iot", [(0, 4, reading(1, 0))], now=10.0)
    assert decode_work(dict(routed.work)[p]).sources["report/0"] is None, \
        "an unread report partition with a message on its way holds everything"
    consumer.at("iot", 0, position=5, highwater=5, polled_at=10.0)
    assert p not in dict(r.heartbeats(10.05)), "nothing moved: no message"
    r.route("report", [(0, 1, orjson.dumps({
        "event_id": "r-1", "ts": "2026-11-22T08:05:00+08:00", "grid_id": "grid-0999",
        "category": "fire_hazard", "source": "citizen"}))], now=10.1)
    consumer.at("report", 0, position=2, highwater=2, polled_at=10.1)
    beats = dict(r.heartbeats(10.3))
    assert p in beats and decode_work(beats[p]).sources == {}, "both read to their end"


def test_a_source_turning_active_again_does_not_take_back_what_its_idleness_let_pass(
        ) -> None:
    """A report partition idle by its position while an alarm of 08:10 was routed
    gets a new message: it holds again, but from 08:10 on (its message came to the
    broker after the alarm's), not from its own last report of 07:50 — else every
    partition would wait for it again. Only fetches it was found idle by count."""
    consumer = Consumer()
    r = router(consumer, caught_up_idle_s=0.0)
    report = orjson.dumps({"event_id": "r-1", "ts": "2026-11-22T07:50:00+08:00",
                           "grid_id": "grid-0103", "category": "fire_hazard",
                           "source": "citizen"})
    r.route("report", [(0, 0, report)], now=9.0)
    consumer.at("report", 0, position=1, highwater=1, polled_at=10.0)
    consumer.at("iot", 0, position=5, highwater=5, polled_at=10.0)
    r.route("iot", [(0, 4, reading(1, 10))], now=10.01)
    alarm_t = r.sources["iot/0"].max_t
    assert "report/0" not in r.active(10.02)
    consumer.at("report", 0, position=1, highwater=2, polled_at=10.1)
    assert r.active(10.1)["report/0"] == alarm_t
    consumer.at("iot", 0, position=6, highwater=6, polled_at=10.1)
    r.route("iot", [(0, 5, reading(2, 20))], now=10.11)  # fetched after report/0 idled
    assert r.active(10.12)["report/0"] == alarm_t


# ---------------------------------------------------------------- work partitions


def test_a_sparse_source_no_longer_delays_an_alarm_and_its_late_report_still_counts() -> None:
    """The smoke alarm fires on the message that carries it, although a report
    partition last heard of minutes of event time ago; that partition's next
    report, older than the alarm but within the allowed lateness, is still seen."""
    consumer = Consumer()
    s = settings(idle_advance_s=2.0, caught_up_idle_s=0.0, allowed_lateness_s=300.0)
    reg = Registry.from_dir(DATA / "registry")
    r = Router(s, reg, router_id="r1", fetched=consumer)
    work = WorkProcessor(s, reg, clock=lambda: 10.0)
    for p in range(s.kafka.partitions):
        work.open(p, None)
    report = {"event_id": "r-1", "grid_id": "grid-0103", "category": "fire_hazard",
              "source": "citizen"}
    for p, v in r.route("report", [(0, 0, orjson.dumps(
            {**report, "ts": "2026-11-22T07:50:00+08:00"}))], now=9.0).work:
        work.handle(p, 0, v)
    consumer.at("report", 0, position=1, highwater=1, polled_at=9.9)
    consumer.at("iot", 0, position=5, highwater=5, polled_at=9.9)
    alerts = [a for p, v in r.route("iot", [(0, 4, reading(1, 0))], now=10.0).work
              for a in work.handle(p, 1, v)]
    assert [a["kind"] for a in alerts] == ["sensor_threshold"]
    consumer.at("report", 0, position=2, highwater=2, polled_at=10.1)
    for p, v in r.route("report", [(0, 1, orjson.dumps(
            {**report, "event_id": "r-2", "ts": "2026-11-22T07:58:00+08:00"}))], now=10.1).work:
        work.handle(p, 2, v)
    engines = [st.engine for st in work.states.values()]
    assert sum(e.stats["events"] for e in engines) == 3
    assert sum(e.stats["late"] for e in engines) == 0


def test_the_live_path_with_sources_always_read_to_their_end_gives_replays_alerts(
        tmp_path: Path) -> None:
    """A consumer that is always caught up (each message routed as soon as it is on
    the broker, as in a live feed) releases every batch at once; with the feed as
    our publisher sends it (batches per stream, at most 120 s of event time apart),
    the alerts are still exactly replay's. A source keeps holding time back for
    ``caught_up_idle_s`` after its last message: with none at all, a water meter's
    readings overtaken by a pass give one ``no_usage`` alert replay does not give."""
    from gridwatch.simulate import simulate
    from gridwatch.simulate.publish import publish

    simulate(tmp_path / "city", persons=60, days=5, seed=11)
    s = load_settings()  # caught_up_idle_s 0.1 s: 10 messages here (0 gives one more alert)
    replay([tmp_path / "city" / "feed.jsonl"], Registry.from_dir(tmp_path / "city" /
                                                                   "registry"),
           s, tmp_path / "replay.jsonl", show_progress=False)
    expected = [orjson.loads(line) for line in (tmp_path / "replay.jsonl").open("rb")]
    sent = _Sent()
    publish(tmp_path / "city", producer=sent, speed=0,
            topics={"access": "access", "iot": "iot", "report": "report"})
    messages = sent.messages
    clock, reg = _Clock(), Registry.from_dir(tmp_path / "city" / "registry")
    ends: dict[str, int] = {}

    def fetched(stream: str, partition: int) -> Fetched:
        end = ends.get(stream, 0)
        return Fetched(end, end, clock.t)

    r, work = Router(s, reg, fetched=fetched), WorkProcessor(s, reg, clock)
    r.assign({f"{st}/0" for st, _, _ in messages}, clock.t)
    for p in range(s.kafka.partitions):
        work.open(p, None)
    live: list[dict[str, Any]] = []
    held_by_reports = 0  # messages the sparse report source held back
    for offset, (stream, partition, value) in enumerate(messages):
        clock.t += 0.01
        ends[stream] = offset + 1
        for p, v in r.route(stream, [(partition, offset, value)], clock.t).work:
            held_by_reports += "report/0" in decode_work(v).sources
            live += work.handle(p, offset, v)
    clock.t += s.pipeline.idle_advance_s + 1
    for p, v in r.heartbeats(clock.t):
        live += work.handle(p, -1, v)
    live += work.tick()
    assert expected and held_by_reports < len(messages) / 10
    assert sorted((a["alert_id"], a["seq"]) for a in live) == \
        sorted((a["alert_id"], a["seq"]) for a in expected)


class _Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class _Sent:
    """A producer that keeps what the publisher sends, as (stream, partition, value)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, int, bytes]] = []

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.messages.append((topic, 0, value))

    def flush(self, timeout: float | None = None) -> None: ...


# ---------------------------------------------------------------- followed topics


class _EmptyTopicConsumer:
    """An aiokafka consumer of an empty topic whose fetches never return."""

    def __init__(self, **_: Any) -> None:
        self.never = asyncio.Event()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    def assign(self, tps: list[Any]) -> None: ...

    async def seek_to_beginning(self, *tps: Any) -> None: ...

    async def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        return {tp: 0 for tp in tps}

    async def position(self, tp: Any) -> int:
        return 0

    async def getmany(self, **_: Any) -> dict[Any, list[Any]]:
        await self.never.wait()
        return {}


async def test_an_empty_registry_topic_makes_the_worker_ready_before_any_fetch_returns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing waits for the registry topic; an empty one must not cost a fetch timeout."""
    import aiokafka

    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", _EmptyTopicConsumer)

    async def dead(letter: dict[str, Any]) -> None: ...

    s = load_settings()
    s = s.model_copy(update={"kafka": s.kafka.model_copy(update={
        "bootstrap_servers": "127.0.0.1:9"})})  # never dialled: the consumer is a fake
    follower = TopicFollower(s, "gw.registry", lambda *a: None, dead)
    task = asyncio.create_task(follower.run())
    try:
        await asyncio.wait_for(follower.ready.wait(), 5.0)
    finally:
        task.cancel()
