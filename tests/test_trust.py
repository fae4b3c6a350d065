"""Trust under failure, end to end on the embedded broker (issue 9, "Trust").

* ``kill -9`` of a worker under load, then a restart: after dedup on
  (``alert_id``, ``seq``) the alerts equal what ``gridwatch replay`` gives on
  the same feed (nothing lost, no episode duplicated), and a silence that
  began before the crash fires after it, on time, from restored state.
* Two workers, one stopped and restarted mid-feed (two rebalances): the same.
* The broker (durable ``s3://`` storage on a local moto server) stopped for
  10 s and restarted: the worker carries on by itself.
* No personal data in logs: the registry's unknown columns (a name, a phone)
  never reach the worker's log or the alerts; person ids, which are
  pseudonymous by contract, appear in alerts only.

A simulated city is replayed once per module; each scenario then publishes
it live on its own topics and compares. Only alerts due before the feed's last
event time minus the allowed lateness are compared: live, later ones wait for
more data or the idle clock (as in tests/test_e2e_pipeline.py).
"""

from __future__ import annotations

import csv
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from config.models import Settings
from gridwatch.broker import EmbeddedBroker, ensure_topics, free_port, kafka_python_config
from gridwatch.runner import CountingProducer, WorkerProcess

DAY = "2026-11-22T"
FEED_WALL_S = 25.0  # the city's feed is published over about this many wall seconds
# The feed runs ~17,000× faster than real time, so the default allowed lateness (300 s)
# would be 17 ms of wall: less than two workers' fetches of a sparse source can lag
# each other (20-50 ms measured), and a returning source's first event then arrives
# behind a watermark another worker's source moved on. Real time gives 300 wall seconds
# of margin; the scenarios give their workers and replay this many.
LATENESS_WALL_S = 0.5
SILENCE_KINDS = {"stay_in", "out_no_return", "long_absent", "no_usage", "device_offline"}
Key = tuple[str, int]


# ---------------------------------------------------------------- the city


@dataclass(frozen=True)
class City:
    """A simulated city, its replayed alerts and the personal data planted in it."""

    path: Path
    expected: set[Key]  # (alert_id, seq) replay gives, up to ``cutoff``
    replayed: dict[Key, dict[str, Any]]
    cutoff: float  # epoch seconds
    span_s: float  # event seconds from first to last event
    lateness_s: float  # allowed lateness of replay and of the scenarios' workers
    names: list[str]
    phones: list[str]
    person_ids: list[str]


def _second_grid(first: str) -> str:
    """A grid id that CRC-32 puts on the other of two work partitions."""
    n = 2
    while zlib.crc32(f"grid-09{n:02d}".encode()) % 2 == zlib.crc32(first.encode()) % 2:
        n += 1
    return f"grid-09{n:02d}"


def _rewrite(path: Path, change: Callable[[list[dict[str, str]]], list[str] | None]) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    fields += change(rows) or []
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)


