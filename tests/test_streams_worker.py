"""The live worker's logic without a broker: codec, router, alignment, idle advance, checkpoints."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from config.models import Settings, load_settings
from gridwatch.events import Access, Event, Iot, Report
from gridwatch.feedlines import parse_line
from gridwatch.registry import Registry
from gridwatch.replay import replay
from streams.checkpoints import MemoryCheckpointStore, checkpoint_records, latest_checkpoint
from streams.follow import apply_registry_value
from streams.partitions import Checkpoint, WorkProcessor
from streams.router import Router, decode_input
from streams.routing import partition_of
from streams.worker import LiveWorker, WorkItem
from streams.workmsg import decode_work, encode_work, encode_work_chunks

DATA = Path(__file__).parent / "data"
P = partition_of("grid-0103", load_settings().kafka.partitions)  # owns sm-1001
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC).timestamp()
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def registry() -> Registry:
    return Registry.from_dir(DATA / "registry")


def settings(**pipeline: Any) -> Settings:
    s = load_settings()
    return s.model_copy(update={"pipeline": s.pipeline.model_copy(update=pipeline)})


def smoke(n: int, t: float, value: float, device: str = "sm-1001") -> Iot:
    return Iot(f"i-{n}", t, device, "smoke", value)


# ---------------------------------------------------------------- work messages


def test_work_messages_round_trip_every_event_type_exactly() -> None:
    events: list[Event] = [
        Access("a-1", T0 + 0.5, "gate-07", "in", "face", "p-00042", None, 0.93),
        Iot("i-1", T0, "sm-1001", "smoke", 1.0, None, 0.8),
        Report("r-1", T0, "grid-0103", "fire_hazard", "citizen", 46.58, 125.1, "楼道堆放杂物"),
    ]
    msg = decode_work(encode_work("r1", {"iot/0": T0, "access/1": None}, events))
    assert msg.events == events
    assert msg.router == "r1" and msg.sources == {"iot/0": T0, "access/1": None}


def test_large_batches_are_split_under_the_message_limit() -> None:
    events = [Iot(f"i-{n}", T0 + n, f"wm-{n}", "water", 0.01) for n in range(5000)]
    chunks = encode_work_chunks("r", {"iot/0": T0 + 4999}, events, max_bytes=20_000,
                                earlier={"iot/0": T0 - 1})
    assert len(chunks) > 10 and all(len(c) <= 20_000 for c in chunks)
    assert [e for c in chunks for e in decode_work(c).events] == events
    # only the last piece may say the source reached T0 + 4999: read earlier, that claim
    # would release events ahead of the pieces still on their way
    assert [decode_work(c).sources["iot/0"] for c in chunks] == \
        [T0 - 1] * (len(chunks) - 1) + [T0 + 4999]


@pytest.mark.parametrize("raw", [b"", b"{", b'{"events": [["x", 1]]}', b'{"events": 3}',
                                 b"\xff"])
def test_a_corrupt_work_message_is_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError, match="corrupt work message"):
        decode_work(raw)


# ---------------------------------------------------------------- input


GOOD = {"event_id": "i-1", "ts": "2026-11-22T07:40:00+08:00", "device_id": "sm-1001",
        "metric": "smoke", "value": 1}
CASES = {
    "null value": (None, 0, ["message: empty value (null)"]),
    "not UTF-8": (b"\xff\xfe\x00", 0, ["message: invalid JSON"]),
    "not JSON": (b"{smoke", 0, ["message: invalid JSON"]),
    "a number": (b"42", 0, ["message: expected a JSON object"]),
    "wrong type": (orjson.dumps({**GOOD, "value": "loud"}), 0, ["value:"]),
    "missing field": (orjson.dumps({"event_id": "x"}), 0, ["ts: Field required"]),
    "unhashable enum value": (orjson.dumps([{**GOOD, "metric": ["smoke"]}, GOOD]), 1,
                              ["metric:"]),
    "batch with one bad element": (orjson.dumps([GOOD, {**GOOD, "ts": "yesterday"}, GOOD]), 2,
                                   ["ts:"]),
    "empty batch": (b"[]", 0, []),
}


@pytest.mark.parametrize("name", list(CASES))
def test_input_never_raises_and_every_reject_says_why(name: str) -> None:
    raw, good, errors = CASES[name]
    events, dead = decode_input("iot", raw, NOW)
    assert len(events) == good
    assert [d["error"][:len(e)] for d, e in zip(dead, errors, strict=True)] == errors
    assert all(d["stream"] == "iot" and d["received_at"] for d in dead)


def test_a_bad_access_direction_is_dead_lettered_even_when_unhashable() -> None:
    access = {"event_id": "a-1", "ts": "2026-11-22T07:31:05+08:00", "gate_id": "gate-07",
              "direction": ["in"], "method": "face"}
    events, dead = decode_input("access", orjson.dumps(access), NOW)
    assert events == [] and dead[0]["error"].startswith("direction: must be")


# ---------------------------------------------------------------- router


def test_the_router_repartitions_by_shard_key_and_reports_its_sources() -> None:
    s, reg = settings(), registry()
    router = Router(s, reg, router_id="r1")
    batch = orjson.dumps([{**GOOD, "event_id": f"i-{n}", "device_id": dev}
                          for n, dev in enumerate(["sm-1001", "gs-1002", "sm-1001"])])
    routed = router.route("iot", [(3, 17, batch), (3, 18, None)], now=1.0)
    assert len(routed.dead) == 1
    by_partition = {p: decode_work(v) for p, v in routed.work}
    parts = s.kafka.partitions
    assert set(by_partition) == {partition_of("grid-0103", parts), partition_of("grid-0104", parts)}
    p0103 = by_partition[partition_of("grid-0103", parts)]
    assert [e.event_id for e in p0103.events] == ["i-0", "i-2"]
    assert p0103.sources == {"iot/3": datetime.fromisoformat(GOOD["ts"]).timestamp()}
    assert router.stats == {"messages": 2, "events": 3, "dead": 1, "work": len(routed.work)}


def test_heartbeats_reach_only_quiet_partitions_and_sources_go_idle() -> None:
    s = settings(idle_advance_s=2)
    router = Router(s, registry(), router_id="r1")
    router.assign(["iot/0", "access/0"], now=0.0)
    routed = router.route("iot", [(0, 0, orjson.dumps(GOOD))], now=0.5)
    busy = {p for p, _ in routed.work}
    beats = router.heartbeats(now=1.2)
    assert {p for p, _ in beats} == set(range(s.kafka.partitions)) - busy
    assert decode_work(beats[0][1]).sources == {"iot/0": pytest.approx(
        datetime.fromisoformat(GOOD["ts"]).timestamp()), "access/0": None}
    assert router.active(now=3.0) == {}  # both silent for more than idle_advance_s


def test_a_source_not_read_yet_becomes_active_as_soon_as_data_arrives() -> None:
    """At start the publisher may fill access before iot is read: iot must hold
    event time back from the moment its first message is there, not when read."""
    high = {"iot": 0}
    router = Router(settings(idle_advance_s=2), registry(),
                    highwater=lambda stream, p: high.get(stream, 0))
    router.assign(["iot/0", "access/0"], now=0.0)
    assert router.active(now=5.0) == {}  # both empty and quiet
    high["iot"] = 3
    assert router.active(now=6.0) == {"iot/0": None}  # holds everything back, unread


def test_a_source_with_a_backlog_stays_active_however_long_it_is_quiet() -> None:
    router = Router(settings(idle_advance_s=2), registry(), highwater=lambda s, p: 100)
    router.route("iot", [(0, 41, orjson.dumps(GOOD))], now=0.0)
    assert "iot/0" in router.active(now=60.0)  # offset 41 read, 100 there: behind
    router.route("iot", [(0, 99, orjson.dumps(GOOD))], now=0.0)
    assert router.active(now=60.0) == {}


# ---------------------------------------------------------------- alignment and idle advance


def processor(s: Settings, clock: Clock) -> WorkProcessor:
    work = WorkProcessor(s, registry(), clock)
    for p in range(s.kafka.partitions):
        work.open(p, None)
    return work


def test_a_stream_that_runs_ahead_waits_for_the_slowest_source() -> None:
    """Access read hours ahead of IoT must not make the IoT devices look silent:
    the partition holds events back until every active source has passed them."""
    s, clock = settings(), Clock()
    work = processor(s, clock)
    ahead = encode_work("r", {"access/0": T0 + 7200, "iot/0": T0},
                        [Access("a-1", T0 + 7200, "gate-07", "in", "face")])
    assert work.handle(0, 0, ahead) == []
    state = work.states[0]
    assert len(state.buffer) == 1 and state.engine.max_t == float("-inf")
    work.handle(0, 1, encode_work("r", {"access/0": T0 + 7200, "iot/0": T0 + 3600},
                                  [smoke(1, T0 + 60, 1.0), smoke(2, T0 + 3600, 0.0)]))
    assert state.engine.max_t == T0 + 3600 and len(state.buffer) == 1
    assert state.engine.watermark == T0 + 3600 - s.pipeline.allowed_lateness_s


def test_silent_sources_stop_holding_back_and_then_the_wall_clock_advances() -> None:
    s, clock = settings(idle_advance_s=2, allowed_lateness_s=0), Clock()
    work = processor(s, clock)
    work.handle(0, 0, encode_work("r", {"iot/0": T0 + 10, "access/0": None},
                                  [smoke(1, T0 + 10, 0.0)]))
    assert work.states[0].engine.max_t == float("-inf")  # access/0 not read yet
    clock.t += 4  # the router stops listing its sources; its heartbeat says so
    work.handle(0, 1, encode_work("r", {}, []))
    assert work.states[0].engine.watermark == T0 + 10
    clock.t += 5  # idle for 5 s, 3 s beyond idle_advance_s
    work.tick()
    assert work.states[0].engine.watermark == T0 + 10 + 3


def test_idle_advance_fires_device_offline_with_no_data_at_all() -> None:
    s = settings(allowed_lateness_s=0, idle_advance_s=1)
    s = s.model_copy(update={"detectors": s.detectors.model_copy(update={
        "device_offline": s.detectors.device_offline.model_copy(update={
            "min_silence_s": 0, "min_history_s": 0, "same_report_s": 0, "group_delay_s": 0,
            "factor": 2, "min_reports": 2})})})
    clock = Clock()
    work = processor(s, clock)
    beats = [Iot(f"h{i}", T0 + 2 * i, "tm-9001", "heartbeat", 1.0) for i in range(10)]
    p = partition_of("grid-0104", s.kafka.partitions)
    assert work.handle(p, 0, encode_work("r", {"iot/0": beats[-1].t}, beats)) == []
    clock.t += 1
    work.tick()
    assert work.states[p].engine.watermark == beats[-1].t  # the source is still active
    work.handle(p, 1, encode_work("r", {}, []))  # the router: nothing on its way
    fired: list[dict[str, Any]] = []
    for _ in range(30):
        clock.t += 0.5
        fired += work.tick()
    assert [(a["kind"], a["subject"]["id"]) for a in fired] == [("device_offline", "tm-9001")]


# ---------------------------------------------------------------- live path = replay


def feed_messages(lines: list[dict[str, Any]], skew: int, seed: int
                  ) -> list[tuple[str, int, bytes]]:
    """Publisher-like JSON-array batches per stream, then interleaved with up to
    ``skew`` messages of one stream delivered before another's older ones."""
    per_stream: dict[str, list[bytes]] = {}
    pending: dict[str, list[dict[str, Any]]] = {}
    for obj in lines:
        obj = dict(obj)
        stream = obj.pop("stream")
        pending.setdefault(stream, []).append(obj)
        if len(pending[stream]) == 50:
            per_stream.setdefault(stream, []).append(orjson.dumps(pending.pop(stream)))
    for stream, items in pending.items():
        per_stream.setdefault(stream, []).append(orjson.dumps(items))
    rng, out = random.Random(seed), []
    queues = {s: list(reversed(m)) for s, m in per_stream.items()}
    while queues:
        stream = rng.choice(sorted(queues))
        for _ in range(rng.randint(1, skew)):
            if queues[stream]:
                out.append((stream, 0, queues[stream].pop()))
        if not queues[stream]:
            del queues[stream]
    return out


