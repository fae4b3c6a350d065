"""Vendor mappings: paths, units, timestamps, value maps, and reasons for every failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from config.bridge import BridgeSettings, Mapping
from config.models import read_yaml
from gridwatch.adapters.mapping import MISSING, apply, resolve
from gridwatch.adapters.mqtt import route
from gridwatch.adapters.producer import Batcher
from gridwatch.contract import parse_item

EXAMPLES = Path(__file__).parent.parent / "examples" / "mappings"


def mapping(**fields: Any) -> Mapping:
    base: dict[str, Any] = {"event_id": {"path": "id"}, "ts": {"path": "t", "time": "epoch_s"},
                            "device_id": "dev", "metric": {"const": "gas"}, "value": "v"}
    base.update(fields)
    return Mapping(name="m", stream="iot", fields={k: v for k, v in base.items() if v})


def one(m: Mapping, payload: Any, topic: str = "") -> tuple[dict[str, Any] | None, str | None]:
    [out] = apply(m, orjson.dumps(payload), topic)
    assert (out.message is None) != (out.error is None)
    return out.message, out.error


IOT = {"ts": "t", "device_id": "d", "metric": "m", "value": "v"}
GOOD = {"id": "e1", "t": 1795303800, "dev": "gs-1", "v": 12.5}


def test_plain_paths_give_a_valid_contract_message() -> None:
    msg, err = one(mapping(), GOOD)
    assert err is None and msg is not None
    assert msg == {"event_id": "e1", "ts": "2026-11-22T07:30:00+08:00", "device_id": "gs-1",
                   "metric": "gas", "value": 12.5}
    parse_item("iot", msg)


@pytest.mark.parametrize(("payload", "path", "expected"), [
    ({"a": {"b": [1, {"c": 7}]}}, "a.b.1.c", 7),
    ({"a": [5, 6]}, "a.-1", 6),
    ({"a": {"b": 1}}, "a.x", MISSING),
    ({"a": [1]}, "a.3", MISSING),
    ({"a.b": 1}, "a.b", MISSING),
])
def test_resolve_paths(payload: Any, path: str, expected: Any) -> None:
    assert resolve(payload, path) is expected or resolve(payload, path) == expected


@pytest.mark.parametrize(("spec", "raw", "value"), [
    ({"path": "v", "scale": 0.001}, 12000, 12.0),            # litres → m³
    ({"path": "v", "scale": 0.1, "offset": -40}, 650, 25.0),  # raw tenths with offset
    ({"path": "v"}, "3.5", 3.5),                              # numeric text
    ({"path": "v", "map": {"ALARM": 1, "NORMAL": 0}}, "ALARM", 1),
    ({"path": "v", "map": {"true": 1, "false": 0}}, False, 0),
])
def test_units_and_value_maps(spec: dict[str, Any], raw: Any, value: float) -> None:
    msg, err = one(mapping(value=spec), {**GOOD, "v": raw})
    assert err is None and msg is not None
    assert msg["value"] == pytest.approx(value)


@pytest.mark.parametrize(("spec", "tz", "raw", "ts"), [
    ({"time": "epoch_s"}, "+08:00", 1795303800, "2026-11-22T07:30:00+08:00"),
    ({"time": "epoch_ms"}, "+08:00", 1795303800123, "2026-11-22T07:30:00.123000+08:00"),
    ({"time": "epoch_s"}, "+00:00", "1795303800", "2026-11-21T23:30:00+00:00"),
    ({"time": "local"}, "Asia/Shanghai", "2026-11-22 07:30:00", "2026-11-22T07:30:00+08:00"),
    ({"time": "local", "time_format": "%d/%m/%Y %H:%M"}, "+08:00", "22/11/2026 07:30",
     "2026-11-22T07:30:00+08:00"),
    ({"time": "rfc3339"}, "+08:00", "2026-11-22T07:30:00+08:00", "2026-11-22T07:30:00+08:00"),
])
def test_timestamps(spec: dict[str, Any], tz: str, raw: Any, ts: str) -> None:
    m = mapping(ts={"path": "t", **spec}).model_copy(update={"timezone": tz})
    msg, err = one(m, {**GOOD, "t": raw})
    assert err is None and msg is not None and msg["ts"] == ts


@pytest.mark.parametrize(("fields", "payload", "reason"), [
    ({}, {**GOOD, "dev": None}, "device_id: path 'dev' not found"),
    ({"value": {"path": "v", "map": {"ALARM": 1}}}, {**GOOD, "v": "FAULT"},
     "value: code 'FAULT' not in the value map (ALARM)"),
    ({"ts": {"path": "t", "time": "epoch_ms"}}, GOOD, "seconds, not ms?"),
    ({}, {**GOOD, "t": 1795303800123}, "ms, not seconds?"),
    ({"ts": {"path": "t", "time": "local"}}, {**GOOD, "t": "22.11.2026"}, "does not match"),
    ({}, {**GOOD, "v": "n/a"}, "value: expected a number, got 'n/a'"),
    ({}, {**GOOD, "v": [1]}, "value: Input should be a valid number"),  # the contract's
    ({"ts": {"path": "t"}}, {**GOOD, "t": "2026-11-22 07:30"}, "ts: "),  # no offset
    ({"event_id": {"template": "x-{serial}"}}, GOOD, "template {serial} not found"),
])
def test_errors_name_the_mapping_and_the_field(fields: dict[str, Any], payload: Any,
                                               reason: str) -> None:
    msg, err = one(mapping(**fields), payload)
    assert msg is None and err is not None
    assert err.startswith("mapping m: ") and reason in err


def test_invalid_json_and_non_list_each_are_reported() -> None:
    [bad] = apply(mapping(), b"{nope")
    assert bad.error is not None and "invalid JSON" in bad.error and bad.raw == "{nope"
    m = mapping().model_copy(update={"each": "rows"})
    [out] = apply(m, orjson.dumps({"rows": 3}))
    assert out.error is not None and "is not a list" in out.error


def test_topic_levels_templates_defaults_and_optional_fields() -> None:
    m = mapping(device_id={"topic_level": 2}, event_id={"template": "{topic.2}-{t}"},
                battery={"path": "bat", "scale": 0.01}, unit={"path": "u", "default": "%LEL"})
    msg, err = one(m, {"t": 1795303800, "v": 1}, "vendor/site/dev-9/up")
    assert err is None and msg is not None
    assert msg["device_id"] == "dev-9" and msg["event_id"] == "dev-9-1795303800"
    assert msg["unit"] == "%LEL" and "battery" not in msg  # optional and absent: omitted


def test_numeric_ids_become_text_and_missing_event_id_is_stable() -> None:
    m = mapping(event_id=None)
    a, _ = one(m, {**GOOD, "dev": 1001})
    b, _ = one(m, {**GOOD, "dev": 1001})
    assert a is not None and b is not None
    assert a["device_id"] == "1001" and a["event_id"] == b["event_id"]
    assert a["event_id"].startswith("m-")


def test_each_maps_every_element_and_reads_the_root_with_dollar() -> None:
    m = mapping(device_id={"template": "wm-{$.meter}"}, event_id=None,
                ts={"path": "at", "time": "local"}).model_copy(update={"each": "rows"})
    payload = {"meter": 7, "rows": [{"at": "2026-11-22 07:00:00", "v": 1},
                                    {"at": "bad", "v": 2}]}
    ok, bad = apply(m, orjson.dumps(payload))
    assert ok.message is not None and ok.message["device_id"] == "wm-7"
    assert bad.error is not None and bad.raw == '{"at":"bad","v":2}'


@pytest.mark.parametrize(("fields", "message"), [
    ({"ts": {"path": "t", "const": 1}}, "exactly one of"),
    ({"ts": None}, "fields: ts required by the iot contract"),
    ({"devce_id": "dev"}, "fields: devce_id not in the iot contract"),
])
def test_config_errors_say_what_is_wrong(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        mapping(**fields)


def test_bad_timezone_and_duplicate_names_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="unknown zone"):
        Mapping(name="m", stream="iot", timezone="Mars/Base", fields=IOT)
    m = {"name": "m", "stream": "iot", "fields": IOT}
    with pytest.raises(ValidationError, match="duplicate names"):
        BridgeSettings(mappings=[m, m])


def example_mappings() -> list[Mapping]:
    data: list[Any] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data.extend(read_yaml(path)["mappings"])
    return BridgeSettings(mappings=data).mappings


def test_shipped_examples_map_their_documented_payloads() -> None:
    ms = example_mappings()
    smoke = {"sn": "AS3F21", "type": "smoke", "state": "ALARM", "ts": 1795303865123, "bat": 87}
    gas = {"sn": "AG0912", "type": "gas", "lel": 12.5, "ts": 1795303865123, "bat": 64}
    water = {"meterNo": 20231001, "batteryPct": 91, "records": [
        {"readTime": "2026-11-22 07:00:00", "usedL": 12.0},
        {"readTime": "2026-11-22 08:00:00", "usedL": 0.0}]}
    [s] = route(ms, "acmesense/daqing-07/AS3F21/event", orjson.dumps(smoke))
    [g] = route(ms, "acmesense/daqing-07/AG0912/event", orjson.dumps(gas))
    w = route(ms, "hydrolink/up/868681", orjson.dumps(water))
    assert s.message is not None and s.message["metric"] == "smoke" and s.message["value"] == 1
    assert g.message is not None and g.message["value"] == 12.5 and g.message["battery"] == 0.64
    assert [o.message["value"] if o.message else o.error for o in w] == [0.012, 0.0]
    [none] = route(ms, "acmesense/x/y/event", orjson.dumps({"type": "door"}))
    assert none.error is not None and "no mapping applies" in none.error


# ------------------------------------------------------------------ properties

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**15, 10**15),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=8), st.sampled_from(["ALARM", "NORMAL", "12.5", ""]))
payloads = st.fixed_dictionaries({}, optional={
    "id": scalars, "t": st.one_of(scalars, st.integers(0, 4 * 10**9)), "dev": scalars,
    "v": scalars, "bat": scalars})


@settings(max_examples=300, deadline=None)
@given(payloads, st.booleans())
def test_every_payload_is_either_a_valid_message_or_a_reason(payload: dict[str, Any],
                                                             mapped: bool) -> None:
    m = mapping(battery={"path": "bat", "scale": 0.01},
                value={"path": "v", "map": {"ALARM": 1, "NORMAL": 0}} if mapped else "v")
    outcomes = apply(m, orjson.dumps(payload))
    assert len(outcomes) == 1
    for out in outcomes:
        if out.message is not None:
            parse_item("iot", orjson.loads(orjson.dumps(out.message)))  # survives the wire
        else:
            assert out.error and out.error.startswith("mapping m: ") and len(out.error) > 12


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers()), max_size=200),
       st.integers(1, 17), st.lists(st.floats(0, 0.2), max_size=200))
def test_batcher_loses_nothing_and_keeps_order(items: list[tuple[str, int]], batch_max: int,
                                               gaps: list[float]) -> None:
    batcher = Batcher(batch_max, linger_s=0.05)
    sent: list[tuple[str, int]] = []
    now = 0.0
    for i, (topic, n) in enumerate(items):
        now += gaps[i] if i < len(gaps) else 0.0
        for batch in batcher.due(now):
            sent.extend((batch.topic, x["n"]) for x in batch.items)
        full = batcher.add(topic, {"n": n}, now)
        if full is not None:
            assert len(full.items) == batch_max
            sent.extend((full.topic, x["n"]) for x in full.items)
    for batch in batcher.drain():
        assert 0 < len(batch.items) <= batch_max
        sent.extend((batch.topic, x["n"]) for x in batch.items)
    for topic in "abc":
        assert [n for t, n in sent if t == topic] == [n for t, n in items if t == topic]


items = st.one_of(payloads, st.fixed_dictionaries({
    "event_id": st.text(max_size=3), "ts": st.sampled_from(["2026-11-22T07:00:00+08:00",
                                                            "2026-11-22T07:00:00", "x"]),
    "device_id": st.text(max_size=3), "metric": st.sampled_from(["gas", ""]),
    "value": scalars}), scalars)


@settings(max_examples=200, deadline=None)
@given(st.one_of(items, st.lists(items, max_size=20)))
def test_http_answers_every_item_and_accepts_only_valid_ones(body: Any) -> None:
    from gridwatch.adapters.http import check_items

    good, results = check_items("iot", body)
    n = len(body) if isinstance(body, list) else 1
    assert [r["index"] for r in results] == list(range(n))
    assert len(good) == sum(r["status"] == "accepted" for r in results)
    for item in good:
        parse_item("iot", orjson.loads(orjson.dumps(item)))
    assert all(r["error"] for r in results if r["status"] == "error")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(-2**63, 2**63 - 1), max_size=30), max_size=12),
       st.integers(1, 9))
def test_async_sink_delivers_every_submitted_event_once(requests: list[list[int]],
                                                        batch_max: int) -> None:
    import asyncio

    from gridwatch.adapters.producer import AsyncSink

    sent: list[int] = []

    async def send(topic: str, value: bytes, key: bytes) -> None:
        await asyncio.sleep(0)
        batch = orjson.loads(value)
        assert 0 < len(batch) <= batch_max
        sent.extend(x["n"] for x in batch)

    async def run() -> None:
        sink = AsyncSink(send, batch_max, linger_s=0.001, max_pending=10**6)
        await asyncio.gather(*(sink.submit("t", [{"n": n} for n in r]) for r in requests))
        await sink.close()
        assert sink.in_flight == 0

    asyncio.run(run())
    assert sorted(sent) == sorted(n for r in requests for n in r)