def _split_and_plant(registry: Path) -> tuple[list[str], list[str]]:
    """Move every other building (doors, devices) to a second grid on the other
    work partition, so two workers both hold state; add ``name`` and ``phone``
    columns to persons.csv, which the contract does not know (they must be ignored)."""
    grids = list(csv.DictReader((registry / "grids.csv").open(encoding="utf-8")))
    first = grids[0]["grid_id"]
    second = _second_grid(first)
    moved: set[str] = set()

    def add_grid(rows: list[dict[str, str]]) -> None:
        rows.append({**rows[0], "grid_id": second, "name": "第二网格"})

    def houses(rows: list[dict[str, str]]) -> None:
        buildings = sorted({row["building_id"] for row in rows})
        for row in rows:  # whole buildings: a building outage is judged on one partition
            if buildings.index(row["building_id"]) % 2:
                row["grid_id"] = second
                moved.add(row["house_id"])

    def by_house(rows: list[dict[str, str]]) -> None:
        for i, row in enumerate(rows):
            if row.get("house_id") in moved or (not row.get("house_id") and i % 2
                                               and row.get("grid_id")):
                row["grid_id"] = second if row.get("grid_id") else ""

    names: list[str] = []
    phones: list[str] = []

    def persons(rows: list[dict[str, str]]) -> list[str]:
        for i, row in enumerate(rows):
            row["name"] = f"张伟{chr(0x4E00 + i)}"
            row["phone"] = f"1390451{i:04d}"
            names.append(row["name"])
            phones.append(row["phone"])
        return ["name", "phone"]

    _rewrite(registry / "grids.csv", add_grid)
    _rewrite(registry / "houses.csv", houses)
    _rewrite(registry / "gates.csv", by_house)
    _rewrite(registry / "devices.csv", by_house)
    _rewrite(registry / "persons.csv", persons)
    return names, phones


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """80 persons, 5 days, two grids on two partitions; replayed with default settings
    but for the allowed lateness (``LATENESS_WALL_S`` of the published feed's wall time)."""
    from gridwatch.registry import Registry
    from gridwatch.replay import replay
    from gridwatch.simulate import simulate
    from streams.worker import worker_settings

    root = tmp_path_factory.mktemp("trust")
    path = root / "city"
    simulate(path, persons=80, days=5, seed=7)
    names, phones = _split_and_plant(path / "registry")
    registry = Registry.from_dir(path / "registry")
    assert not registry.errors and len({registry.person_grid(p) for p in registry.persons}) == 2
    out = root / "replay.jsonl"
    times = [datetime.fromisoformat(orjson.loads(line)["ts"]).timestamp()
             for line in (path / "feed.jsonl").open("rb")]
    span = max(times) - min(times)
    settings = worker_settings(None, None)
    pipeline = settings.pipeline.model_copy(
        update={"allowed_lateness_s": round(span / FEED_WALL_S * LATENESS_WALL_S)})
    settings = settings.model_copy(update={"pipeline": pipeline})
    replay([path / "feed.jsonl"], registry, settings, out, show_progress=False)
    cutoff = max(times) - pipeline.allowed_lateness_s
    replayed = {(a["alert_id"], a["seq"]): a for a in map(orjson.loads, out.open("rb"))
                if _ts(a) <= cutoff}
    assert len(replayed) >= 10, "the simulated city should produce alerts"
    return City(path, set(replayed), replayed, cutoff, span, pipeline.allowed_lateness_s,
                names, phones, sorted(registry.persons))


def _ts(alert: dict[str, Any]) -> float:
    return datetime.fromisoformat(alert["ts"]).timestamp()


# ---------------------------------------------------------------- helpers


class Feed:
    """The city's feed published from a thread at a pace that takes ``FEED_WALL_S``."""

    def __init__(self, city: City, settings: Settings) -> None:
        from kafka import KafkaProducer

        t = settings.kafka.topics
        self.topics = {"access": t.access, "iot": t.iot, "report": t.reports}
        self.producer = CountingProducer(KafkaProducer(**kafka_python_config(settings.kafka),
                                                       linger_ms=5, acks="all"))
        self.speed = city.span_s / FEED_WALL_S
        self.path = city.path / "feed.jsonl"
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from gridwatch.simulate.publish import publish

        try:
            publish(self.path, topics=self.topics, speed=self.speed, producer=self.producer)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            self.error = exc
        finally:
            self.done.set()

    def join(self) -> None:
        assert self.done.wait(120), "publishing did not finish"
        assert self.error is None, repr(self.error)
        self.producer.close()


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """The log end offset of each partition of ``topic``."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None)
    try:
        parts = consumer.partitions_for_topic(topic) or {0}
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return {tp.partition: int(offset) for tp, offset in ends.items()}
    finally:
        consumer.close()


def committed(settings: Settings, topic: str) -> dict[int, int]:
    """The worker group's committed offsets of ``topic`` (partitions without one: absent).

    A consumer with the group's id that never subscribes only fetches offsets:
    it does not join the group, so it causes no rebalance.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_python_config(settings.kafka),
                             group_id=settings.kafka.group_id, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or {0}
        out = {p: consumer.committed(TopicPartition(topic, p)) for p in sorted(parts)}
        return {p: int(offset) for p, offset in out.items() if offset is not None}
    finally:
        consumer.close(autocommit=False)


