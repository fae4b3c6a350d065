"""``unusual_hours`` (昼伏夜出): timelines, the night-shift worker, order and state invariants."""

from __future__ import annotations

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.patterns import UnusualHoursConfig
from detectors.base import Decision
from detectors.night import UnusualHours, _binom_tail, _hours_text
from gridwatch.events import Access
from gridwatch.registry import Registry

H, DAY = 3600.0, 86400.0
T0 = 1_800_000_000 - 1_800_000_000 % 86400 - 8 * 3600  # a local (UTC+8) midnight
LATENESS = 300.0
DAY_LIFE = (8.5, 18.0)  # out at 08:30, back at 18:00
NIGHT_LIFE = (23.0, 28.0)  # out at 23:00, back at 04:00
NIGHT_SHIFT = (21.0, 30.0)  # out at 21:00, back at 06:00


def registry(n: int = 8, key: tuple[str, ...] = ()) -> Registry:
    reg = Registry()
    reg.put("grids", {"grid_id": "g1"})
    reg.put("houses", {"house_id": "h1", "grid_id": "g1", "registered_occupants": n + 1})
    for pid in [f"p-{i}" for i in range(n)] + ["p-shift"]:
        tags = "key_person" if pid in key else ""
        reg.put("persons", {"person_id": pid, "house_id": "h1", "tags": tags})
    return reg


def city(days: int, lives: dict[str, dict[int, tuple[float, ...]]], n: int = 8,
         seed: int = 7) -> list[Access]:
    """Everyone lives a day life unless ``lives[pid][day]`` says otherwise; p-shift works nights."""
    rng, out = random.Random(seed), []
    for d in range(days):
        for pid in [f"p-{i}" for i in range(n)] + ["p-shift"]:
            hours = NIGHT_SHIFT if pid == "p-shift" else DAY_LIFE
            hours = lives.get(pid, {}).get(d, hours)
            for k, h in enumerate(hours):
                t = T0 + d * DAY + h * H + rng.uniform(0, 1800)
                out.append(Access(f"{pid}-{d}-{k}", t, "gate-1", "out" if k % 2 == 0 else "in",
                                  "face", pid))
    return out


def play(det: UnusualHours, events: list[Access], until: float) -> list[Decision]:
    """Arrival order as given; the watermark trails the newest event by the lateness."""
    out: list[Decision] = []
    newest = float("-inf")
    for ev in events:
        out += det.observe(ev)
        newest = max(newest, ev.t)
        out += det.advance(newest - LATENESS)
    return out + det.advance(until)


def brief(ds: list[Decision]) -> list[tuple[str, str, str, float, float]]:
    return [(d.subject_id, d.status, d.severity, round((d.start - T0) / DAY, 3),
             round((d.t - T0) / DAY, 3)) for d in ds]


def nights(pid: str, first: int, last: int) -> dict[str, dict[int, tuple[float, ...]]]:
    return {pid: {d: NIGHT_LIFE for d in range(first, last + 1)}}


# ------------------------------------------------------------ timelines
def test_a_shift_into_the_night_fires_on_the_third_night_and_resolves_after() -> None:
    """Nights 10–15, day life again from day 16: one episode, opened and closed once."""
    det = UnusualHours(UnusualHoursConfig(), registry())
    got = play(det, city(26, nights("p-0", 10, 15)), T0 + 26 * DAY)
    # start: 20:00 of the first night day; t: the end (08:00 next morning) of the day
    # whose night was the third; resolved once one night day is left in the window
    assert brief(got) == [("p-0", "firing", "yellow", 10.833, 13.333),
                          ("p-0", "resolved", "yellow", 10.833, 22.333)]
    ev = got[0].evidence
    assert (ev["night_days"], ev["days_observed"], ev["window_days"]) == (3, 7, 7)
    assert ev["night_share_before"] < 0.05 < 0.4 < ev["night_share_after"]
    assert ev["quiet_hours"] == "00-05" and ev["night_window"] == "20:00-08:00"
    assert ev["p_value"] <= UnusualHoursConfig().alpha
    assert got[1].evidence["night_days"] <= 1


def test_a_long_shift_stays_one_episode_until_it_ends() -> None:
    """History and population do not learn the nights of an open episode, so it lasts."""
    det = UnusualHours(UnusualHoursConfig(), registry())
    got = play(det, city(50, nights("p-0", 10, 40)), T0 + 50 * DAY)
    assert brief(got) == [("p-0", "firing", "yellow", 10.833, 13.333),
                          ("p-0", "resolved", "yellow", 10.833, 47.333)]


def test_a_key_person_is_orange() -> None:
    det = UnusualHours(UnusualHoursConfig(), registry(key=("p-0",)))
    got = play(det, city(16, nights("p-0", 10, 15)), T0 + 16 * DAY)
    assert [(d.subject_id, d.status, d.severity) for d in got] == [("p-0", "firing", "orange")]


