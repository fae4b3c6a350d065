"""Each adapter end to end into Kafka (embedded broker): good, bad and borderline input.

The MQTT bridge runs against a real Mosquitto started here; the tests skip
with the reason when the binary is missing (``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from config.bridge import BridgeSettings
from config.models import Settings, read_yaml
from gridwatch.adapters.producer import AsyncSink
from gridwatch.broker import free_port
from gridwatch.cli import main
from gridwatch.contract import parse_message
from gridwatch.runner import write_config

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parent.parent / "examples" / "mappings"
Topic = Any  # conftest.Topic: a reader of one topic from the beginning

TS = "2026-11-22T07:31:05+08:00"
EPOCH_MS = 1795303865123  # 2026-11-22T07:31:05.123+08:00


def events_of(values: list[Any]) -> list[dict[str, Any]]:
    """Flatten batched messages (each must be a JSON array of valid events)."""
    assert all(isinstance(v, list) for v in values), "adapters send arrays"
    return [item for batch in values for item in batch]


def read(topic: Topic, count: Callable[[list[Any]], int], n: int) -> list[Any]:
    topic.wait_for(lambda vs: count(vs) >= n, timeout_s=30)
    return topic.settle(1.0)


# ------------------------------------------------------------------ MQTT


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[int]:
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        pytest.skip("mosquitto not installed: apt-get install -y mosquitto (.ci/run does)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _listening(port):
        assert proc.poll() is None and time.monotonic() < deadline, "mosquitto did not start"
        time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(5)


def mqtt_publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.e2e
def test_mqtt_bridge_maps_vendor_payloads_into_kafka(
        mosquitto: int, e2e_settings: Callable[..., Settings],
        topic: Callable[[Settings, str], Topic]) -> None:
    from gridwatch.adapters.mqtt import MqttBridge

    settings = e2e_settings()
    bridge = BridgeSettings(mqtt={"port": mosquitto, "client_id": f"gw-{uuid.uuid4().hex}"},
                            batch_max=10, linger_ms=50,
                            mappings=example_mappings())
    runner = MqttBridge(settings, bridge)
    runner.start()
    try:
        assert runner.subscribed.wait(10), "bridge did not subscribe"
        smoke = [{"sn": "sm-1001", "type": "smoke", "state": "NORMAL", "ts": EPOCH_MS + i,
                  "bat": 100} for i in range(25)]  # bat 100 % → 1.0: the upper bound
        good = [(f"acmesense/d7/{s['sn']}/event", orjson.dumps(s)) for s in smoke] + [
            ("acmesense/d7/gs-1002/event", orjson.dumps(
                {"sn": "gs-1002", "type": "gas", "lel": 0, "ts": EPOCH_MS, "bat": 0})),
            ("hydrolink/up/868", orjson.dumps({"meterNo": 1001, "batteryPct": 50, "records": [
                {"readTime": "2026-11-22 07:00:00", "usedL": 12},
                {"readTime": "2026-11-22 7h", "usedL": 1}]}))]  # second record: bad time
        bad = [("acmesense/d7/x/event", b"{not json"),
               ("acmesense/d7/x/event", orjson.dumps({"type": "door"})),  # no mapping
               ("acmesense/d7/sm-1001/event", orjson.dumps(
                   {"sn": "sm-1001", "type": "smoke", "state": "FAULT", "ts": EPOCH_MS})),
               ("acmesense/d7/sm-1001/event", orjson.dumps(
                   {"sn": "sm-1001", "type": "smoke", "state": "ALARM",
                    "ts": EPOCH_MS // 1000, "bat": 120}))]  # seconds; battery > 100 %
        mqtt_publish(mosquitto, good + bad)
        iot = topic(settings, settings.kafka.topics.iot)
        values = read(iot, lambda vs: len(events_of(vs)), 27)
        events = events_of(values)
        assert len(events) == 27 and len(values) < 27  # batched
        for batch in values:
            ok, dead = parse_message("iot", orjson.dumps(batch), _now())
            assert not dead and len(ok) == len(batch)
        water = [e for e in events if e["metric"] == "water"]
        assert water == [{"event_id": "hl-1001-2026-11-22 07:00:00",
                          "ts": "2026-11-22T07:00:00+08:00", "device_id": "wm-1001",
                          "metric": "water", "value": 0.012, "unit": "m3", "battery": 0.5}]
        assert {e["battery"] for e in events if e["metric"] == "smoke"} == {1.0}
        dl = topic(settings, settings.kafka.topics.deadletter)
        letters = read(dl, len, 5)
        assert len(letters) == 5 and all(d["error"] and d["raw"] for d in letters)
        errors = " | ".join(d["error"] for d in letters)
        for reason in ("invalid JSON", "no mapping applies", "code 'FAULT'",
                       "seconds, not ms?", "does not match"):
            assert reason in errors
    finally:
        runner.stop()
    assert runner.counts["accepted"] == 27 and runner.counts["rejected"] == 5


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def example_mappings() -> list[Any]:
    data: list[Any] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data.extend(read_yaml(path)["mappings"])
    return data


# ------------------------------------------------------------------ HTTP


async def _client(settings: Settings) -> Any:
    from aiohttp.test_utils import TestClient, TestServer

    from gridwatch.adapters.http import kafka_app

    app, _ = await kafka_app(settings)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.mark.e2e
async def test_http_ingest_answers_per_item_and_produces(
        e2e_settings: Callable[..., Settings],
        topic: Callable[[Settings, str], Topic]) -> None:
    settings = e2e_settings()
    client = await _client(settings)
    try:
        good = {"event_id": "a-1", "ts": TS, "gate_id": "gate-07", "direction": "in",
                "method": "face", "person_id": "p-1", "confidence": 1}  # confidence at bound
        r = await client.post("/v1/access", data=orjson.dumps(good))
        assert r.status == 200 and (await r.json())["accepted"] == 1
        batch = [dict(good, event_id="a-2"), dict(good, direction="sideways"),
                 dict(good, event_id="a-3", ts="2026-11-22T07:31:05")]  # no offset
        r = await client.post("/v1/access", data=orjson.dumps(batch))
        body = await r.json()
        assert r.status == 200 and body["accepted"] == 1 and body["rejected"] == 2
        assert [x["status"] for x in body["results"]] == ["accepted", "error", "error"]
        assert "direction: must be 'in' or 'out'" in body["results"][1]["error"]
        r = await client.post("/v1/reports", data=orjson.dumps([{"event_id": "r-1"}]))
        assert r.status == 422 and (await r.json())["rejected"] == 1
        r = await client.post("/v1/iot", data=b"{oops")
        assert r.status == 400
        assert (await client.post("/v1/alerts", data=b"{}")).status == 404
        spec = await (await client.get("/openapi.json")).json()
        assert spec["openapi"] == "3.1.0" and "/v1/iot" in spec["paths"]
        assert "AccessIn" in spec["components"]["schemas"]
        assert (await (await client.get("/healthz")).json())["status"] == "ok"
    finally:
        await client.close()
    access = topic(settings, settings.kafka.topics.access)
    ids = [e["event_id"] for e in events_of(read(access, lambda v: len(events_of(v)), 2))]
    assert sorted(ids) == ["a-1", "a-2"]
    letters = read(topic(settings, settings.kafka.topics.deadletter), len, 4)
    assert sorted(d["stream"] for d in letters) == ["access", "access", "iot", "report"]
    assert all(d["error"] and d["raw"] for d in letters)


async def test_http_ingest_sheds_load_when_kafka_is_slow() -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from config.models import load_settings
    from gridwatch.adapters.http import make_app

    release = asyncio.Event()

    async def slow(topic: str, value: bytes, key: bytes) -> None:
        await release.wait()

    sink = AsyncSink(slow, batch_max=100, linger_s=0.01, max_pending=3)
    client = TestClient(TestServer(make_app(load_settings(), sink, slow)))
    await client.start_server()
    try:
        item = {"event_id": "i-1", "ts": TS, "device_id": "d", "metric": "gas", "value": 1}
        first = asyncio.ensure_future(client.post("/v1/iot", data=orjson.dumps([item] * 3)))
        await asyncio.sleep(0.1)
        r = await client.post("/v1/iot", data=orjson.dumps(item))
        assert r.status == 503 and r.headers["Retry-After"] == "1"
        release.set()
        assert (await first).status == 200
        r = await client.post("/v1/iot", data=orjson.dumps(item))
        assert r.status == 200 and sink.in_flight == 0
    finally:
        await client.close()


# ------------------------------------------------------------------ file import


@pytest.mark.e2e
def test_import_files_and_registry(tmp_path: Path, e2e_settings: Callable[..., Settings],
                                   topic: Callable[[Settings, str], Topic]) -> None:
    settings = e2e_settings()
    config = str(write_config(settings, tmp_path / "config.yaml"))
    csv_file = tmp_path / "iot.csv"
    csv_file.write_text(
        "event_id,ts,device_id,metric,value,unit,battery\n"
        f"i-1,{TS},wm-1001,water,0.012,m3,\n"            # empty battery: absent
        f"i-2,{TS},wm-1001,water,abc,m3,\n"               # line 3: value not a number
        "\n"
        f"i-3,{TS},sm-1001,smoke,1,,1.0\n"                # battery at the upper bound
        f"i-4,{TS},sm-1001,smoke,1,,0.5,extra\n",         # line 6: too many cells
        encoding="utf-8")
    assert main(["import", str(csv_file), "--stream", "iot", "--config", config]) == 0
    jsonl = tmp_path / "reports.jsonl"
    jsonl.write_text("\n".join([
        orjson.dumps({"event_id": "r-1", "ts": TS, "grid_id": "grid-0103",
                      "category": "fire_hazard", "source": "citizen", "text": "楼道堆放杂物"}
                     ).decode(),
        "{broken",
        orjson.dumps({"event_id": "r-2", "ts": TS, "grid_id": "g", "category": "c",
                      "source": "citizen", "lat": 91}).decode()]) + "\n", encoding="utf-8")
    assert main(["import", str(jsonl), "--stream", "reports", "--config", config]) == 0
    assert main(["import", "--registry", str(DATA / "registry"), "--config", config]) == 0

    iot = events_of(read(topic(settings, settings.kafka.topics.iot),
                         lambda v: len(events_of(v)), 2))
    assert [(e["event_id"], e["value"]) for e in iot] == [("i-1", 0.012), ("i-3", 1.0)]
    assert "battery" not in iot[0]
    reports = events_of(read(topic(settings, settings.kafka.topics.reports),
                             lambda v: len(events_of(v)), 1))
    assert [e["event_id"] for e in reports] == ["r-1"]
    letters = read(topic(settings, settings.kafka.topics.deadletter), len, 4)
    errors = sorted(d["error"] for d in letters)
    assert any(e.startswith("iot.csv line 3: value") for e in errors)
    assert any(e.startswith("iot.csv line 6: 8 cells") for e in errors)
    assert any(e.startswith("reports.jsonl line 2: invalid JSON") for e in errors)
    assert any(e.startswith("reports.jsonl line 3: lat") for e in errors)
    registry = read(topic(settings, settings.kafka.topics.registry), len, 1)
    assert {r["table"] for r in registry} >= {"grids", "devices"}


# ------------------------------------------------------------------ the walk-through


@pytest.mark.e2e
def test_mqtt_smoke_alarm_reaches_the_detectors(
        mosquitto: int, e2e_settings: Callable[..., Settings], worker: Any,
        topic: Callable[[Settings, str], Topic]) -> None:
    """docs/integrators.md, automated: an AcmeSense alarm on MQTT becomes a red alert."""
    from gridwatch.adapters.mqtt import MqttBridge

    settings = e2e_settings()
    proc = worker(settings)
    bridge = BridgeSettings(mqtt={"port": mosquitto, "client_id": f"gw-{uuid.uuid4().hex}"},
                            mappings=example_mappings())
    runner = MqttBridge(settings, bridge)
    runner.start()
    try:
        assert runner.subscribed.wait(10), "bridge did not subscribe"
        reading = {"sn": "AS3F21", "type": "smoke", "ts": EPOCH_MS, "bat": 87}
        mqtt_publish(mosquitto, [
            ("acmesense/daqing-07/sm-1001/event", orjson.dumps({**reading, "state": s,
                                                                 "ts": EPOCH_MS + i}))
            for i, s in enumerate(["NORMAL", "ALARM"])])
        alerts = topic(settings, settings.kafka.topics.alerts)
        alerts.wait_for(lambda vs: any(a["kind"] == "sensor_threshold" for a in vs),
                        timeout_s=60, worker=proc)
    finally:
        runner.stop()
    [alert] = [a for a in alerts.values if a["kind"] == "sensor_threshold"]
    assert alert["subject"] == {"type": "device", "id": "sm-1001"}
    assert alert["severity"] == "red" and alert["grid"]["grid_id"] == "grid-0103"