def caught_up(settings: Settings, topic: str, ends: dict[int, int]) -> bool:
    """The group's committed offsets of ``topic`` have reached ``ends``."""
    done = committed(settings, topic)
    return all(done.get(p, 0) >= end for p, end in ends.items())


def wait_until(check: Callable[[], bool], timeout_s: float, what: str,
               proc: WorkerProcess | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s:.0f}s\n"
                        f"{proc.tail(30) if proc is not None else ''}")
        if proc is not None and proc.exit_code() is not None:
            pytest.fail(f"worker exited with {proc.exit_code()}:\n{proc.tail(30)}")
        time.sleep(0.5)


def kill9(proc: WorkerProcess) -> None:
    """SIGKILL: no checkpoint on the way out, no commit, no leaving the group."""
    assert proc.proc is not None and proc.proc.poll() is None, proc.tail(30)
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(10)


def checkpoints_saved(settings: Settings) -> int:
    from gridwatch.broker import checkpoint_topic

    return sum(end_offsets(settings, checkpoint_topic(settings)).values())


def unrouted(settings: Settings, city: City) -> list[str]:
    """Feed event ids that never reached ``gw.work``: input the routers lost."""
    from kafka import KafkaConsumer, TopicPartition

    from streams.workmsg import decode_work

    ends = end_offsets(settings, settings.kafka.topics.work)
    consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    routed: set[str] = set()
    try:
        tps = [TopicPartition(settings.kafka.topics.work, p) for p in ends]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp.partition] for tp in tps):
            assert time.monotonic() < deadline, "reading gw.work stalled"
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    routed.update(e.event_id for e in decode_work(r.value).events)
    finally:
        consumer.close()
    return [eid for line in (city.path / "feed.jsonl").open("rb")
            if (eid := orjson.loads(line)["event_id"]) not in routed]