def run_live(s: Settings, reg: Registry, messages: list[tuple[str, int, bytes]],
             before: Callable[[int, Router, WorkProcessor], None] | None = None,
             ) -> list[dict[str, Any]]:
    """The live path without a broker; ``before(offset, router, work)`` runs ahead of
    each message (a reload, say)."""
    clock = Clock()
    router, work = Router(s, reg), WorkProcessor(s, reg, clock)
    router.assign({f"{st}/0" for st, _, _ in messages}, clock.t)
    for p in range(s.kafka.partitions):
        work.open(p, None)
    alerts: list[dict[str, Any]] = []
    for offset, (stream, partition, value) in enumerate(messages):
        if before is not None:
            before(offset, router, work)
        for p, v in router.route(stream, [(partition, offset, value)], clock.t).work:
            alerts += work.handle(p, offset, v)
    clock.t += s.pipeline.idle_advance_s + 1
    for p, v in router.heartbeats(clock.t):
        alerts += work.handle(p, -1, v)
    return alerts + work.tick()


@pytest.mark.parametrize("skew", [1, 40])
def test_the_live_path_gives_exactly_the_alerts_of_replay(tmp_path: Path, skew: int) -> None:
    from gridwatch.simulate import simulate

    simulate(tmp_path / "city", persons=60, days=5, seed=11)
    s, reg = settings(), Registry.from_dir(tmp_path / "city" / "registry")
    replay([tmp_path / "city" / "feed.jsonl"], reg, s, tmp_path / "replay.jsonl",
           show_progress=False)
    expected = [orjson.loads(line) for line in (tmp_path / "replay.jsonl").open("rb")]
    lines = [orjson.loads(line) for line in (tmp_path / "city" / "feed.jsonl").open("rb")]
    live = run_live(s, Registry.from_dir(tmp_path / "city" / "registry"),
                    feed_messages(lines, skew, seed=skew))
    assert expected
    assert sorted((a["alert_id"], a["seq"]) for a in live) == \
        sorted((a["alert_id"], a["seq"]) for a in expected)


