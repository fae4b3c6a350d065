"""The simulated city: contract-valid files, deterministic, and truthful about its incidents.

The checks below are written from shared/contract.md itself, not from the
project's pydantic models, so a drift in either shows up here. Each injected
incident is checked against the feed: the truth file must describe what the
data actually shows (a fall is silent, a leak flows at night, an offline
device says nothing).
"""

from __future__ import annotations

import csv
import math
import re
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from gridwatch.simulate import Simulation, simulate, simulate_stream
from gridwatch.simulate.publish import iter_events, publish

PERSONS, DAYS, SEED = 200, 4, 3
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
OFFSET = re.compile(r"[+-]\d{2}:\d{2}$")
REGISTRY = {
    "grids": ["grid_id", "community_id", "street_id", "district_id", "city_id", "worker_id",
              "police_id", "name"],
    "houses": ["house_id", "grid_id", "building_id", "registered_occupants", "lat", "lon"],
    "persons": ["person_id", "house_id", "tags"],
    "gates": ["gate_id", "grid_id", "house_id", "lat", "lon"],
    "devices": ["device_id", "house_id", "grid_id"],
}
TAGS = {"elderly_alone", "elderly", "key_person", "minor", "tenant", "dementia", "disabled"}
METHODS = {"card", "face", "qr", "plate", "password", "other"}
SOURCES = {"grid_worker", "citizen", "police", "system"}
KINDS = {"long_absent", "stay_in", "out_no_return", "unusual_hours", "crowd", "group_rental",
         "event_cluster", "sensor_threshold", "sensor_anomaly", "no_usage", "device_offline"}
SUBJECTS = {"long_absent": {"person"}, "stay_in": {"person"}, "out_no_return": {"person"},
            "unusual_hours": {"person"}, "crowd": {"gate", "grid"}, "group_rental": {"house"},
            "event_cluster": {"grid"}, "sensor_threshold": {"device"},
            "sensor_anomaly": {"device"}, "no_usage": {"house"},
            "device_offline": {"device", "building"}}
RECORD_KEYS = {"kind", "subject_type", "subject_id", "grid_id", "start", "end", "detail"}