def test_a_key_person_new_to_the_grid_is_judged_against_the_population() -> None:
    """p-7 is first seen on day 12 and lives at night: no own history, the grid's is enough."""
    lives = {"p-7": {d: (() if d < 12 else NIGHT_LIFE) for d in range(20)}}
    det = UnusualHours(UnusualHoursConfig(), registry(key=("p-7",)))
    got = play(det, city(20, lives), T0 + 20 * DAY)
    assert [(d.subject_id, d.status) for d in got] == [("p-7", "firing")]
    assert got[0].evidence["baseline"] == "population"


def test_without_history_an_ordinary_person_is_not_judged() -> None:
    lives = {"p-7": {d: (() if d < 12 else NIGHT_LIFE) for d in range(20)}}
    det = UnusualHours(UnusualHoursConfig(), registry())
    assert play(det, city(20, lives), T0 + 20 * DAY) == []


def test_a_shift_from_the_first_days_is_still_found() -> None:
    """No baseline yet when it starts (day 3): those days wait, they are not learned as usual."""
    det = UnusualHours(UnusualHoursConfig(), registry(key=("p-0",)))
    got = play(det, city(16, nights("p-0", 3, 11)), T0 + 16 * DAY)
    assert [(d.subject_id, d.status) for d in got][:1] == [("p-0", "firing")]


# ------------------------------------------------------------ negative cases
def test_a_stable_night_shift_worker_is_never_flagged_even_as_a_key_person() -> None:
    reg = registry()
    reg.put("persons", {"person_id": "p-shift", "house_id": "h1", "tags": "key_person"})
    det = UnusualHours(UnusualHoursConfig(), reg)
    assert play(det, city(40, {}), T0 + 40 * DAY) == []


@given(st.integers(8, 30), st.integers(1, 2))
@settings(max_examples=15, deadline=None, derandomize=True)
def test_one_or_two_late_nights_are_not_a_pattern(first: int, count: int) -> None:
    det = UnusualHours(UnusualHoursConfig(), registry(key=("p-0",)))
    got = play(det, city(40, nights("p-0", first, first + count - 1)), T0 + 40 * DAY)
    assert got == []


def test_a_late_night_every_week_is_not_a_pattern() -> None:
    lives = {"p-0": {d: NIGHT_LIFE for d in range(5, 60, 7)}}
    det = UnusualHours(UnusualHoursConfig(), registry())
    assert play(det, city(60, lives), T0 + 60 * DAY) == []


# ------------------------------------------------------------ invariants
@given(st.integers(0, 10_000), st.floats(0.0, LATENESS))
@settings(max_examples=10, deadline=None, derandomize=True)
def test_arrival_order_within_the_lateness_changes_nothing(seed: int, disorder: float) -> None:
    events = city(18, nights("p-0", 10, 15))
    rng = random.Random(seed)
    shuffled = sorted(events, key=lambda e: e.t + rng.uniform(0, disorder))
    want = play(UnusualHours(UnusualHoursConfig(), registry()), sorted(events, key=lambda e: e.t),
                T0 + 18 * DAY)
    assert want and play(UnusualHours(UnusualHoursConfig(), registry()), shuffled,
                         T0 + 18 * DAY) == want


@given(st.sampled_from([1, 50, 500, 10**9]))
@settings(max_examples=4, deadline=None, derandomize=True)
def test_the_cadence_of_advance_changes_nothing(every: int) -> None:
    """Advance per event, now and then, or never until the end (days close in observe)."""
    events = sorted(city(20, nights("p-0", 10, 15)), key=lambda e: e.t)
    want = play(UnusualHours(UnusualHoursConfig(), registry()), events, T0 + 20 * DAY)
    det, got = UnusualHours(UnusualHoursConfig(), registry()), []
    for i, ev in enumerate(events):
        got += det.observe(ev)
        if i % every == 0:
            got += det.advance(ev.t - LATENESS)
    got += det.advance(T0 + 20 * DAY)
    assert got == want


def test_snapshot_and_restore_mid_stream_give_the_same_alerts() -> None:
    events = sorted(city(20, nights("p-0", 10, 15)), key=lambda e: e.t)
    want = play(UnusualHours(UnusualHoursConfig(), registry()), events, T0 + 20 * DAY)
    det = UnusualHours(UnusualHoursConfig(), registry())
    half = len(events) // 2
    got = play(det, events[:half], events[half - 1].t - LATENESS)
    fresh = UnusualHours(UnusualHoursConfig(), registry())
    fresh.restore(det.snapshot())
    assert got + play(fresh, events[half:], T0 + 20 * DAY) == want


@given(st.lists(st.floats(0, 90 * DAY), min_size=1, max_size=400))
@settings(max_examples=30, deadline=None, derandomize=True)
def test_state_per_person_is_fixed_size_and_the_profile_a_distribution(ts: list[float]) -> None:
    det = UnusualHours(UnusualHoursConfig(), registry())
    play(det, [Access(f"e{i}", T0 + t, "g", "in", "face", "p-0") for i, t in
               enumerate(sorted(ts))], T0 + 91 * DAY)
    p = det.persons["p-0"]
    ring = det.config.window_days + 2
    assert len(p.ring_days) == ring and len(p.counts) == 24 * ring
    assert len(p.history.hours) == 24 and all(x >= 0 for x in p.history.hours)
    total = sum(p.history.shares())
    assert total == 0.0 or abs(total - 1.0) < 1e-5
    assert 0.0 <= p.history.night_days <= p.history.days <= p.history.seen + 1e-6
    assert not det.pending and len(det.pop_due) <= det.config.window_days + 1