# ---------------------------------------------------------------- checkpoints


def test_checkpoints_are_chunked_and_only_complete_ones_count() -> None:
    blob = bytes(range(256)) * 40
    old = checkpoint_records(Checkpoint(2, 10, b"old"), ck_id="a")
    new = checkpoint_records(Checkpoint(2, 55, blob), chunk_bytes=1000, ck_id="b")
    torn = checkpoint_records(Checkpoint(2, 80, blob), chunk_bytes=1000, ck_id="c")[:-1]
    assert len(new) == 11 and all(k.startswith(b"2/") for k, _ in new)
    values = [v for _, v in old + new + torn] + [None, b"garbage"]
    assert latest_checkpoint(values) == Checkpoint(2, 55, blob)
    assert latest_checkpoint([v for _, v in torn]) is None


def test_a_restored_partition_continues_exactly_and_drops_redeliveries() -> None:
    """Crash after a checkpoint: the new engine resumes from it; messages redelivered
    from before it change nothing, those after it give the same alerts again."""
    s = settings(allowed_lateness_s=0)
    s = s.model_copy(update={"kafka": s.kafka.model_copy(update={"partitions": 1})})
    events = [parse_line(line) for line in (DATA / "feed.jsonl").read_bytes().splitlines()
              if b'"stream":"iot"' in line]
    msgs = [encode_work("r", {"iot/0": e.t}, [e]) for e in events]
    half = len(msgs) // 2
    a = processor(s, Clock())
    for offset, m in enumerate(msgs[:half]):
        a.handle(0, offset, m)
    ck = a.checkpoint(0)
    tail_a = [x for offset, m in enumerate(msgs[half:], half) for x in a.handle(0, offset, m)]
    b = WorkProcessor(s, registry(), Clock())
    b.open(0, ck)
    assert b.states[0].offset == half - 1
    redelivered = [x for offset, m in enumerate(msgs[:half]) for x in b.handle(0, offset, m)]
    tail_b = [x for offset, m in enumerate(msgs[half:], half) for x in b.handle(0, offset, m)]
    assert redelivered == []
    assert [(x["alert_id"], x["seq"]) for x in tail_b] == \
        [(x["alert_id"], x["seq"]) for x in tail_a] != []