def _t(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _csv(root: Path, name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (root / "registry" / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


class City:
    """One simulated city on disk, parsed once for all the tests."""

    def __init__(self, root: Path, summary: Any) -> None:
        self.root, self.summary = root, summary
        self.feed = _jsonl(root / "feed.jsonl")
        self.truth = _jsonl(root / "truth.jsonl")
        self.controls = _jsonl(root / "controls.jsonl")
        self.rows = {name: _csv(root, name)[1] for name in REGISTRY}
        self.by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.by_gate: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in self.feed:
            e["t"] = _t(e["ts"])
            if e["stream"] == "iot":
                self.by_device[e["device_id"]].append(e)
            elif e["stream"] == "access":
                self.by_gate[e["gate_id"]].append(e)
                if e["person_id"]:
                    self.by_person[e["person_id"]].append(e)

    def house_of(self, person_id: str) -> str:
        return next(r["house_id"] for r in self.rows["persons"] if r["person_id"] == person_id)

    def devices_of(self, house_id: str) -> list[str]:
        return [r["device_id"] for r in self.rows["devices"] if r["house_id"] == house_id]

    def lock_of(self, house_id: str) -> str | None:
        return next((r["gate_id"] for r in self.rows["gates"] if r["house_id"] == house_id), None)

    def incidents(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.truth if r["kind"] == kind]

    def end_t(self, rec: dict[str, Any]) -> float:
        return _t(rec["end"]) if rec["end"] else self.feed[-1]["t"] + 1

    def water_used(self, house_id: str, t0: float, t1: float) -> list[float]:
        """Readings that only cover time inside ``[t0, t1)`` (a reading covers since the last)."""
        out, prev = [], float("-inf")
        for dev in self.devices_of(house_id):
            for e in self.by_device[dev]:
                if e["metric"] == "water":
                    if prev >= t0 and e["t"] < t1:
                        out.append(e["value"])
                    prev = e["t"]
        return out


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    root = tmp_path_factory.mktemp("city")
    return City(root, simulate(root, persons=PERSONS, days=DAYS, seed=SEED))


# ------------------------------------------------------------------ registry


def test_registry_has_the_contract_columns(city: City) -> None:
    for name, columns in REGISTRY.items():
        header, rows = _csv(city.root, name)
        assert header == columns, name
        assert rows, name
        ids = [r[columns[0]] for r in rows]
        assert len(ids) == len(set(ids)), f"{name}: duplicate ids"


def test_registry_references_hold_together(city: City) -> None:
    r = city.rows
    grids = {g["grid_id"] for g in r["grids"]}
    houses = {h["house_id"]: h for h in r["houses"]}
    assert all(g["name"] and g["city_id"] and g["community_id"] for g in r["grids"])
    assert all(h["grid_id"] in grids for h in houses.values())
    assert all(p["house_id"] in houses for p in r["persons"])
    assert all(set(filter(None, p["tags"].split(";"))) <= TAGS for p in r["persons"])
    assert all(g["grid_id"] in grids and (not g["house_id"] or g["house_id"] in houses)
               for g in r["gates"])
    assert all(d["grid_id"] in grids and (not d["house_id"] or d["house_id"] in houses)
               for d in r["devices"])
    living = Counter(p["house_id"] for p in r["persons"])
    assert all(int(h["registered_occupants"]) == living[hid] for hid, h in houses.items())
    assert all(re.fullmatch(r"p-\d{6}", p["person_id"]) for p in r["persons"])


def test_registry_has_every_watched_tag_and_device_type(city: City) -> None:
    tags = Counter(t for p in city.rows["persons"] for t in filter(None, p["tags"].split(";")))
    assert TAGS <= set(tags)
    assert 0.02 <= tags["elderly_alone"] / len(city.rows["persons"]) <= 0.15
    prefixes = {d["device_id"].split("-")[0] for d in city.rows["devices"]}
    assert {"wm", "pm", "sm", "gs", "dr", "mo", "tm"} <= prefixes
    locks = sum(bool(g["house_id"]) for g in city.rows["gates"])
    assert 0.5 <= locks / len(city.rows["houses"]) <= 0.9


# ------------------------------------------------------------------ feed


def _check_common(e: dict[str, Any]) -> None:
    assert isinstance(e["event_id"], str) and e["event_id"]
    assert RFC3339.match(e["ts"]) and OFFSET.search(e["ts"]), e["ts"]


def _check_access(e: dict[str, Any]) -> None:
    assert isinstance(e["gate_id"], str) and e["gate_id"]
    assert e["direction"] in ("in", "out")
    assert e["method"] in METHODS
    assert e.get("person_id") is None or isinstance(e["person_id"], str)
    if "confidence" in e:
        assert 0 <= e["confidence"] <= 1
    if "plate" in e:
        assert isinstance(e["plate"], str) and e["method"] == "plate"


def _check_iot(e: dict[str, Any]) -> None:
    assert isinstance(e["device_id"], str) and e["device_id"]
    assert isinstance(e["metric"], str) and e["metric"]
    v = e["value"]
    assert isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if "battery" in e:
        assert 0 <= e["battery"] <= 1


def _check_report(e: dict[str, Any]) -> None:
    assert isinstance(e["grid_id"], str) and e["grid_id"]
    assert isinstance(e["category"], str) and e["category"]
    assert e["source"] in SOURCES
    assert -90 <= e.get("lat", 0) <= 90 and -180 <= e.get("lon", 0) <= 180


def test_every_feed_line_follows_the_contract(city: City) -> None:
    checks = {"access": _check_access, "iot": _check_iot, "report": _check_report}
    for e in city.feed:
        _check_common(e)
        checks[e["stream"]](e)
    ids = [e["event_id"] for e in city.feed]
    assert len(ids) == len(set(ids))
    assert set(Counter(e["stream"] for e in city.feed)) == {"access", "iot", "report"}


def test_feed_is_sorted_and_inside_the_period(city: City) -> None:
    times = [e["t"] for e in city.feed]
    assert times == sorted(times)
    start = _t("2026-11-01T00:00:00+08:00")
    assert start <= times[0] and times[-1] < start + DAYS * 86400


def test_feed_ids_are_in_the_registry(city: City) -> None:
    gates = {g["gate_id"] for g in city.rows["gates"]}
    devices = {d["device_id"] for d in city.rows["devices"]}
    grids = {g["grid_id"] for g in city.rows["grids"]}
    for e in city.feed:
        ref = {"access": ("gate_id", gates), "iot": ("device_id", devices),
               "report": ("grid_id", grids)}[e["stream"]]
        assert e[ref[0]] in ref[1]


def test_feed_is_realistically_imperfect(city: City) -> None:
    passes = [e for e in city.feed if e["stream"] == "access"]
    face = [e for e in passes if e["method"] == "face"]
    missed = sum(e["person_id"] is None for e in face) / len(face)
    assert 0.005 < missed < 0.2
    persons = {p["person_id"] for p in city.rows["persons"]}
    strangers = {e["person_id"] for e in passes if e["person_id"]} - persons
    assert strangers, "couriers and visitors carry unregistered stable ids"
    metrics = Counter(e["metric"] for e in city.feed if e["stream"] == "iot")
    assert {"water", "power", "gas", "heartbeat", "motion", "door", "temperature"} <= set(metrics)


def test_summary_matches_the_files(city: City) -> None:
    s = city.summary
    assert s.events == dict(Counter(e["stream"] for e in city.feed))
    assert s.incidents == dict(Counter(r["kind"] for r in city.truth))
    assert s.persons == len(city.rows["persons"]) and s.devices == len(city.rows["devices"])


# ------------------------------------------------------------------ determinism


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_city(tmp_path: Path, city: City) -> None:
    simulate(tmp_path / "again", persons=PERSONS, days=DAYS, seed=SEED)
    assert _files(tmp_path / "again") == _files(city.root)
    simulate(tmp_path / "other", persons=PERSONS, days=DAYS, seed=SEED + 1)
    assert (tmp_path / "other" / "feed.jsonl").read_bytes() != (
        city.root / "feed.jsonl").read_bytes()


def test_stream_yields_the_file_feed(city: City) -> None:
    head = [ev for _, ev in zip(range(2000), simulate_stream(PERSONS, DAYS, SEED), strict=False)]
    lines = (city.root / "feed.jsonl").read_bytes().splitlines()[:2000]
    assert [orjson.loads(line) for line in lines] == [
        {"stream": s, **e} for s, e in head]


def test_disorder_is_bounded(tmp_path: Path) -> None:
    sim = Simulation(persons=80, days=3, seed=5, max_disorder_s=120)
    times = [_t(e["ts"]) for _, e in sim.events()]
    high, late = 0.0, 0
    for t in times:
        assert t >= high - 120
        late += t < high
        high = max(high, t)
    assert late > 0


def test_no_incidents_at_rate_zero() -> None:
    sim = Simulation(persons=80, days=3, seed=5, incident_rate=0)
    assert sim.truth == []
    assert sim.controls, "controls are normal life and stay"


# ------------------------------------------------------------------ truth


def test_every_incident_kind_is_in_the_truth(city: City) -> None:
    assert {r["kind"] for r in city.truth} == KINDS
    start = _t("2026-11-01T00:00:00+08:00")
    ids = {"person": {p["person_id"] for p in city.rows["persons"]},
           "house": {h["house_id"] for h in city.rows["houses"]},
           "device": {d["device_id"] for d in city.rows["devices"]},
           "gate": {g["gate_id"] for g in city.rows["gates"]},
           "grid": {g["grid_id"] for g in city.rows["grids"]},
           "building": {h["building_id"] for h in city.rows["houses"]}}
    grids = ids["grid"]
    for r in city.truth:
        assert set(r) == RECORD_KEYS
        assert r["subject_type"] in SUBJECTS[r["kind"]]
        assert r["subject_id"] in ids[r["subject_type"]]
        assert r["grid_id"] in grids
        assert RFC3339.match(r["start"]) and _t(r["start"]) >= start + 86400  # after learning
        assert r["end"] is None or _t(r["end"]) > _t(r["start"])
        assert isinstance(r["detail"], dict)


def test_a_fall_is_silent_until_found(city: City) -> None:
    for rec in city.incidents("stay_in"):
        pid, t0, t1 = rec["subject_id"], _t(rec["start"]), city.end_t(rec)
        house = city.house_of(pid)
        assert not [e for e in city.by_person[pid] if t0 <= e["t"] < t1]
        lock = city.lock_of(house)
        if lock:
            assert not [e for e in city.by_gate[lock] if t0 <= e["t"] < t1]
        for dev in city.devices_of(house):
            events = [e for e in city.by_device[dev] if t0 <= e["t"] < t1]
            assert not [e for e in events if e["metric"] in ("motion", "door")]
        assert not any(city.water_used(house, t0, t1))


def test_a_sick_resident_uses_no_water(city: City) -> None:
    for rec in city.incidents("no_usage"):
        t0, t1 = _t(rec["start"]), city.end_t(rec)
        assert not [e for e in city.by_person[rec["detail"]["person_id"]] if t0 <= e["t"] < t1]
        water = city.water_used(rec["subject_id"], t0, t1)
        assert water and not any(water)


def test_people_who_are_out_pass_no_gate(city: City) -> None:
    for kind in ("out_no_return", "long_absent"):
        for rec in city.incidents(kind):
            t0, t1 = _t(rec["start"]) + 900, city.end_t(rec) - 900
            assert not [e for e in city.by_person[rec["subject_id"]] if t0 <= e["t"] < t1]


def test_night_life_moves_passes_into_the_night(city: City) -> None:
    for rec in city.incidents("unusual_hours"):
        t0, t1 = _t(rec["start"]), city.end_t(rec)
        hours = [int(e["ts"][11:13]) for e in city.by_person[rec["subject_id"]]
                 if t0 <= e["t"] < t1]
        assert hours and sum(h >= 20 or h < 8 for h in hours) / len(hours) >= 0.5


def test_a_crowd_is_many_people_in_an_hour(city: City) -> None:
    for rec in city.incidents("crowd"):
        t0 = _t(rec["start"])
        ins = [e for e in city.by_gate[rec["subject_id"]]
               if t0 <= e["t"] < t0 + 3600 and e["direction"] == "in"]
        assert len(ins) >= 35


def test_a_group_rental_has_many_ids_on_its_door(city: City) -> None:
    for rec in city.incidents("group_rental"):
        lock = city.lock_of(rec["subject_id"])
        assert lock is not None
        t0 = _t(rec["start"])
        ids = {e["person_id"] for e in city.by_gate[lock] if e["t"] >= t0 and e["person_id"]}
        assert len(ids) > 2 * rec["detail"]["registered"]


def test_an_event_cluster_is_close_in_time_and_grid(city: City) -> None:
    for rec in city.incidents("event_cluster"):
        t0, t1 = _t(rec["start"]), _t(rec["end"])
        reports = [e for e in city.feed if e["stream"] == "report"
                   and e["grid_id"] == rec["subject_id"] and t0 <= e["t"] <= t1]
        assert len(reports) >= 4 and t1 - t0 <= 2 * 3600


def test_sensor_incidents_show_in_their_device(city: City) -> None:
    limits = {"smoke": 0.5, "gas": 20, "temperature": 57}
    for rec in city.incidents("sensor_threshold"):
        metric = rec["detail"]["metric"]
        t0, t1 = _t(rec["start"]), city.end_t(rec)
        values = [e["value"] for e in city.by_device[rec["subject_id"]]
                  if e["metric"] == metric and t0 <= e["t"] <= t1]
        assert max(values) > limits[metric]
    for rec in city.incidents("sensor_anomaly"):
        if rec["detail"]["scenario"] == "water leak":  # flowing every hour, night included
            t0, t1 = _t(rec["start"]) + 7200, city.end_t(rec)
            flow = rec["detail"]["extra_m3_per_h"]
            values = [e["value"] for e in city.by_device[rec["subject_id"]] if t0 <= e["t"] < t1]
            assert values and min(values) >= 0.8 * flow


def test_offline_devices_say_nothing(city: City) -> None:
    for rec in city.incidents("device_offline"):
        t0, t1 = _t(rec["start"]), city.end_t(rec)
        members = rec["detail"].get("members", [rec["subject_id"]])
        for dev in members:
            assert not [e for e in city.by_device[dev] if t0 <= e["t"] < t1]
    assert any(r["subject_type"] == "building" for r in city.incidents("device_offline"))


# ------------------------------------------------------------------ controls


def test_negative_controls_are_present(city: City) -> None:
    kinds = {r["kind"] for r in city.controls}
    assert {"control:night_shift", "control:late_sleeper", "control:home_all_day",
            "control:traveller", "control:festival", "control:large_family"} <= kinds
    for r in city.controls:
        assert set(r) == RECORD_KEYS and r["kind"].startswith("control:")
    for r in city.controls:
        if r["kind"] == "control:traveller":
            t0, t1 = _t(r["start"]) + 900, city.end_t(r) - 900
            assert not [e for e in city.by_person[r["subject_id"]] if t0 <= e["t"] < t1]


# ------------------------------------------------------------------ publishing


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[dict[str, Any]], bytes | None]] = []
        self.flushed = 0

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.sent.append((topic, orjson.loads(value), key))

    def flush(self, timeout: float | None = None) -> None:
        self.flushed += 1


def test_publish_packs_each_stream_in_order_into_arrays(city: City) -> None:
    producer = FakeProducer()
    events = list(iter_events(city.root))[:5000]
    stats = publish(events, producer=producer, speed=0, batch_max=50, max_skew_s=120,
                    topics={"iot": "my.iot"})
    assert sum(stats.events.values()) == len(events)
    topics = {"access": "gw.access", "iot": "my.iot", "report": "gw.reports"}
    for stream, topic in topics.items():
        sent = [e for t, batch, _ in producer.sent if t == topic for e in batch]
        assert sent == [e for s, e in events if s == stream]
    assert all(1 <= len(batch) <= 50 for _, batch, _ in producer.sent)
    assert sum(stats.messages.values()) < len(events) / 4
    assert {key for _, _, key in producer.sent} <= {b"access", b"iot", b"report"}
    newest = float("-inf")
    for _, batch, _ in producer.sent:  # no batch holds events far behind what was sent
        assert _t(batch[0]["ts"]) >= newest - 120 - 1
        newest = max(newest, _t(batch[-1]["ts"]))
    assert producer.flushed == 1


def test_publish_paces_and_stops() -> None:
    events = [("iot", {"event_id": f"i-{k}", "ts": f"2026-11-01T00:{k:02d}:00+08:00",
                       "device_id": "wm-1", "metric": "water", "value": 0.0})
              for k in range(10)]
    producer, stop = FakeProducer(), threading.Event()
    threading.Timer(0.3, stop.set).start()
    began = time.monotonic()
    stats = publish(events, producer=producer, speed=60, stop=stop)  # a minute a second
    assert stats.stopped and 0.25 <= time.monotonic() - began < 2
    assert 1 <= sum(stats.events.values()) < 10