def assert_same_as_replay(city: City, alerts: list[dict[str, Any]]) -> None:
    """Dedup on (alert_id, seq) gives replay's set, and a repeated update is identical."""
    first: dict[Key, dict[str, Any]] = {}
    for alert in alerts:
        key = (alert["alert_id"], alert["seq"])
        if key in first:
            assert alert == first[key], f"update {key} re-emitted with other content"
        first[key] = alert
    got = {k for k, a in first.items() if _ts(a) <= city.cutoff}

    def show(keys: set[Key], source: dict[Key, dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((source[k]["kind"], source[k]["subject"]["id"], k[1],
                       source[k]["status"], source[k]["starts_at"], source[k]["ts"])
                      for k in keys)

    extra, lost = got - city.expected, city.expected - got
    assert not extra, f"alerts replay does not give: {show(extra, first)}"
    assert not lost, f"alerts lost: {show(lost, city.replayed)}"
    for key in city.expected:
        mine, theirs = first[key], city.replayed[key]
        assert (mine["status"], mine["ts"], mine["severity"]) == \
            (theirs["status"], theirs["ts"], theirs["severity"])


def assert_no_personal_data(city: City, logs: list[Path], alerts: list[dict[str, Any]]) -> None:
    """Names and phones (unknown registry columns) nowhere; person ids only in alerts."""
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    blob = orjson.dumps(alerts).decode()
    for secret in city.names + city.phones:
        assert secret not in text, f"{secret!r} in a worker log"
        assert secret not in blob, f"{secret!r} in an alert"
    leaked = [p for p in city.person_ids if p in text]
    assert not leaked, f"person ids in worker logs: {leaked[:5]}"


def city_round(settings: Settings, worker: Any, topic: Any, city: City) -> tuple[Any, Feed]:
    """Start a worker, wait until it has joined, start publishing the city."""
    proc = worker(settings, registry=city.path / "registry")
    wait_until(lambda: "assigned work partitions" in proc.log_path.read_text(), 60,
               "worker joined", proc)
    return proc, Feed(city, settings)


# ---------------------------------------------------------------- scenarios


@pytest.mark.e2e
def test_kill_9_under_load_loses_and_duplicates_nothing(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, city: City) -> None:
    """SIGKILL while the city is being published and processed, restart at once: the
    alerts, deduplicated, equal replay's; the worker's log and the alerts hold no
    personal data."""
    settings = e2e_settings(pipeline={"allowed_lateness_s": city.lateness_s})
    alerts = topic(settings, settings.kafka.topics.alerts)
    first, feed = city_round(settings, worker, topic, city)
    alerts.wait_for(lambda v: len(v) >= 1, timeout_s=60, worker=first)
    wait_until(lambda: checkpoints_saved(settings) > 0, 30, "a first checkpoint", first)
    assert not feed.done.is_set(), "the crash should come while the feed is being published"
    kill9(first)
    before = len(alerts.values)
    second = worker(settings, registry=city.path / "registry")
    feed.join()
    alerts.wait_for(lambda v: {(a["alert_id"], a["seq"]) for a in v} >= city.expected,
                    timeout_s=120, worker=second)
    values = alerts.settle(3.0)
    assert 0 < before < len(values), "alerts both before and after the crash"
    lost = unrouted(settings, city)
    assert not lost, f"{len(lost)} input events never routed, e.g. {lost[:5]}"
    assert_same_as_replay(city, values)
    assert "opened from checkpoint" in second.log_path.read_text()
    second.stop()
    assert_no_personal_data(city, [first.log_path, second.log_path], values)


@pytest.mark.e2e
def test_two_workers_one_stopped_and_restarted_rebalance_cleanly(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, city: City) -> None:
    """Two workers share the partitions; one leaves mid-feed (its partitions move to
    the other, checkpointed on revoke) and comes back (they move again): the alerts,
    deduplicated, equal replay's."""
    settings = e2e_settings(pipeline={"allowed_lateness_s": city.lateness_s})
    alerts = topic(settings, settings.kafka.topics.alerts)
    a = worker(settings, registry=city.path / "registry")
    b, feed = city_round(settings, worker, topic, city)
    wait_until(lambda: "assigned work partitions" in a.log_path.read_text(), 30,
               "both workers joined", a)
    alerts.wait_for(lambda v: len(v) >= 1, timeout_s=60, worker=a)
    b.stop()  # SIGTERM: checkpoints, leaves the group; a takes everything
    time.sleep(5)
    assert not feed.done.is_set(), "the rebalances should come while data flows"
    c = worker(settings, registry=city.path / "registry")
    feed.join()
    alerts.wait_for(lambda v: {(x["alert_id"], x["seq"]) for x in v} >= city.expected,
                    timeout_s=120, worker=a)
    values = alerts.settle(3.0)
    lost = unrouted(settings, city)
    assert not lost, f"{len(lost)} input events never routed, e.g. {lost[:5]}"
    assert_same_as_replay(city, values)
    assert c.exit_code() is None and a.exit_code() is None
    for proc in (a, b, c):
        proc.stop()
    logs = [p.log_path for p in (a, b, c)]
    assert any("opened from checkpoint" in p.read_text() for p in logs), \
        "a moved partition should resume from its previous owner's checkpoint"
    assert_no_personal_data(city, logs, values)


@pytest.mark.e2e
def test_a_silence_begun_before_a_kill_9_fires_on_time_after_restart(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, send: Any,
        tmp_path: Path) -> None:
    """A device reports every 30 s, then goes silent. Once its readings are committed
    (input and work offsets, so they are never read again) the worker is SIGKILLed;
    the restarted worker knows the device only from its checkpoint. A later reading
    of another device moves event time on, and ``device_offline`` fires with exactly
    the update replay gives on the same feed."""
    from conftest import DATA

    from gridwatch.registry import Registry
    from gridwatch.replay import replay

    settings = e2e_settings(
        pipeline={"allowed_lateness_s": 0, "idle_advance_s": 1},
        detectors={"device_offline": {"min_silence_s": 0, "min_history_s": 0,
                                      "same_report_s": 0, "group_delay_s": 0, "factor": 2,
                                      "min_reports": 2}})
    t = settings.kafka.topics
    beats = [{"event_id": f"h{i}", "ts": f"{DAY}08:{i // 2:02d}:{30 * (i % 2):02d}+08:00",
              "device_id": "tm-9001", "metric": "heartbeat", "value": 1} for i in range(10)]
    later = {"event_id": "g1", "ts": f"{DAY}08:12:00+08:00", "device_id": "gs-1002",
             "metric": "gas", "value": 0.0}
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"".join(orjson.dumps({**e, "stream": "iot"}) + b"\n"
                              for e in [*beats, later]))
    replay([feed], Registry.from_dir(DATA / "registry"), settings, tmp_path / "out.jsonl",
           show_progress=False)
    expected = [a for a in map(orjson.loads, (tmp_path / "out.jsonl").open("rb"))
                if a["kind"] == "device_offline"]
    assert expected, "replay should see the device go offline"

    alerts = topic(settings, t.alerts)
    first = worker(settings)
    send(settings, t.iot, beats)
    wait_until(lambda: caught_up(settings, t.iot, end_offsets(settings, t.iot)), 60,
               "input offsets committed", first)
    work_end = end_offsets(settings, t.work)
    wait_until(lambda: caught_up(settings, t.work, work_end), 40,
               "work offsets committed under a checkpoint", first)
    alerts.poll()
    assert not [a for a in alerts.values if a["kind"] == "device_offline"], \
        "the silence should still be running at the crash"
    kill9(first)
    second = worker(settings)
    send(settings, t.iot, later)
    alerts.wait_for(lambda v: any(a["kind"] == "device_offline" for a in v), timeout_s=60,
                    worker=second)
    got = [a for a in alerts.settle(2.0) if a["kind"] == "device_offline"
           and _ts(a) <= _ts(later)]
    assert got[:len(expected)] == expected
    assert "opened from checkpoint" in second.log_path.read_text()


# ---------------------------------------------------------------- broker outage


@pytest.fixture
def durable_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A Tansu broker of its own whose storage is ``s3://tansu/`` on a moto server."""
    import logging

    boto3 = pytest.importorskip("boto3", reason="dev dependency moto[server] is needed")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    s3.start()
    env = {"AWS_ENDPOINT": f"http://127.0.0.1:{port}", "AWS_ALLOW_HTTP": "true",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "eu-west-2", "AWS_REGION": "eu-west-2"}
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT"], aws_access_key_id="test",
                 aws_secret_access_key="test", region_name="eu-west-2").create_bucket(
        Bucket="tansu", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log", storage="s3://tansu/", env=env)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
        s3.stop()


@pytest.mark.e2e
def test_the_worker_recovers_by_itself_when_the_broker_is_down_for_10_s(
        durable_broker: EmbeddedBroker, worker: Any, topic: Any, send: Any) -> None:
    """Durable broker stopped for 10 s under a running worker, then started again on
    the same port: the worker was not restarted, yet an episode opened before the
    outage is resolved by a reading sent after it (its state lived on), and a new
    alarm after it is alerted."""
    from conftest import unique_settings

    settings = unique_settings(durable_broker.bootstrap)
    ensure_topics(settings)
    t = settings.kafka.topics
    proc = worker(settings)
    send(settings, t.iot, {"event_id": "i-1", "ts": f"{DAY}08:00:00+08:00",
                           "device_id": "sm-1001", "metric": "smoke", "value": 1})
    alerts = topic(settings, t.alerts)
    alerts.wait_for(lambda v: len(v) >= 1, timeout_s=60, worker=proc)
    alerts.close()
    durable_broker.stop()
    time.sleep(10)
    durable_broker.start()
    assert proc.exit_code() is None, proc.tail(30)
    send(settings, t.iot, {"event_id": "i-2", "ts": f"{DAY}08:05:00+08:00",
                           "device_id": "sm-1001", "metric": "smoke", "value": 0},
         {"event_id": "i-3", "ts": f"{DAY}08:06:00+08:00", "device_id": "gs-1002",
          "metric": "smoke", "value": 1})
    after = topic(settings, t.alerts)  # the log from the start: kept across the restart
    after.wait_for(lambda v: len(v) >= 3, timeout_s=90, worker=proc)
    updates = sorted((a["subject"]["id"], a["seq"], a["status"]) for a in after.settle(2.0))
    assert updates == [("gs-1002", 1, "firing"), ("sm-1001", 1, "firing"),
                       ("sm-1001", 2, "resolved")]


# ---------------------------------------------------------------- handover (no broker)


def _router_with_one_reading(settings: Settings, router_id: str) -> tuple[Any, float | None]:
    """A router that routed one meter reading of source ``iot/0`` at wall time 100, and
    the event time it then reported for that source."""
    from gridwatch.registry import Registry
    from streams.router import Router

    router = Router(settings, Registry(), router_id=router_id)
    batch = orjson.dumps({"event_id": "i-1", "ts": f"{DAY}08:00:00+08:00",
                          "device_id": "d-1", "metric": "water", "value": 1})
    router.route("iot", [(0, 5, batch)], now=100.0)
    return router, router.active(100.0)["iot/0"]


def test_a_revoked_source_holds_event_time_until_its_new_owner_reports_it() -> None:
    """In a rebalance every router gives up its sources first. The old owner keeps
    reporting each one at its last routed time for a while, so a work partition
    never hears "no active source" (which would release its whole buffer, ahead
    of the events the new owner is about to route) — found by the rebalance test."""
    from gridwatch.registry import Registry
    from streams.partitions import HANDOVER_S, WorkProcessor
    from streams.workmsg import WorkMessage

    settings = Settings()
    router, t = _router_with_one_reading(settings, "old")
    router.revoke(["iot/0"], now=100.5)
    assert router.active(101.0) == {"iot/0": t}
    assert router.active(100.5 + HANDOVER_S + 1) == {}
    router.assign(["iot/0"], now=102.0)  # back to us: read again from the commit
    assert router.active(102.5) == {"iot/0": None}

    work = WorkProcessor(settings, Registry(), clock=lambda: 0.0)
    state = work.open(0, None)
    assert t is not None
    work._heard(state, WorkMessage("dying", {"iot/0": t, "access/0": None}, [], 10.0))
    work._heard(state, WorkMessage("alive", {}, [], 14.0))  # "dying" timed out
    assert work.bound(state) == t, "a stopped worker's active source is held"
    work._heard(state, WorkMessage("new", {"iot/0": None}, [], 15.0))
    assert work.bound(state) == float("-inf"), "its new owner has not read it yet"
    work._heard(state, WorkMessage("new", {"iot/0": t + 60}, [], 16.0))
    assert work.bound(state) == t + 60


def test_a_stopped_workers_idle_source_holds_event_time_until_its_new_owner_reports_it(
        ) -> None:
    """A stopped or killed worker gives up no source: its router just falls silent. A
    source it had read to its end was in none of its claims, yet data reaches it before
    the new owner reads it; a work partition holds it at its last time meanwhile (the
    rebalance test once had a day of one gate's passes routed behind the watermark)."""
    from gridwatch.registry import Registry
    from streams.partitions import WorkProcessor
    from streams.workmsg import WorkMessage, decode_work

    settings = Settings()
    router, t = _router_with_one_reading(settings, "dying")
    assert t is not None
    quiet = 100.0 + settings.pipeline.idle_advance_s + 1
    assert router.active(quiet) == {}, "read to its end long ago: it holds nothing back"
    beat = decode_work(router.heartbeats(quiet)[0][1])
    assert beat.idle == {"iot/0": t}

    work = WorkProcessor(settings, Registry(), clock=lambda: 0.0)
    state = work.open(0, None)
    work._heard(state, beat)
    work._heard(state, WorkMessage("alive", {"access/0": t + 3600}, [], quiet + 4))
    assert work.bound(state) == t, "the silent router's idle source is held"
    work._heard(state, WorkMessage("new", {}, [], quiet + 5, idle={"iot/0": t}))
    assert work.bound(state) == t + 3600, "its new owner found it idle too"


# ---------------------------------------------------------------- security (no broker)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """A self-signed CA certificate and key (as CA bundle and as mTLS client pair)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    root = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gridwatch-test")])
    now = datetime.now().astimezone()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now.replace(year=now.year + 1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (root / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(root / "ca.pem"), str(root / "ca.pem"), str(root / "key.pem")


def kafka_settings(**kafka: Any) -> Settings:
    return Settings(kafka={"bootstrap_servers": "k1:9093,k2:9093", **kafka})


async def test_tls_and_sasl_settings_become_each_clients_options(
        tls_files: tuple[str, str, str]) -> None:
    """One config section secures all three client libraries alike: kafka-python
    (admin, publishers, readers), aiokafka (checkpoint and registry readers) and
    Faust (``broker_credentials``, turned into aiokafka options by Faust itself);
    each client accepts the options it is given."""
    import ssl

    from aiokafka import AIOKafkaConsumer
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
    from kafka import KafkaConsumer

    from gridwatch.broker import aiokafka_config, faust_credentials

    ca, cert, key = tls_files
    plain = kafka_settings().kafka
    assert kafka_python_config(plain) == {"bootstrap_servers": ["k1:9093", "k2:9093"],
                                          "security_protocol": "PLAINTEXT"}
    assert faust_credentials(plain) is None
    cases = {
        "SSL": dict(security_protocol="SSL", ssl_cafile=ca, ssl_certfile=cert,
                    ssl_keyfile=key),
        "SASL_PLAINTEXT": dict(security_protocol="SASL_PLAINTEXT", sasl_username="gw",
                               sasl_password="s3cret"),
        "SASL_SSL": dict(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                         sasl_username="gw", sasl_password="s3cret", ssl_cafile=ca),
    }
    for protocol, options in cases.items():
        kafka = kafka_settings(**options).kafka
        py, aio = kafka_python_config(kafka), aiokafka_config(kafka)
        faust_opts = credentials_to_aiokafka_auth(faust_credentials(kafka))
        for cfg in (py, aio, faust_opts):
            assert cfg["security_protocol"] == protocol
        if protocol.startswith("SASL"):
            mechanism = options.get("sasl_mechanism", "PLAIN")
            for cfg in (py, aio, faust_opts):
                assert (cfg["sasl_mechanism"], cfg["sasl_plain_username"],
                        cfg["sasl_plain_password"]) == (mechanism, "gw", "s3cret")
        if protocol.endswith("SSL"):
            assert (py["ssl_cafile"], py["ssl_check_hostname"]) == (ca, True)
            assert py.get("ssl_certfile") == options.get("ssl_certfile")
            for ctx in (aio["ssl_context"], faust_opts["ssl_context"]):
                assert isinstance(ctx, ssl.SSLContext)
                assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        else:
            assert "ssl_context" not in aio and faust_opts.get("ssl_context") is None
        KafkaConsumer(**py, api_version=(2, 5)).close()  # options accepted, no connection
        consumer = AIOKafkaConsumer(**aio)
        await consumer.stop()


def test_the_sasl_password_is_never_printed_nor_written_when_it_is_in_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from config.models import load_settings
    from gridwatch.runner import write_config

    monkeypatch.setenv("GRIDWATCH_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("GRIDWATCH_KAFKA__SASL_USERNAME", "gw")
    monkeypatch.setenv("GRIDWATCH_KAFKA__SASL_PASSWORD", "s3cret")
    settings = load_settings()
    assert kafka_python_config(settings.kafka.model_copy(
        update={"bootstrap_servers": "k:1"}))["sasl_plain_password"] == "s3cret"
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())
    config = write_config(settings, tmp_path / "config.yaml")
    assert "s3cret" not in config.read_text()
    monkeypatch.delenv("GRIDWATCH_KAFKA__SASL_PASSWORD")
    from_file = Settings(kafka={"security_protocol": "SASL_PLAINTEXT", "sasl_username": "gw",
                                "sasl_password": "s3cret"})
    written = write_config(from_file, tmp_path / "config2.yaml")
    assert "s3cret" in written.read_text() and written.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("kafka", "error"), [
    ({"security_protocol": "SASL_SSL", "sasl_username": "gw"}, "needs sasl_username and"),
    ({"sasl_username": "gw"}, "need security_protocol SASL"),
    ({"ssl_cafile": "/ca.pem"}, "need security_protocol SSL"),
    ({"security_protocol": "SSL", "ssl_keyfile": "/k.pem"}, "needs ssl_certfile"),
])
def test_half_a_security_setup_is_refused_at_start(kafka: dict[str, Any], error: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=error):
        Settings(kafka=kafka)
