"""The engine shared by worker and replay: dedup, episodes, partitions, checkpoints."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

from config.models import load_settings
from gridwatch.contract import Alert
from gridwatch.events import Iot
from gridwatch.feedlines import parse_line
from gridwatch.registry import Registry
from streams.engine import Engine
from streams.routing import owner, split_by_partition

DATA = Path(__file__).parent / "data"


def feed() -> list:
    events = []
    for line in (DATA / "feed.jsonl").read_bytes().splitlines():
        try:
            events.append(parse_line(line))
        except ValueError:
            pass
    return events


def engine() -> Engine:
    return Engine(load_settings(), Registry.from_dir(DATA / "registry"))


def test_alerts_follow_the_contract_and_carry_registry_routing() -> None:
    alerts = engine().process(feed())
    for a in alerts:
        Alert.model_validate(a)
    smoke = [a for a in alerts if a["subject"]["id"] == "sm-1001"]
    assert [(a["seq"], a["status"], a["severity"]) for a in smoke] == [
        (1, "firing", "red"), (2, "resolved", "red")]
    assert smoke[0]["grid"]["grid_id"] == "grid-0103"
    assert smoke[0]["assignee"] == {"worker_id": "w-0103", "police_id": "pol-17"}
    assert smoke[1]["ends_at"] == "2026-11-22T08:05:00+08:00"
    assert smoke[0]["detector"]["config_hash"]
    gas = [(a["seq"], a["severity"]) for a in alerts if a["subject"]["id"] == "gs-1002"]
    assert gas == [(1, "orange"), (2, "red"), (3, "red")]  # escalation, then resolution


def test_redelivered_events_are_dropped_by_id() -> None:
    eng = engine()
    first = eng.process(feed())
    again = eng.process(feed())
    assert first and again == []
    assert eng.stats["duplicates"] >= len(feed())


def test_partitioned_engines_give_exactly_the_alerts_of_one_engine() -> None:
    """Live runs an engine per partition; replay runs one. They must agree."""
    settings, registry = load_settings(), Registry.from_dir(DATA / "registry")
    whole = Engine(settings, registry).process(feed())
    parts = 3
    probe = Engine(settings, registry)
    split = split_by_partition(feed(), probe.detectors, parts)
    pieces = []
    for p, events in split.items():
        pieces += Engine(settings, registry, owns=owner(p, parts)).process(events)
    key = lambda a: (a["alert_id"], a["seq"])  # noqa: E731
    assert sorted(pieces, key=key) == sorted(whole, key=key)


def test_snapshot_restore_continues_the_episode() -> None:
    eng = engine()
    t0 = 1_800_000_000.0
    eng.process([Iot("g1", t0, "gs-1002", "gas", 30.0)])
    resumed = engine()
    resumed.restore(eng.snapshot())
    assert resumed.watermark == eng.watermark
    out = resumed.process([Iot("g1", t0, "gs-1002", "gas", 30.0),  # redelivered: dropped
                           Iot("g2", t0 + 60, "gs-1002", "gas", 70.0)])
    assert [(a["seq"], a["severity"]) for a in out] == [(2, "red")]


def test_a_checkpoint_keeps_the_seen_ids_in_order_and_still_drops_their_redelivery() -> None:
    eng = engine()
    t0 = 1_800_000_000.0
    eng.process([Iot(f"w{i}", t0 + i, "wm-x", "water", 0.0) for i in range(5)]
                + [Iot("odd\ud800id", t0 + 9, "wm-x", "water", 0.0)])
    kept_whole = eng.snapshot()
    assert isinstance(pickle.loads(kept_whole)["seen"], OrderedDict)  # JSON cannot carry one
    for blob in (kept_whole, _without_odd_id(eng)):
        resumed = engine()
        resumed.restore(blob)
        assert list(resumed.seen.ids)[:5] == [f"w{i}" for i in range(5)]
        resumed.process([Iot("w3", t0 + 3, "wm-x", "water", 0.0)])
        assert resumed.stats["duplicates"] == 1


def _without_odd_id(eng: Engine) -> bytes:
    """The same engine's checkpoint with only JSON-safe ids (the compact form)."""
    eng.seen.ids.pop("odd\ud800id")
    blob = eng.snapshot()
    assert isinstance(pickle.loads(blob)["seen"], bytes)
    return blob


def test_a_checkpoint_from_before_the_compact_ids_restores() -> None:
    """Checkpoints written before the ids were saved as one array held the dict."""
    eng = engine()
    eng.process([Iot("old-1", 1_800_000_000.0, "wm-x", "water", 0.0)])
    state = pickle.loads(eng.snapshot())
    state["seen"] = OrderedDict.fromkeys(["old-1"])
    resumed = engine()
    resumed.restore(pickle.dumps(state))
    resumed.process([Iot("old-1", 1_800_000_000.0, "wm-x", "water", 0.0)])
    assert resumed.stats["duplicates"] == 1


def test_watermark_trails_event_time_by_the_allowed_lateness() -> None:
    eng = engine()
    eng.process([Iot("a", 1000.0, "x", "water", 0.0), Iot("b", 5000.0, "x", "water", 0.0)])
    assert eng.watermark == 5000.0 - eng.lateness
    eng.process([Iot("c", 100.0, "x", "water", 0.0)])
    assert eng.stats["late"] == 1 and eng.stats["events"] == 3


class Faulty:
    """A detector with a bug that only some live data reaches."""

    name, version = "faulty", "1"

    def config_hash(self) -> str:
        return "0"

    def shard_key(self, event: object) -> str:
        return "any"

    def observe(self, event: Iot) -> list:
        if event.metric == "smoke":
            raise ZeroDivisionError("a bug")
        return []

    def advance(self, watermark: float) -> list:
        raise KeyError("another bug")

    def snapshot(self) -> bytes:
        return b""

    def restore(self, blob: bytes) -> None:
        pass


def test_a_failing_detector_is_logged_and_counted_and_the_others_go_on(caplog) -> None:
    from detectors.catalog import build_detectors

    s, reg = load_settings(), Registry.from_dir(DATA / "registry")
    eng = Engine(s, reg, detectors=[Faulty(), *build_detectors(s.detectors, reg)])
    alerts = eng.process(feed()) + eng.finish()
    smoke = [a for a in alerts if a["subject"]["id"] == "sm-1001"]
    assert [(a["seq"], a["status"]) for a in smoke] == [(1, "firing"), (2, "resolved")]
    assert eng.stats["detector_errors"] >= 2
    failures = [r for r in caplog.records if r.getMessage().startswith("detector faulty")]
    assert failures and all(r.detector == "faulty" and r.exc_info for r in failures)
