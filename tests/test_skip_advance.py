"""The engine's shortcuts change how much work it does, never what it decides.

Three optional detector members let an engine skip calls: ``next_due`` (no
``advance`` before that watermark), ``observe_filters`` (``observe`` itself
ignores what ``shard_key`` would drop) and ``metrics`` (the meter readings it
looks at: no other is handed to it, by the engine or the router). These tests
hold each detector to those promises, and the engine and router to giving the
alerts, state and partitions they give when every call is made.
"""

from __future__ import annotations

import io
import math
import random
from typing import Any, ClassVar

import pytest

from config.models import load_settings
from detectors.base import Decision, DetectorBase
from detectors.offline import DeviceOffline
from gridwatch.events import Access, Event, Iot, Report
from gridwatch.registry import Registry
from gridwatch.replay import ReplayResult, read_feed
from streams.engine import Engine
from streams.routing import split_by_partition

HOUR = 3600.0
T0 = 1_800_000_000.0


class EveryCall:
    """A detector as an engine without the shortcuts sees it: no ``next_due``, no
    ``observe_filters``, no ``metrics``; everything else is the detector's own."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in ("next_due", "observe_filters", "metrics"):
            raise AttributeError(name)
        return getattr(self.inner, name)


class Countdown(DetectorBase):
    """One deadline per ``observe``: fires ``delay`` after the event, in ``advance``.

    ``next_due`` is the earliest open deadline, so an engine skips every step
    before it; the decision must still come at the step that first reaches it.
    """

    name: ClassVar[str] = "countdown"
    streams: ClassVar[frozenset[str]] = frozenset({"iot"})
    _not_state = ("config", "registry", "calls")

    def __init__(self, delay: float, skip: bool) -> None:
        self.registry = Registry()
        self.delay, self.skip = delay, skip
        self.deadlines: list[tuple[float, str]] = []
        self.calls = 0

    def config_hash(self) -> str:
        return "countdown"

    def shard_key(self, event: Event) -> str | None:
        return event.event_id

    def observe(self, event: Event) -> list[Decision]:
        self.deadlines.append((event.t + self.delay, event.event_id))
        self.deadlines.sort()
        return []

    def next_due(self) -> float:
        if not self.skip:
            return -math.inf
        return self.deadlines[0][0] if self.deadlines else math.inf

    def advance(self, watermark: float) -> list[Decision]:
        self.calls += 1
        out = []
        while self.deadlines and self.deadlines[0][0] <= watermark:
            due, eid = self.deadlines.pop(0)
            out.append(self.decision("countdown", "device", eid, "firing", "yellow", due,
                                     watermark, {"due": due}))
        return out


def countdown_run(skip: bool) -> tuple[list[tuple[str, float]], int]:
    """Readings 10 s apart with a 95 s deadline each: deadlines fall between events."""
    det = Countdown(95.0, skip)
    eng = Engine(load_settings(), Registry(), detectors=[det])
    events = [Iot(f"e{i}", T0 + 10.0 * i, f"d{i}", "water", 0.1) for i in range(40)]
    alerts = []
    for i in range(0, len(events), 7):  # batches of any size: same result
        alerts += eng.process(events[i:i + 7])
    alerts += eng.finish()
    return [(a["subject"]["id"], a["ts"]) for a in alerts], det.calls


def test_a_deadline_between_events_fires_at_the_same_step_when_steps_are_skipped() -> None:
    every, every_calls = countdown_run(skip=False)
    skipped, skipped_calls = countdown_run(skip=True)
    assert every and skipped == every
    assert skipped_calls < every_calls  # the steps before the first deadline were skipped


def silent_meter_events() -> list[Event]:
    """An hourly meter that stops after hour 30; a second one keeps event time moving."""
    events: list[Event] = []
    for h in range(60):
        if h <= 30:
            events.append(Iot(f"w{h}", T0 + h * HOUR, "wm-1", "water", 0.01))
        for q in range(4):
            events.append(Iot(f"x{h}-{q}", T0 + h * HOUR + q * 900.0 + 7.0, "wm-2",
                              "water", 0.01))
    events.append(Iot("w-back", T0 + 55 * HOUR + 1.0, "wm-1", "water", 0.2))
    return sorted(events, key=lambda e: e.t)


def test_device_offline_fires_and_resolves_the_same_with_and_without_skipping() -> None:
    settings, registry = load_settings(), Registry()
    fast = Engine(settings, registry, detectors=[
        DeviceOffline(settings.detectors.device_offline, registry)])
    slow = Engine(settings, registry, detectors=[
        EveryCall(DeviceOffline(settings.detectors.device_offline, registry))])
    events = silent_meter_events()
    got, want = fast.process(events) + fast.finish(), slow.process(events) + slow.finish()
    assert [(a["subject"]["id"], a["status"]) for a in want] == [
        ("wm-1", "firing"), ("wm-1", "resolved"), ("wm-1", "firing")]  # one report, then quiet
    assert got == want
    assert fast.detectors[0].snapshot() == slow.detectors[0].inner.snapshot()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Event], Registry]:
    from gridwatch.simulate import simulate

    root = tmp_path_factory.mktemp("city")
    simulate(root, persons=60, days=5, seed=3)
    registry = Registry.from_dir(root / "registry")
    events = list(read_feed(root / "feed.jsonl", io.BytesIO(), ReplayResult()))
    rng = random.Random(3)  # some arrive late, past the allowed lateness too
    events.sort(key=lambda e: e.t + (rng.uniform(0, 500) if rng.random() < 0.2 else 0.0))
    return events, registry


def replay_with(events: list[Event], registry: Registry,
                wrap: bool) -> tuple[list[dict[str, Any]], Engine]:
    eng = Engine(load_settings(), registry)
    if wrap:
        eng.use_detectors([EveryCall(d) for d in eng.detectors])
    out: list[dict[str, Any]] = []
    for i in range(0, len(events), 500):
        out += eng.process(events[i:i + 500])
    return out + eng.finish(), eng


def test_replay_gives_the_alerts_and_state_of_an_engine_making_every_call(city) -> None:
    events, registry = city
    got, fast = replay_with(events, registry, wrap=False)
    want, slow = replay_with(events, registry, wrap=True)
    assert got and got == want
    assert fast.stats == slow.stats and fast.stats["late"] > 0
    for mine, theirs in zip(fast.detectors, slow.detectors, strict=True):
        assert mine.snapshot() == theirs.inner.snapshot(), mine.name


def probes(registry: Registry) -> list[Event]:
    """Events most detectors ignore: other metrics, unknown ids, no person, no alarm."""
    return [Iot("p1", T0, "zz-unknown", "humidity", 0.5),
            Iot("p2", T0, "zz-unknown", "water", float("nan")),
            Iot("p3", T0, "zz-unknown", "smoke", 0.0),
            Access("p4", T0, "gate-unknown", "in", "face", None),
            Access("p5", T0, "gate-unknown", "in", "card", "nobody-known"),
            Report("p6", T0, "grid-unknown", "noise", "citizen")]


def test_detectors_that_filter_in_observe_ignore_what_shard_key_drops(city) -> None:
    """``observe_filters``: every event ``shard_key`` drops leaves ``observe`` silent and
    the detector's state as it was, mid-replay (state built up) as well as fresh."""
    events, registry = city
    eng = Engine(load_settings(), registry)
    eng.process(events[: len(events) // 2])
    sample = events[len(events) // 2:][::7] + probes(registry)
    checked = 0
    for det in eng.detectors:
        if not getattr(det, "observe_filters", False):
            continue
        for ev in sample:
            if ev.stream not in det.streams or det.shard_key(ev) is not None:
                continue
            before = det.snapshot()
            assert det.observe(ev) == [], (det.name, ev)
            assert det.snapshot() == before, (det.name, ev)
            checked += 1
    assert checked > 100


def test_advance_before_next_due_does_nothing(city) -> None:
    """``next_due``: a watermark just short of it decides nothing and changes nothing."""
    events, registry = city
    eng = Engine(load_settings(), registry)
    checked = 0
    for i in range(0, len(events), 997):
        eng.process(events[i:i + 997])
        for det in eng.detectors:
            due = det.next_due()
            if not math.isfinite(due) or due <= eng.watermark:
                continue
            before = det.snapshot()
            assert det.advance(math.nextafter(due, -math.inf)) == [], det.name
            assert det.snapshot() == before, det.name
            checked += 1
    assert checked > 10


def test_detectors_without_next_due_are_asked_at_every_step() -> None:
    """A detector that does not say (presence, a plug-in) keeps every ``advance``."""
    det = Countdown(95.0, skip=False)
    eng = Engine(load_settings(), Registry(), detectors=[EveryCall(det)])
    eng.process([Iot(f"e{i}", T0 + 10.0 * i, "d", "water", 0.1) for i in range(40)])
    assert det.calls == 40  # events 10 s apart: each moves the watermark a step



def test_detectors_naming_their_metrics_ignore_every_other_reading(city) -> None:
    """``metrics``: a reading of any other metric leaves ``observe`` silent and the state
    as it was, and ``shard_key`` sends it nowhere (the router does not ask either)."""
    events, registry = city
    eng = Engine(load_settings(), registry)
    eng.process(events[: len(events) // 2])
    sample = [e for e in events[len(events) // 2:] if isinstance(e, Iot)][::5] + [
        Iot("p7", T0, "zz-unknown", "humidity", 0.5)]
    named, checked = set(), 0
    for det in eng.detectors:
        if det.metrics is None:
            continue
        named.add(det.name)
        for ev in sample:
            if ev.metric in det.metrics:
                continue
            before = det.snapshot()
            assert det.shard_key(ev) is None, (det.name, ev)
            assert det.observe(ev) == [], (det.name, ev)
            assert det.snapshot() == before, (det.name, ev)
            checked += 1
    assert named >= {"presence", "sensor_anomaly", "sensor_threshold", "group_rental",
                     "event_cluster"} and checked > 1000


def test_the_router_splits_as_when_every_detector_is_asked(city) -> None:
    """Skipping the detectors whose metrics a reading is not sends every event to the
    partitions asking all of them would, each once."""
    events, registry = city
    spread = 0
    for known in (registry, Registry()):  # grids as keys; every device its own key
        detectors = Engine(load_settings(), known).detectors
        for parts in (3, 8):
            got = split_by_partition(events, detectors, parts)
            want = split_by_partition(events, [EveryCall(d) for d in detectors], parts)
            assert got == want
            spread = max(spread, len(got))
    assert spread == 8
