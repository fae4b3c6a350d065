"""The contract's input validation: what integrators send and what they get back."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from gridwatch.contract import Alert, DeadLetter, parse_item, parse_message
from gridwatch.events import Access, Iot, Report

NOW = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
ACCESS = {"event_id": "a-9f1c", "ts": "2026-11-22T07:31:05+08:00", "gate_id": "gate-07",
          "direction": "in", "method": "face", "person_id": "p-00042"}
IOT = {"event_id": "i-77aa", "ts": "2026-11-22T07:00:00+08:00", "device_id": "wm-1001",
       "metric": "water", "value": 0.012}
REPORT = {"event_id": "r-0031", "ts": "2026-11-22T09:12:00+08:00", "grid_id": "grid-0103",
          "category": "fire_hazard", "source": "citizen", "lat": 46.58, "lon": 125.10,
          "text": "楼道堆放杂物"}


def test_contract_examples_parse_into_events() -> None:
    a = parse_item("access", ACCESS)
    assert isinstance(a, Access) and a.person_id == "p-00042"
    assert a.t == datetime(2026, 11, 21, 23, 31, 5, tzinfo=UTC).timestamp()
    i = parse_item("iot", IOT)
    assert isinstance(i, Iot) and i.value == pytest.approx(0.012)
    r = parse_item("report", REPORT)
    assert isinstance(r, Report) and r.lat == 46.58


def test_unknown_fields_are_ignored_and_optional_fields_default() -> None:
    event = parse_item("access", {**ACCESS, "vendor_extra": 1, "person_id": None})
    assert isinstance(event, Access) and event.person_id is None and event.plate is None


@pytest.mark.parametrize(("stream", "change", "error"), [
    ("access", {"direction": "sideways"}, "direction: must be 'in' or 'out'"),
    ("access", {"method": "telepathy"}, "method: must be 'card', 'face', 'qr', 'plate', "
                                        "'password' or 'other'"),
    ("access", {"ts": "2026-11-22T07:31:05"}, "ts: Input should have timezone info"),
    ("access", {"confidence": 1.5}, "confidence: Input should be less than or equal to 1"),
    ("iot", {"value": "high"}, "value: Input should be a valid number, unable to parse string "
                             "as a number"),
    ("iot", {"device_id": None}, "device_id: Input should be a valid string"),
    ("report", {"source": "rumour"}, "source: must be 'grid_worker', 'citizen', 'police' "
                                     "or 'system'"),
])
def test_invalid_fields_are_named_in_the_error(stream: str, change: dict, error: str) -> None:
    base = {"access": ACCESS, "iot": IOT, "report": REPORT}[stream]
    with pytest.raises(ValueError) as exc:
        parse_item(stream, {**base, **change})
    assert str(exc.value) == error


def test_missing_required_field_is_named() -> None:
    obj = dict(IOT)
    del obj["metric"]
    with pytest.raises(ValueError, match="^metric: Field required$"):
        parse_item("iot", obj)


def test_batch_keeps_good_elements_and_dead_letters_each_bad_one() -> None:
    bad = {**ACCESS, "event_id": "a-bad", "direction": "up"}
    raw = orjson.dumps([ACCESS, bad, {**ACCESS, "event_id": "a-2"}, 42])
    events, dead = parse_message("access", raw, NOW)
    assert [e.event_id for e in events] == ["a-9f1c", "a-2"]
    assert [d["error"] for d in dead] == ["direction: must be 'in' or 'out'",
                                          "message: expected a JSON object, got int"]
    assert orjson.loads(dead[0]["raw"]) == bad  # the element itself is kept, not the batch
    for d in dead:
        DeadLetter.model_validate(d)


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe\x00", b"", b"null", b'"text"'])
def test_garbage_becomes_a_dead_letter_never_an_exception(raw: bytes) -> None:
    events, dead = parse_message("iot", raw, NOW)
    assert events == [] and len(dead) == 1
    assert dead[0]["stream"] == "iot" and dead[0]["error"]
    DeadLetter.model_validate(dead[0])


def test_a_message_with_a_byte_order_mark_is_read_and_a_mark_alone_is_dead() -> None:
    events, dead = parse_message("access", "\ufeff".encode() + orjson.dumps(ACCESS), NOW)
    assert [e.event_id for e in events] == ["a-9f1c"] and dead == []
    events, dead = parse_message("access", "\ufeff".encode(), NOW)
    assert events == [] and dead[0]["error"].startswith("message: invalid JSON")


def test_single_object_dead_letter_keeps_the_original_text() -> None:
    raw = b'{"event_id": "x", "ts": "yesterday"}'
    _, dead = parse_message("report", raw, NOW)
    assert dead[0]["raw"] == raw.decode()
    assert dead[0]["error"].startswith("ts: ")


def test_alert_example_from_contract_validates() -> None:
    example = {
        "alert_id": "la-4d2e", "seq": 2, "kind": "stay_in", "status": "firing",
        "severity": "orange", "subject": {"type": "person", "id": "p-00042"},
        "grid": {"grid_id": "grid-0103", "community_id": "c-01", "street_id": "s-1",
                 "district_id": "d-1", "city_id": "daqing"},
        "assignee": {"worker_id": "w-0103", "police_id": "pol-17"},
        "starts_at": "2026-11-20T18:02:11+08:00", "ts": "2026-11-22T06:02:11+08:00",
        "summary": "独居老人 p-00042 进入后 36 小时未出门，期间无用水",
        "evidence": {"last_in": "2026-11-20T18:02:11+08:00", "hours": 36},
        "detector": {"name": "presence", "version": "1", "config_hash": "abc"}}
    Alert.model_validate(example)
    with pytest.raises(ValueError):
        Alert.model_validate({**example, "severity": "purple"})


def test_a_leap_second_is_the_second_after_fifty_nine() -> None:
    """RFC 3339 allows 23:59:60 (the leap second of 2016-12-31); it is read as the next
    second, as an NTP-stepped clock shows it, not rejected as malformed."""
    from gridwatch.feedlines import parse_line

    line = (b'{"stream":"access","event_id":"a","ts":"2016-12-31T23:59:60Z","gate_id":"g",'
            b'"direction":"in","method":"face"}')
    assert parse_line(line).t == 1483228800.0  # 2017-01-01T00:00:00Z
    with pytest.raises(ValueError, match="ts"):
        parse_line(line.replace(b"23:59:60", b"23:60:60"))