def test_pickled_state_does_not_grow_with_time() -> None:
    def size(days: int) -> int:
        det = UnusualHours(UnusualHoursConfig(), registry())
        play(det, city(days, {}), T0 + days * DAY)
        return len(det.snapshot())
    assert size(60) <= size(20) * 1.05


def test_helpers() -> None:
    assert _hours_text((22, 23, 0, 1, 5)) == "22-02, 05-06"
    assert _hours_text(()) == ""
    assert abs(_binom_tail(3, 7, 0.06) - 0.0063) < 5e-4
    assert _binom_tail(0, 7, 0.5) == 1.0 and _binom_tail(8, 7, 0.5) == 0.0
    assert pickle.loads(pickle.dumps(UnusualHoursConfig())) == UnusualHoursConfig()


def test_summaries_name_the_hours_and_shares_by_pseudonymous_id() -> None:
    from sinks.summary import summarize
    det = UnusualHours(UnusualHoursConfig(), registry(key=("p-0",)))
    fired, resolved = play(det, city(26, nights("p-0", 10, 15)), T0 + 26 * DAY)
    assert summarize(fired, ["key_person"], "zh-CN").startswith(
        "重点人员 p-0 昼伏夜出：近 7 天中 3 天在 00-05 时有出入")
    assert "p-0: passes at 00-05 h on 3 of the last 7 days" in summarize(fired, [], "en")
    assert "作息已恢复" in summarize(resolved, [], "zh-CN")


def test_nights_out_through_the_quiet_hours_are_night_days() -> None:
    """Out at 22:30, back at 05:30: the passes fall at the edges of the night, outside
    the quiet hours of a grid with evening returners and early risers, but the hours
    between were spent out. The third such night is the alert; the night-shift worker,
    who is out through the same hours every night, is still never flagged."""
    all_night = (22.5, 29.5)
    lives = {"p-0": {d: all_night for d in range(10, 16)},
             "p-1": dict.fromkeys(range(26), (8.5, 21.5)),  # home late in the evening
             "p-2": dict.fromkeys(range(26), (6.2, 18.0))}  # out early in the morning
    got = play(UnusualHours(UnusualHoursConfig(), registry()), city(26, lives), T0 + 26 * DAY)
    assert [(d.subject_id, d.status) for d in got] == [("p-0", "firing"), ("p-0", "resolved")]
    assert got[0].evidence["night_days"] == 3 and got[0].evidence["passes_in_quiet_hours"] == 0


def _gate_misses(head: str, days: int = 21) -> list[Access]:
    """The night worker's passes from a day plan: W out at 22:00 and back at 06:30, I the
    return missed, O the exit missed, H a day off (out 11:00, back 13:00); after ``head``
    five nights a week. Everyone else lives a day life."""
    plan = {"W": ((22.0, "out"), (30.5, "in")), "I": ((22.0, "out"),),
            "O": ((30.5, "in"),), "H": ((11.0, "out"), (13.0, "in"))}
    week = "WWWWWHH"
    events = city(days, {"p-shift": dict.fromkeys(range(days), ())})
    rng = random.Random(3)
    for d in range(days):
        for k, (h, direction) in enumerate(plan[(head + week * 3)[d]]):
            events.append(Access(f"p-shift-{d}-{k}", T0 + d * DAY + h * H + rng.uniform(0, 1800),
                                 "gate-1", direction, "face", "p-shift"))
    return sorted(events, key=lambda e: e.t)


@pytest.mark.parametrize("head", ["IIIIIW", "OOOOOO", "IOIOIO"])
def test_a_night_worker_whose_first_passes_the_gate_missed_is_not_flagged(head: str) -> None:
    """Their first week shows evening exits without a return, or morning returns without an
    exit: history learns those nights as perhaps spent out (only a seen outing makes a night
    day), and hours a person is often out through are none of their sleep. Learned as
    nights at home, the nights the gate saw whole from the second week were a shift."""
    det = UnusualHours(UnusualHoursConfig(), registry())
    assert play(det, _gate_misses(head), T0 + 21 * DAY) == []


def test_a_shift_begun_before_it_could_be_judged_is_not_learned_as_usual() -> None:
    """Six days of day life then nights from 20:30 to 05:00, not a key person: the shift
    is judged against a history that never held its own first nights (every day joins
    history only when it leaves the window; joined at once, the first nights, too early
    to judge, taught the person's nights as hours they are out)."""
    lives = {"p-0": {d: (20.5, 29.0) for d in range(6, 12)}}
    got = play(UnusualHours(UnusualHoursConfig(), registry()), city(26, lives), T0 + 26 * DAY)
    assert [(d.subject_id, d.status) for d in got][:1] == [("p-0", "firing")]
