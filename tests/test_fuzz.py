"""Hypothesis fuzzing of every input stream and of the registry (issue 9, "Trust").

The contract's promise for bad input: never crash, never drop. Every element
of every message is either an accepted event or a dead letter with a reason;
the router then carries every accepted event to a work partition. Registry
CSV files and ``gw.registry`` records never stop loading: a bad row is listed
with its file and line, a bad record is a dead letter. One end-to-end run puts
a fuzzed batch through the broker and counts: in = accepted + dead letters.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_fastparse import OBJECTS, VALID

from config.models import Settings
from gridwatch.contract import REGISTRY_MODELS, DeadLetter
from gridwatch.registry import ID_FIELD, Registry, RegistryError
from streams.follow import apply_registry_value
from streams.router import Router, decode_input
from streams.workmsg import decode_work

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone(timedelta(hours=8)))
STREAMS = sorted(OBJECTS)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8)
# An element: a near-valid object of the stream (fields mutated or missing), a valid
# one with extra fields, or any JSON value at all.
ELEMENT = {s: st.one_of(OBJECTS[s],
                        st.builds(lambda extra, s=s: {**VALID[s], **extra},
                                  st.dictionaries(st.text(max_size=5), JSON, max_size=2)),
                        JSON)
           for s in STREAMS}


def _message(stream: str) -> st.SearchStrategy[tuple[bytes | None, int]]:
    """(raw message value, number of elements it counts as).

    Values are written by the standard library, which also writes integers beyond
    64 bits and bare ``NaN``: JSON that some producers send and orjson refuses.
    """
    single = ELEMENT[stream].map(_dumps)
    batch = st.lists(ELEMENT[stream], max_size=6).map(_dumps)
    junk = st.one_of(st.binary(max_size=40), st.text(max_size=20).map(str.encode),
                     st.just(b"")).map(lambda b: (b, _elements(b)))
    return st.one_of(single, batch, junk, st.just((None, 1)))


def _dumps(value: Any) -> tuple[bytes, int]:
    raw = json.dumps(value).encode()
    return raw, _elements(raw)


def _elements(raw: bytes) -> int:
    """A JSON array is a batch of its elements; anything else is one message."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return 1
    return len(data) if isinstance(data, list) else 1