class Recorder:
    """Outputs and acks, remembered."""

    def __init__(self) -> None:
        self.sent: dict[str, list[Any]] = {"work": [], "alert": [], "muted": [], "dead": []}
        self.acked: list[Any] = []

    async def work(self, partition: int, value: bytes) -> None:
        self.sent["work"].append((partition, value))

    async def alert(self, key: bytes, value: bytes) -> None:
        self.sent["alert"].append((key, orjson.loads(value)))

    async def muted(self, key: bytes, value: bytes) -> None:
        self.sent["muted"].append((key, value))

    async def dead(self, key: bytes, value: bytes) -> None:
        self.sent["dead"].append((key, orjson.loads(value)))

    async def ack(self, token: Any) -> None:
        self.acked.append(token)


def test_offsets_are_acknowledged_only_under_a_saved_checkpoint() -> None:
    async def scenario() -> tuple[Recorder, MemoryCheckpointStore, Clock]:
        clock, out, store = Clock(), Recorder(), MemoryCheckpointStore()
        live = LiveWorker(settings(), registry(), out, store, clock=clock,
                          checkpoint_every_s=10)
        await live.on_assigned({P}, set())
        beat = encode_work("r", {}, [])
        await live.on_work([WorkItem(P, 0, beat, "beat-0")], out.ack)
        alarm = encode_work("r", {"iot/0": T0}, [smoke(1, T0, 1.0)])
        await live.on_work([WorkItem(P, 1, alarm, "alarm-1"), WorkItem(P, 2, beat, "beat-2")],
                           out.ack)
        assert out.acked == ["beat-0"] and store.saved == {}
        clock.t += 10
        await live.on_work([WorkItem(P, 3, beat, "beat-3")], out.ack)
        return out, store, clock

    out, store, _ = asyncio.run(scenario())
    assert out.acked == ["beat-0", "alarm-1", "beat-2", "beat-3"]
    assert store.saved[P].offset == 3
    assert [a["kind"] for _, a in out.sent["alert"]] == ["sensor_threshold"]
    assert out.sent["alert"][0][0] == b"grid-0103"


