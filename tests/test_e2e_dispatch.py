"""End to end on the embedded broker: notify → webhook exactly once after dedup; silences live.

Each test uses its own topics and consumer groups, so the tests share one
broker without seeing each other's messages.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from alertkit import TZ, city
from webhookd import Receiver

from config.alerts import Retry, WebhookSink
from config.models import Settings, load_settings
from gridwatch.cli import main
from gridwatch.events import Iot
from sinks.kafka import alert_record, send_records
from sinks.notify.runner import SinkLoop
from sinks.silence import SilenceBook
from sinks.silence_store import apply_silence_value
from sinks.topics import ensure_alert_topics
from streams.engine import Engine
from streams.follow import TopicFollower

pytestmark = pytest.mark.e2e
FAST = Retry(max_attempts=100, initial_backoff_s=0.05, max_backoff_s=0.2, give_up_after_s=60)


@pytest.fixture
def bootstrap(broker: Any) -> str:
    """The session broker of tests/conftest.py."""
    return str(broker.bootstrap)


def settings_for(bootstrap: str) -> tuple[Settings, str]:
    tag = uuid.uuid4().hex[:8]
    s = load_settings()
    topics = s.kafka.topics.model_copy(update={
        "alerts": f"t{tag}.alerts", "alerts_muted": f"t{tag}.alerts.muted",
        "alerts_undelivered": f"t{tag}.alerts.undelivered", "silences": f"t{tag}.silences"})
    kafka = s.kafka.model_copy(update={"bootstrap_servers": bootstrap, "topics": topics,
                                       "partitions": 2})
    notify = s.alerts.notify.model_copy(update={"group_prefix": f"t{tag}-notify"})
    alerts = s.alerts.model_copy(update={"notify": notify})
    return s.model_copy(update={"kafka": kafka, "alerts": alerts}), tag


def alert(n: int, grid: str, seq: int = 1) -> dict[str, Any]:
    return {"alert_id": f"gw-{n:04d}", "seq": seq, "kind": "stay_in", "status": "firing",
            "severity": "orange", "update": "opened", "subject": {"type": "person",
                                                                   "id": f"p-{n}"},
            "grid": {"grid_id": grid}, "assignee": {"worker_id": "w", "police_id": "p"},
            "starts_at": "2026-11-22T08:00:00+08:00", "ts": "2026-11-22T08:00:00+08:00",
            "summary": f"p-{n}", "evidence": {}, "routes": []}


def load_example() -> Any:
    """``examples/dispatch_consumer.py`` as a module (examples/ is not a package)."""
    path = Path(__file__).parents[1] / "examples" / "dispatch_consumer.py"
    spec = importlib.util.spec_from_file_location("dispatch_consumer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def wait_until(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def read_all(settings: Settings, topic: str, idle_s: float = 2.0) -> list[bytes]:
    from kafka import KafkaConsumer

    from gridwatch.broker import kafka_python_config

    consumer = KafkaConsumer(topic, **kafka_python_config(settings.kafka), group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=int(idle_s * 1000))
    try:
        return [m.value for m in consumer]
    finally:
        consumer.close()


def test_webhook_failing_for_a_while_gets_every_alert_exactly_once_after_dedup(
        bootstrap: str) -> None:
    settings, tag = settings_for(bootstrap)
    ensure_alert_topics(settings)
    alerts = [alert(n, f"g-{n % 3}", seq) for n in range(12) for seq in (1, 2)]
    redelivered = alerts[:5]  # at least once upstream: a worker restart resent these
    send_records(settings.kafka, settings.kafka.topics.alerts,
                 [alert_record(a) for a in alerts + redelivered])
    expected = {(a["alert_id"], a["seq"]) for a in alerts}
    with Receiver([503] * 6) as rx:
        sink = WebhookSink(name=f"wh-{tag}", url=rx.url, retry=FAST, batch_max=5)
        stop = threading.Event()
        loop = SinkLoop(settings, sink, stop)
        loop.start()
        wait_until(lambda: {(a["alert_id"], a["seq"]) for a in rx.accepted()} == expected)
        wait_until(lambda: loop.polls > 0 and loop.stage.stats["delivered"] >= len(alerts))
        time.sleep(1.0)  # let the last commit land
        stop.set()
        loop.join(10)
        assert rx.statuses()[:6] == [503] * 6 and rx.statuses()[-1] == 200
        got = [(a["alert_id"], a["seq"]) for a in rx.accepted()]
        assert set(got) == expected and len(got) >= len(expected)
        by_grid = [(a["grid"]["grid_id"], a["alert_id"], a["seq"]) for a in rx.accepted()]
        for grid in ("g-0", "g-1", "g-2"):  # one grid's updates arrive in queue order
            mine = [x for x in by_grid if x[0] == grid]
            first = [mine.index(x) for x in dict.fromkeys(mine)]
            assert first == sorted(first)

        # A restart of the sink resumes after the committed offsets: nothing new to send.
        requests = len(rx.statuses())
        stop2 = threading.Event()
        again = SinkLoop(settings, sink, stop2)
        again.start()
        time.sleep(3.0)
        stop2.set()
        again.join(10)
        assert len(rx.statuses()) == requests
    assert read_all(settings, settings.kafka.topics.alerts_undelivered, 1.0) == []

    # The example dispatch consumer dedups the same topic and shows a grid's queue.
    example = load_example()
    queue = example.consume(bootstrap, settings.kafka.topics.alerts, None, 2.0,
                            example.DispatchQueue())
    assert queue.duplicates == len(redelivered) and queue.seen == expected
    assert [a["alert_id"] for a in queue.open_queue("g-1")] == [
        f"gw-{n:04d}" for n in range(12) if n % 3 == 1]
    assert all(a["seq"] == 2 for a in queue.open_queue())


def test_a_refusing_receiver_sends_alerts_to_the_dead_letter_and_moves_on(
        bootstrap: str) -> None:
    settings, tag = settings_for(bootstrap)
    ensure_alert_topics(settings)
    alerts = [alert(n, "g-0") for n in range(3)]
    send_records(settings.kafka, settings.kafka.topics.alerts, [alert_record(a) for a in alerts])
    with Receiver(then=422) as rx:
        stop = threading.Event()
        loop = SinkLoop(settings, WebhookSink(name=f"wh-{tag}", url=rx.url, retry=FAST), stop)
        loop.start()
        wait_until(lambda: loop.stage.stats["dead"] == 3)
        stop.set()
        loop.join(10)
        assert rx.statuses() == [422]  # not recoverable: no retries
    [letter] = [orjson.loads(v) for v in read_all(settings,
                                                  settings.kafka.topics.alerts_undelivered)]
    assert [a["alert_id"] for a in letter["alerts"]] == ["gw-0000", "gw-0001", "gw-0002"]
    assert "HTTP 422" in letter["error"]


async def test_a_silence_mutes_then_expires(bootstrap: str, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = settings_for(bootstrap)
    monkeypatch.setenv("GRIDWATCH_KAFKA__TOPICS__SILENCES", settings.kafka.topics.silences)
    now = time.time()
    stamp = datetime.fromtimestamp(now - 3600, TZ).replace(microsecond=0).isoformat()
    until = datetime.fromtimestamp(now + 7200, TZ).replace(microsecond=0).isoformat()
    cli = ["--bootstrap", bootstrap]
    assert await asyncio.to_thread(main, ["silence", "add", *cli, "--match", "subject_id=d-1",
                                          "--start", stamp, "--until", until, "--reason", "维修",
                                          "--author", "op-t"]) == 0
    silence_id = capsys.readouterr().out.split()[1]

    book = SilenceBook()
    dead: list[dict[str, Any]] = []

    async def keep(letter: dict[str, Any]) -> None:
        dead.append(letter)
    follower = TopicFollower(settings, settings.kafka.topics.silences,
                             partial(apply_silence_value, book), keep)
    task = asyncio.create_task(follower.run())
    try:
        await asyncio.wait_for(follower.ready.wait(), 30)
        assert book.get(silence_id) is not None and dead == []

        engine = Engine(settings, city(), silences=book)
        assert engine.process([Iot("e1", now, "d-1", "smoke", 1.0)]) == []
        [muted] = engine.take_muted()
        assert muted["muted"]["silences"][0]["silence_id"] == silence_id
        assert engine.advance(now + 60) == []  # still silenced

        assert await asyncio.to_thread(main, ["silence", "expire", silence_id, *cli,
                                              "--reason", "repaired", "--author", "op-u"]) == 0
        for _ in range(100):
            current = book.get(silence_id)
            if current is not None and len(current.history) == 2:
                break
            await asyncio.sleep(0.1)
        ended = book.get(silence_id)
        assert ended is not None and ended.ends_at.timestamp() < now + 7200
        [released] = engine.advance(now + 120)
        assert released["update"] == "unmuted" and released["seq"] == 2
        # at the end of the silence (or the update's own time, if it ended before that)
        released_at = max(ended.ends_at.timestamp(), now)
        assert released["ts"] == datetime.fromtimestamp(released_at, TZ).isoformat()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    capsys.readouterr()
    assert await asyncio.to_thread(main, ["silence", "list", *cli, "--all"]) == 0
    listing = capsys.readouterr().out
    assert "expired by op-u: repaired" in listing and "created by op-t: 维修" in listing


def test_live_worker_mutes_a_silenced_alert_then_sends_it_when_the_silence_expires(
        e2e_settings: Callable[..., Settings], worker: Callable[..., Any],
        topic: Callable[..., Any], send: Callable[..., None], tmp_path: Path) -> None:
    """The whole live path: ``gridwatch silence`` → gw.silences → worker → gw.alerts(.muted)."""
    from gridwatch.runner import write_config

    settings = e2e_settings(pipeline={"allowed_lateness_s": 0, "idle_advance_s": 0.5})
    ensure_alert_topics(settings)
    config = str(write_config(settings, tmp_path / "cli.yaml"))
    now = time.time()
    start = datetime.fromtimestamp(now - 3600, TZ).replace(microsecond=0).isoformat()
    until = datetime.fromtimestamp(now + 3600, TZ).replace(microsecond=0).isoformat()
    assert main(["silence", "add", "--config", config, "--match", "subject_id=sm-1001",
                 "--start", start, "--until", until, "--reason", "烟感检修"]) == 0
    silence_id = next(orjson.loads(v)["silence_id"]
                      for v in read_all(settings, settings.kafka.topics.silences, 1.0))
    proc = worker(settings, Path(__file__).parent / "data" / "registry")
    alerts = topic(settings, settings.kafka.topics.alerts)
    muted = topic(settings, settings.kafka.topics.alerts_muted)

    def smoke(device: str, n: int) -> dict[str, Any]:
        ts = datetime.fromtimestamp(time.time(), TZ).isoformat()
        return {"event_id": f"e2e-{device}-{n}", "ts": ts, "device_id": device,
                "metric": "smoke", "value": 1}

    # a probe that is not silenced: once it is out, the worker runs and has read gw.silences
    send(settings, settings.kafka.topics.iot, smoke("gs-1002", 0))
    alerts.wait_for(lambda v: any(a["subject"]["id"] == "gs-1002" for a in v), 90, proc)
    send(settings, settings.kafka.topics.iot, smoke("sm-1001", 1))
    [held] = muted.wait_for(lambda v: len(v) == 1, 30, proc)
    assert held["subject"]["id"] == "sm-1001" and held["seq"] == 1
    assert held["muted"]["silences"][0]["silence_id"] == silence_id

    assert main(["silence", "expire", silence_id, "--config", config]) == 0
    got = alerts.wait_for(lambda v: any(a["subject"]["id"] == "sm-1001" for a in v), 30, proc)
    [released] = [a for a in got if a["subject"]["id"] == "sm-1001"]
    assert (released["alert_id"], released["seq"], released["update"]) == (
        held["alert_id"], 2, "unmuted")
