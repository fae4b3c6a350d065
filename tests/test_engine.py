"""The engine shared by worker and replay: dedup, episodes, partitions, checkpoints."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

from config.models import load_settings
from detectors.base import Decision, DetectorBase
from gridwatch.contract import Alert
from gridwatch.events import Event, Iot
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


def test_a_batch_gives_exactly_the_updates_of_its_events_one_at_a_time(
        tmp_path: Path) -> None:
    """The engine runs each detector over a whole batch, then orders what they said as if
    every event had gone through every detector in turn: the same updates, in the same
    order, as feeding the events one by one, late events included."""
    from gridwatch.simulate import simulate

    simulate(tmp_path / "city", persons=60, days=5, seed=7, max_disorder_s=900)
    events = [parse_line(x) for x in (tmp_path / "city" / "feed.jsonl").read_bytes()
              .splitlines()]
    settings, registry = load_settings(), Registry.from_dir(tmp_path / "city" / "registry")
    one, batched = Engine(settings, registry), Engine(settings, registry)
    singly = [a for e in events for a in one.process([e])] + one.finish()
    together = [a for i in range(0, len(events), 1000)
                for a in batched.process(events[i:i + 1000])] + batched.finish()
    assert len({a["kind"] for a in singly}) >= 6 and one.stats["late"] > 0
    assert together == singly
    assert batched.stats == one.stats


class Scripted(DetectorBase):
    """Fires once: on observing event ``on_event``, or on a step to ``on_step`` or later."""

    streams = frozenset({"iot"})

    def __init__(self, subject: str, on_event: str = "", on_step: float = float("inf")) -> None:
        self.subject, self.on_event, self.on_step, self.fired = subject, on_event, on_step, False

    def config_hash(self) -> str:
        return "scripted"

    def shard_key(self, event: Event) -> str | None:
        return "g-1"

    def observe(self, event: Event) -> list[Decision]:
        return self._fire(event.t) if event.event_id == self.on_event else []

    def advance(self, watermark: float) -> list[Decision]:
        return self._fire(watermark) if watermark >= self.on_step else []

    def _fire(self, t: float) -> list[Decision]:
        if self.fired:
            return []
        self.fired = True
        return [Decision(self.name, "device", self.subject, "firing", "orange", t, t)]


class Threshold(Scripted):
    name = "sensor_threshold"


class Offline(Scripted):
    name = "device_offline"


def test_an_events_observed_decisions_come_before_its_steps_whatever_the_detector_order(
        ) -> None:
    """At one event, the second detector's observe goes out before the first detector's
    advance at the step that event makes: the order of one event at a time."""
    from alertkit import T0, city

    events = [Iot("e-1", T0, "d-1", "water", 0.1), Iot("e-2", T0 + 10, "d-1", "water", 0.1)]
    kinds = []
    for batch in ([events], [[e] for e in events]):
        eng = Engine(load_settings(), city(), detectors=[
            Threshold("d-1", on_step=T0 - 295), Offline("d-2", on_event="e-2")])
        kinds.append([a["kind"] for b in batch for a in eng.process(b)])
    assert kinds == [["device_offline", "sensor_threshold"]] * 2


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