def test_partitions_due_together_are_checkpointed_one_per_batch_oldest_first() -> None:
    """Partitions opened together fall due together; a snapshot stalls the event loop,
    so each batch saves one (the longest unsaved), and every one is saved in turn."""
    async def scenario() -> list[list[int]]:
        clock, out, store = Clock(), Recorder(), MemoryCheckpointStore()
        live = LiveWorker(settings(), registry(), out, store, clock=clock,
                          checkpoint_every_s=10)
        await live.on_assigned({0, 1, 2}, set())
        for age, p in enumerate((2, 0, 1)):  # saved last: 2 longest ago, then 0, then 1
            live.work.states[p].last_checkpoint = clock.t + age
            live.work.states[p].dirty = True
        clock.t += 20
        saved = []
        for _ in range(4):
            await live.on_work([], out.ack)
            saved.append(sorted(store.saved))
        return saved

    assert asyncio.run(scenario()) == [[2], [0, 2], [0, 1, 2], [0, 1, 2]]


def test_shutdown_and_revoke_save_what_changed() -> None:
    async def scenario() -> MemoryCheckpointStore:
        out, store = Recorder(), MemoryCheckpointStore()
        live = LiveWorker(settings(), registry(), out, store, clock=Clock())
        await live.on_assigned({0, 1}, {"iot/0"})
        await live.on_work([WorkItem(0, 5, encode_work("r", {"iot/0": T0},
                                                       [smoke(1, T0, 1.0)]), "t")], out.ack)
        await live.on_revoked({0}, {"iot/0"})
        assert not live.work.has(0) and live.router.sources == {}
        await live.shutdown()
        return store

    store = asyncio.run(scenario())
    assert list(store.saved) == [0] and store.saved[0].offset == 5


# ---------------------------------------------------------------- registry topic


@pytest.mark.parametrize(("key", "raw", "error"), [
    (b"devices/d-9", orjson.dumps({"table": "devices", "row": {"device_id": "d-9",
                                                                "grid_id": "g-9"}}), None),
    (b"persons/p-00042", None, None),
    (b"x", b"{oops", "message: invalid JSON"),
    (b"x", b"[1]", "message: expected a JSON object"),
    (b"x", orjson.dumps({"table": "planets", "row": {}}), "table: must be one of"),
    (b"x", orjson.dumps({"table": "houses", "row": {"house_id": "h"}}), "grid_id"),
])
def test_registry_records_apply_or_become_dead_letters(key: bytes, raw: bytes | None,
                                                       error: str | None) -> None:
    reg = registry()
    letter = apply_registry_value(reg, key, raw, NOW)
    if error is None:
        assert letter is None
    else:
        assert letter is not None and letter["stream"] == "registry"
        assert error in letter["error"]
    reg.reindex()
    if key == b"devices/d-9":
        assert reg.device_grid("d-9") == "g-9"
    if key == b"persons/p-00042":
        assert "p-00042" not in reg.persons and reg.residents("h-001") == []

