"""End to end on the embedded broker: contract messages in, alerts and dead letters out.

Each test runs its own ``gridwatch worker`` subprocess on its own topics.
Expectations are waited for within time windows; the worker's log is shown
when one is not met.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest

from config.models import Settings
from gridwatch.contract import Alert, DeadLetter
from sinks.kafka import publish_registry

pytestmark = pytest.mark.e2e
DAY = "2026-11-22T"


def iot(n: int, minute: int, device: str, metric: str, value: float) -> dict[str, Any]:
    return {"event_id": f"i-{n}", "ts": f"{DAY}08:{minute:02d}:00+08:00",
            "device_id": device, "metric": metric, "value": value}


def smoke_alerts(values: list[Any], device: str) -> list[tuple[int, str, str]]:
    return [(a["seq"], a["status"], a["severity"]) for a in values
            if a["kind"] == "sensor_threshold" and a["subject"]["id"] == device]


def test_contract_messages_in_alerts_and_dead_letters_out(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, send: Any) -> None:
    """Single and batched messages; a smoke alarm on a registered device fires red with
    the registry's grid and assignee and the clear reading resolves it. Bad input of
    every kind is dead-lettered with a reason, and nothing is lost: every element sent
    is an alert (one smoke alarm per device) or a dead letter."""
    settings = e2e_settings()
    proc = worker(settings)
    t = settings.kafka.topics
    alerts, dead = topic(settings, t.alerts), topic(settings, t.deadletter)
    send(settings, t.iot, iot(1, 0, "sm-1001", "smoke", 0))
    send(settings, t.iot, iot(2, 5, "sm-1001", "smoke", 1))
    alerts.wait_for(lambda v: len(smoke_alerts(v, "sm-1001")) >= 1, worker=proc)
    first = alerts.values[0]
    Alert.model_validate(first)
    assert smoke_alerts(alerts.values, "sm-1001") == [(1, "firing", "red")]
    assert first["grid"]["grid_id"] == "grid-0103"
    assert first["assignee"] == {"worker_id": "w-0103", "police_id": "pol-17"}

    good = [iot(10 + i, 20 + i, f"sm-x{i}", "smoke", 1) for i in range(5)]
    send(settings, t.iot, [iot(3, 10, "sm-1001", "smoke", 0), iot(4, 10, "tm-9001",
                                                                   "temperature", 21.5)])
    send(settings, t.iot, b"{not json", {"event_id": "i-x", "ts": f"{DAY}08:00:00+08:00"},
         [good[0], {"event_id": "i-y", "ts": f"{DAY}08:21:00+08:00", "device_id": "d",
                    "metric": "smoke", "value": "high"}, good[1]],
         b"\xff\xfe\x00", None, good[2], [good[3], good[4]])
    send(settings, t.access, {"event_id": "a-1", "ts": f"{DAY}08:00:00+08:00",
                              "gate_id": "gate-07", "direction": "sideways", "method": "face"})
    send(settings, t.reports, [{"event_id": "r-1", "ts": f"{DAY}08:00:00+08:00",
                                "grid_id": "grid-0103", "category": "fire_hazard",
                                "source": "alien"}])
    alerts.wait_for(lambda v: len(smoke_alerts(v, "sm-1001")) >= 2, worker=proc)
    resolved = next(a for a in alerts.values if a["status"] == "resolved")
    assert (resolved["alert_id"], resolved["seq"]) == (first["alert_id"], 2)
    assert resolved["ends_at"] == f"{DAY}08:10:00+08:00"

    dead.wait_for(lambda v: len(v) >= 7, worker=proc)
    alerts.wait_for(lambda v: len(v) >= 7, worker=proc)
    for letter in dead.values:
        DeadLetter.model_validate(letter)
    errors = {(d["stream"], d["error"].split(":")[0]) for d in dead.values}
    assert errors == {("iot", "message"), ("iot", "device_id"), ("iot", "value"),
                      ("access", "direction"), ("report", "source")}
    assert any("invalid JSON" in d["error"] for d in dead.values)
    assert any("null" in d["error"] for d in dead.values)
    assert any(d["raw"].startswith('{"event_id":"i-y"') for d in dead.values)
    direction = next(d for d in dead.values if d["stream"] == "access")
    assert "must be 'in' or 'out'" in direction["error"]
    sent = 2 + 3 + 1 + 1 + 1 + 2 + 1 + 1  # elements of the bad-input round, each counted
    extra = [a for a in alerts.settle() if a["subject"]["id"] != "sm-1001"]
    assert len(extra) + len(dead.settle()) == sent
    assert {a["subject"]["id"] for a in extra} == {f"sm-x{i}" for i in range(5)}
    assert {a["grid"]["grid_id"] for a in extra} == {"unassigned"}


def test_the_registry_topic_feeds_routing_and_bad_records_are_dead_letters(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, send: Any) -> None:
    """A worker started without CSVs learns the registry from ``gw.registry``."""
    from conftest import DATA

    settings = e2e_settings()
    t = settings.kafka.topics
    assert publish_registry(DATA / "registry", settings.kafka) == 12
    send(settings, t.registry, {"table": "devices", "row": {"device_id": "sm-new",
                                                           "grid_id": "grid-0104"}},
         {"table": "spaceships", "row": {}}, b"[1, 2")
    proc = worker(settings, registry=None)
    send(settings, t.iot, [iot(1, 0, "sm-1001", "smoke", 1), iot(2, 0, "sm-new", "smoke", 1)])
    alerts = topic(settings, t.alerts)
    alerts.wait_for(lambda v: len(v) >= 2, worker=proc)
    grids = {a["subject"]["id"]: a["grid"]["grid_id"] for a in alerts.values}
    assert grids == {"sm-1001": "grid-0103", "sm-new": "grid-0104"}
    dead = topic(settings, t.deadletter).wait_for(lambda v: len(v) >= 2, worker=proc)
    assert [d["stream"] for d in dead] == ["registry", "registry"]
    assert "table" in dead[0]["error"] and "invalid JSON" in dead[1]["error"]


def test_a_restarted_worker_resumes_from_its_checkpoint(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, send: Any) -> None:
    """State survives a restart: the clear reading sent after it resolves the episode
    opened before it, and the redelivered alarm is not alerted twice."""
    settings = e2e_settings()
    t = settings.kafka.topics
    alerts = topic(settings, t.alerts)
    first = worker(settings)
    send(settings, t.iot, iot(1, 0, "sm-1001", "smoke", 1))
    alerts.wait_for(lambda v: len(v) >= 1, worker=first)
    first.stop()  # SIGTERM: the worker checkpoints and leaves the group
    second = worker(settings)
    send(settings, t.iot, iot(2, 5, "sm-1001", "smoke", 0))
    alerts.wait_for(lambda v: any(a["status"] == "resolved" for a in v), worker=second)
    updates = [(a["alert_id"], a["seq"], a["status"]) for a in alerts.settle()]
    assert updates == [(updates[0][0], 1, "firing"), (updates[0][0], 2, "resolved")]
    assert "opened from checkpoint" in second.log_path.read_text()


def test_idle_advance_fires_a_silence_alert_while_no_data_arrives(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, send: Any) -> None:
    """A device heard every 2 s of event time, then nothing: with no input at all,
    the watermark follows the wall clock and ``device_offline`` fires live."""
    settings = e2e_settings(
        pipeline={"allowed_lateness_s": 0, "idle_advance_s": 1},
        detectors={"device_offline": {"min_silence_s": 0, "min_history_s": 0,
                                      "same_report_s": 0, "group_delay_s": 0, "factor": 2,
                                      "min_reports": 2}})
    proc = worker(settings)
    beats = [{"event_id": f"h{i}", "ts": f"{DAY}08:00:{2 * i:02d}+08:00",
              "device_id": "tm-9001", "metric": "heartbeat", "value": 1} for i in range(10)]
    alerts = topic(settings, settings.kafka.topics.alerts)
    start = time.monotonic()
    send(settings, settings.kafka.topics.iot, beats)
    alerts.wait_for(lambda v: any(a["kind"] == "device_offline" for a in v), timeout_s=60,
                    worker=proc)
    offline = next(a for a in alerts.values if a["kind"] == "device_offline")
    assert offline["subject"]["id"] == "tm-9001" and offline["grid"]["grid_id"] == "grid-0104"
    assert time.monotonic() - start < 60


def live_equals_replay(city: Any, settings: Settings, worker: Any, topic: Any,
                       tmp_path: Any, timeout_s: float) -> None:
    """Replay ``city`` and publish it to a live worker: the alerts that fall due before
    the last event time minus the allowed lateness are the same. (Live, the rest waits
    for more data or the idle clock.)"""
    from gridwatch.registry import Registry
    from gridwatch.replay import replay
    from gridwatch.simulate.publish import publish
    from streams.worker import worker_settings

    replayed = tmp_path / "replay.jsonl"
    replay([city / "feed.jsonl"], Registry.from_dir(city / "registry"),
           worker_settings(None, None), replayed, show_progress=False)
    last = max(datetime.fromisoformat(orjson.loads(line)["ts"]).timestamp()
               for line in (city / "feed.jsonl").open("rb"))
    cutoff = last - settings.pipeline.allowed_lateness_s
    expected = {(a["alert_id"], a["seq"]) for a in map(orjson.loads, replayed.open("rb"))
                if datetime.fromisoformat(a["ts"]).timestamp() <= cutoff}
    assert len(expected) >= 5, "the city should produce alerts"
    proc = worker(settings, registry=city / "registry")
    t = settings.kafka.topics
    publish(city, bootstrap=settings.kafka.bootstrap_servers, speed=0,
            topics={"access": t.access, "iot": t.iot, "report": t.reports})
    alerts = topic(settings, t.alerts)
    alerts.wait_for(lambda v: {(a["alert_id"], a["seq"]) for a in v} >= expected,
                    timeout_s=timeout_s, worker=proc)
    got = {(a["alert_id"], a["seq"]) for a in alerts.settle(3.0)
           if datetime.fromisoformat(a["ts"]).timestamp() <= cutoff}
    assert got == expected


def test_live_alerts_equal_replay_on_a_simulated_city(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, tmp_path: Any) -> None:
    """The live path (router, per-source alignment, partition engines) gives the
    alerts replay gives, although three topics are read at their own pace."""
    from gridwatch.simulate import simulate

    city = tmp_path / "city"
    simulate(city, persons=80, days=5, seed=7)
    live_equals_replay(city, e2e_settings(), worker, topic, tmp_path, timeout_s=90)


def test_live_alerts_equal_replay_on_an_independently_simulated_city(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, tmp_path: Any) -> None:
    """The same on a city of ``bench/other_city.py``, written by someone who read only the
    contract: device clocks off by up to two minutes, lines up to 110 s late, messages
    delivered twice, daily meters, devices that blip offline."""
    import subprocess
    import sys
    from pathlib import Path

    city = tmp_path / "city"
    subprocess.run([sys.executable, str(Path(__file__).parents[1] / "bench" / "other_city.py"),
                    "--out", str(city), "--persons", "150", "--days", "9", "--seed", "5"],
                   check=True, capture_output=True, timeout=120)
    live_equals_replay(city, e2e_settings(), worker, topic, tmp_path, timeout_s=120)