MESSAGES = st.sampled_from(STREAMS).flatmap(
    lambda s: st.tuples(st.just(s), st.lists(_message(s), min_size=1, max_size=5)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_every_element_is_an_event_or_a_dead_letter_with_its_reason(
        case: tuple[str, list[tuple[bytes | None, int]]]) -> None:
    stream, messages = case
    for raw, count in messages:
        events, dead = decode_input(stream, raw, NOW)
        assert len(events) + len(dead) == count
        for letter in dead:
            DeadLetter.model_validate(letter)
            assert letter["stream"] == stream and letter["error"].strip()
            assert ":" in letter["error"], "the reason names a field or the message"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_the_router_carries_every_accepted_event_to_a_work_partition(
        case: tuple[str, list[tuple[bytes | None, int]]]) -> None:
    """Accepted events all reach ``gw.work`` (once per owning partition), and every
    work message decodes again: nothing accepted is lost between router and engine."""
    stream, messages = case
    router = _router()
    batch = [(0, offset, raw) for offset, (raw, _) in enumerate(messages)]
    accepted = [e for _, _, raw in batch for e in decode_input(stream, raw, NOW)[0]]
    routed = router.route(stream, batch, now=1.0)
    carried = [e for _, value in routed.work for e in decode_work(value).events]
    assert {e.event_id for e in carried} == {e.event_id for e in accepted
                                             if _has_owner(router, e)}
    assert len(routed.dead) == sum(n for _, n in messages) - len(accepted)


def _has_owner(router: Router, event: Any) -> bool:
    return any(d.shard_key(event) is not None for d in router.detectors)


_ROUTER: list[Router] = []


def _router() -> Router:
    """One router for all examples: building the detectors is the slow part."""
    if not _ROUTER:
        _ROUTER.append(Router(Settings(), _registry(), router_id="fuzz"))
    return _ROUTER[0]


def _registry() -> Registry:
    return Registry.from_dir(Path(__file__).parent / "data" / "registry")


# ---------------------------------------------------------------- the registry

CELL = st.one_of(st.text(max_size=8), st.sampled_from(["", " ", "-1", "1.5", "x;y", "h-001",
                                                       "grid-0103", "elderly_alone;minor",
                                                       "\ufeff", "\"", ",", "\n"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=st.sampled_from(sorted(REGISTRY_MODELS)),
       extra=st.lists(st.text(min_size=1, max_size=6), max_size=2),
       rows=st.lists(st.lists(CELL, min_size=0, max_size=9), max_size=6),
       garbage=st.binary(max_size=30))
@example(table="devices", extra=[], rows=[["\x1f\r"]], garbage=b"")  # (found by a CI-like run)
def test_registry_files_never_stop_loading(tmp_path_factory: pytest.TempPathFactory,
                                           table: str, extra: list[str],
                                           rows: list[list[str]], garbage: bytes) -> None:
    """Random rows (short, long, wrong types, quotes, BOMs, unknown columns) and a file
    of raw bytes: loading never raises; every data line is a row or a listed error."""
    root = tmp_path_factory.mktemp("reg")
    header = list(REGISTRY_MODELS[table].model_fields) + extra
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    (root / f"{table}.csv").write_text(text.getvalue(), encoding="utf-8")
    other = next(t for t in sorted(REGISTRY_MODELS) if t != table)
    (root / f"{other}.csv").write_bytes(garbage)
    try:
        reg = Registry.from_dir(root)
    except RegistryError as exc:  # only for a file that is not UTF-8, naming it
        assert other in str(exc) and "UTF-8" in str(exc)
        return
    id_field = ID_FIELD[table]
    for line_no, row in enumerate(csv.DictReader(io.StringIO(text.getvalue())), start=2):
        listed = any(e.startswith(f"{table}.csv:{line_no}:") for e in reg.errors)
        row_id = row.get(id_field) or ""
        loaded = getattr(reg, table)
        # loaded under its id, or one equal but for surrounding whitespace (the models
        # strip Unicode's; Python's strip() also takes \x1c-\x1f, so compare both stripped)
        trimmed = {key.strip() for key in loaded}
        assert listed or row_id in loaded or row_id.strip() in trimmed, \
            f"line {line_no} neither loaded nor listed as an error"


RECORD = st.one_of(
    st.fixed_dictionaries({"table": st.one_of(st.sampled_from(sorted(REGISTRY_MODELS)), JSON)},
                          optional={"row": st.one_of(st.dictionaries(
                              st.sampled_from(["grid_id", "house_id", "person_id", "gate_id",
                                               "device_id", "tags", "registered_occupants",
                                               "lat"]), CELL | JSON, max_size=4), JSON),
                              "id": JSON, "deleted": JSON}),
    JSON)


@settings(max_examples=300, deadline=None)
@given(key=st.one_of(st.none(), st.binary(max_size=12)),
       raw=st.one_of(st.none(), RECORD.map(orjson.dumps), st.binary(max_size=30)))
def test_registry_records_are_applied_or_dead_lettered(key: bytes | None,
                                                       raw: bytes | None) -> None:
    reg = _registry()
    letter = apply_registry_value(reg, key, raw, NOW)
    if letter is not None:
        DeadLetter.model_validate(letter)
        assert letter["stream"] == "registry" and letter["error"].strip()
    reg.reindex()  # what the follower does after each batch: must not fail either
    reg.person_grid("p-00042")


# ---------------------------------------------------------------- end to end


def fuzzed_batch(seed: int, n: int = 60) -> list[tuple[str, bytes | None]]:
    """(stream, raw) messages: smoke alarms on distinct devices, each mutated or not.

    Accepted alarms stay within one hour of event time, so none is late for another
    (a far-future timestamp is accepted by the contract and would push the watermark)."""
    rng = random.Random(seed)
    out: list[tuple[str, bytes | None]] = []
    for i in range(n):
        obj: dict[str, Any] = {"event_id": f"f-{i}", "ts": f"2026-11-22T08:{i % 60:02d}:00+08:00",
                               "device_id": f"fz-{i}", "metric": "smoke", "value": 1}
        kind = rng.randrange(9)
        if kind == 1:
            del obj[rng.choice(sorted(obj))]
        elif kind == 2:
            obj[rng.choice(["ts", "value", "device_id"])] = rng.choice(
                [None, "", " ", [], {}, "high", True, "2026-13-40T99:00:00"])
        elif kind == 3:
            obj.update({"extra": {"deep": [1, 2]}, "battery": rng.choice([0.5, 2, "x"])})
        elif kind == 4:
            obj["device_id"] = f"  fz-{i}  "  # stripped: still accepted
        raw: bytes | None = orjson.dumps(obj)
        if kind == 5:
            raw = raw[:rng.randrange(1, len(raw))]
        elif kind == 6:
            raw = rng.choice([None, b"\xff\xfe", b"[]", b"42", b"[1, {}]"])
        elif kind == 7:
            raw = orjson.dumps([obj, {"event_id": f"g-{i}"}])
        out.append(("iot", raw))
    access = {"event_id": "fa-1", "ts": "2026-11-22T08:00:00+08:00", "gate_id": "gate-07",
              "direction": "sideways", "method": "face"}
    out += [("access", orjson.dumps(access)), ("report", b"{\"source\": \"alien\"}")]
    return out


@pytest.mark.e2e
def test_a_fuzzed_batch_through_the_broker_is_all_accounted_for(
        e2e_settings: Callable[..., Settings], worker: Any, topic: Any, send: Any) -> None:
    """Every element sent comes out as exactly one of: a smoke alert for its device,
    or a dead letter; the worker's own counts agree, and it keeps running."""
    settings_ = e2e_settings()
    t = settings_.kafka.topics
    batch = fuzzed_batch(seed=9)
    accepted: set[str] = set()
    rejected = events_in = 0
    for stream, raw in batch:
        events, dead = decode_input(stream, raw, NOW)
        accepted |= {e.device_id for e in events}  # type: ignore[union-attr]
        events_in += len(events)
        rejected += len(dead)
    assert accepted and rejected, "the batch should hold both"
    proc = worker(settings_)
    for stream in ("iot", "access", "report"):
        send(settings_, t.for_stream(stream), *[raw for s, raw in batch if s == stream])
    alerts, dead = topic(settings_, t.alerts), topic(settings_, t.deadletter)
    alerts.wait_for(lambda v: len(v) >= len(accepted), timeout_s=60, worker=proc)
    dead.wait_for(lambda v: len(v) >= rejected, timeout_s=30, worker=proc)
    assert {a["subject"]["id"] for a in alerts.settle()} == accepted
    assert len(alerts.values) == len(accepted)
    assert len(dead.settle()) == rejected
    assert all(d["error"] for d in dead.values)
    assert proc.exit_code() is None
    proc.stop()  # its last log line counts what the router took in
    counts = re.search(r"'messages': (\d+), 'events': (\d+), 'dead': (\d+)",
                       proc.log_path.read_text())
    assert counts is not None, proc.tail(5)
    assert tuple(map(int, counts.groups())) == (len(batch), events_in, rejected)
