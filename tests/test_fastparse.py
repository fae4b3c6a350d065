"""The fast path must agree with the pydantic models whenever it accepts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridwatch.contract import INPUT_MODELS
from gridwatch.fastparse import fast_item

TS = st.one_of(
    st.sampled_from(["2026-11-22T07:31:05+08:00", "2026-11-22T07:31:05.250+08:00",
                     "2026-11-22 07:31:05Z", "2026-11-22T07:31:05", "2026-W47-1T07:00+08:00",
                     "yesterday", "2026-11-22T07:31:05-05:30", " 2026-11-22T07:31:05+08:00"]),
    st.integers(), st.none())
TEXT = st.one_of(st.sampled_from(["x", "", " x", "gate-07", "p-1 ", "in", "out", "face"]),
                 st.text(max_size=5), st.none(), st.integers(), st.booleans())
NUM = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                st.booleans(), st.none(), st.sampled_from(["1.5", "x"]))


def maybe(d: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Each field present or absent."""
    return st.fixed_dictionaries({}, optional=d)


OBJECTS = {
    "access": maybe({"event_id": TEXT, "ts": TS, "gate_id": TEXT, "person_id": TEXT,
                     "plate": TEXT, "confidence": NUM,
                     "direction": st.sampled_from(["in", "out", "up", None, 1]),
                     "method": st.sampled_from(["card", "face", "qr", "plate", "password",
                                                "other", "x", None])}),
    "iot": maybe({"event_id": TEXT, "ts": TS, "device_id": TEXT, "metric": TEXT,
                  "value": NUM, "unit": TEXT, "battery": NUM}),
    "report": maybe({"event_id": TEXT, "ts": TS, "grid_id": TEXT, "category": TEXT,
                     "source": st.sampled_from(["grid_worker", "citizen", "police", "system",
                                                "x"]),
                     "lat": NUM, "lon": NUM, "text": TEXT, "reporter_id": TEXT}),
}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(OBJECTS)).flatmap(lambda s: st.tuples(st.just(s), OBJECTS[s])))
def test_fast_path_accepts_only_what_the_model_accepts_and_builds_the_same(
        case: tuple[str, dict[str, Any]]) -> None:
    stream, obj = case
    fast = fast_item(stream, obj)
    if fast is None:
        return
    model = INPUT_MODELS[stream].model_validate(obj).to_event()
    assert fast == model


def test_the_plain_shape_takes_the_fast_path() -> None:
    obj = {"event_id": "i-1", "ts": "2026-11-22T07:00:00+08:00", "device_id": "wm-1",
           "metric": "water", "value": 0.012}
    assert fast_item("iot", obj) == INPUT_MODELS["iot"].model_validate(obj).to_event()


VALID = {
    "access": {"event_id": "a-1", "ts": "2026-11-22T07:31:05+08:00", "gate_id": "gate-07",
               "direction": "in", "method": "face", "person_id": "p-1", "confidence": 0.9},
    "iot": {"event_id": "i-1", "ts": "2026-11-22T07:00:00+08:00", "device_id": "wm-1",
            "metric": "water", "value": 0.012, "battery": 0.5, "unit": "m3"},
    "report": {"event_id": "r-1", "ts": "2026-11-22T09:12:00+08:00", "grid_id": "grid-1",
               "category": "fire_hazard", "source": "citizen", "lat": 46.58, "lon": 125.1},
}
FIELDS = st.sampled_from(["event_id", "ts", "gate_id", "direction", "method", "person_id",
                          "confidence", "device_id", "metric", "value", "battery", "unit",
                          "grid_id", "category", "source", "lat", "lon", "text"])
VALUES = st.one_of(TEXT, NUM, TS)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(sorted(VALID)), st.dictionaries(FIELDS, VALUES, max_size=2),
       st.lists(FIELDS, max_size=1))
def test_one_or_two_odd_fields_never_slip_through(stream: str, change: dict[str, Any],
                                                  drop: list[str]) -> None:
    obj = {**VALID[stream], **change}
    for key in drop:
        obj.pop(key, None)
    fast = fast_item(stream, obj)
    if fast is not None:
        assert fast == INPUT_MODELS[stream].model_validate(obj).to_event()


def test_an_array_or_object_where_a_word_belongs_is_a_rejection_not_a_crash() -> None:
    """``direction``, ``method`` and ``source`` are looked up in sets: an unhashable
    JSON value must reach pydantic (a dead letter), not raise ``TypeError``."""
    from gridwatch.contract import parse_item

    for stream, field in (("access", "direction"), ("access", "method"),
                          ("report", "source")):
        for odd in ([VALID[stream][field]], {"x": 1}):
            with pytest.raises(ValueError, match=field):
                parse_item(stream, {**VALID[stream], field: odd})
