"""``crowd`` (人员聚集): surges against the place's own hour-of-week baseline, and invariants."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.days import CalendarConfig
from config.patterns import CrowdConfig
from detectors.base import Decision
from detectors.crowd import Crowd, _nb_tail
from detectors.days import DayTypes, local_day
from gridwatch.events import Access
from gridwatch.registry import Registry

H, DAY, Q = 3600.0, 86400.0, 900.0
T0 = 1_800_000_000 - 1_800_000_000 % 86400 - 8 * 3600  # a local (UTC+8) midnight
LATENESS = 300.0
RESIDENTS = [f"p{i}" for i in range(40)]


def registry() -> Registry:
    reg = Registry()
    reg.put("grids", {"grid_id": "g1"})
    reg.put("houses", {"house_id": "h1", "grid_id": "g1"})
    for gate in ("gate-1", "gate-2"):
        reg.put("gates", {"gate_id": gate, "grid_id": "g1"})
    reg.put("gates", {"gate_id": "door-h1", "grid_id": "g1", "house_id": "h1"})
    for pid in RESIDENTS:
        reg.put("persons", {"person_id": pid, "house_id": "h1"})
    return reg


COURIERS = [f"c-{i}" for i in range(8)]  # stable face ids the registry does not know


def routine(days: float, seed: int = 1, gate: str = "gate-1", peak: int = 0) -> list[Access]:
    """2–6 residents per quarter hour (``peak`` more coming home at 18:00 every day), and in
    the daytime 0–3 couriers or visitors: a community gate always sees some strangers."""
    rng, out = random.Random(seed), []
    for q in range(int(days * 96)):
        n = rng.randint(2, 6) + (peak if q % 96 == 72 else 0)
        for i in range(n):
            t = T0 + q * Q + rng.uniform(0, Q)
            out.append(Access(f"{gate}-{q}-{i}", t, gate, "in", "face", rng.choice(RESIDENTS)))
        for i in range(rng.randint(0, 3) if 32 <= q % 96 < 84 else 0):
            t = T0 + q * Q + rng.uniform(0, Q)
            out.append(Access(f"{gate}-{q}-c{i}", t, gate, "in", "face", rng.choice(COURIERS)))
    return out


def surge(t0: float, n: int, spread: float, gate: str = "gate-1", tag: str = "s",
          unrecognised: float = 0.0, seed: int = 2) -> list[Access]:
    rng = random.Random(seed)
    return [Access(f"{tag}{i}", t0 + rng.uniform(0, spread), gate, "in", "other",
                   None if rng.random() < unrecognised else f"{tag}-{i}") for i in range(n)]


def play(det: Crowd, events: list[Access], until: float) -> list[Decision]:
    out: list[Decision] = []
    newest = float("-inf")
    for ev in events:
        out += det.observe(ev)
        newest = max(newest, ev.t)
        out += det.advance(newest - LATENESS)
    return out + det.advance(until)


def brief(ds: list[Decision]) -> list[tuple[str, str, str, str, float, float]]:
    return [(d.subject_id, d.status, d.severity, d.evidence["test"],
             round((d.start - T0) / H, 3), round((d.t - T0) / H, 3)) for d in ds]


def hours(x: float) -> float:
    return round(x, 3)


def by_time(events: list[Access]) -> list[Access]:
    return sorted(events, key=lambda e: e.t)


# ------------------------------------------------------------ timelines
def test_fifty_strangers_in_a_quarter_hour_escalate_and_resolve_once() -> None:
    t1 = T0 + 3 * DAY + 14 * H
    events = by_time(routine(4) + [Access(f"x{i}", t1 + i * 15, "gate-1", "in", "face", f"s{i}")
                                   for i in range(50)])
    got = play(Crowd(CrowdConfig(grid_level=False), registry()), events, T0 + 4 * DAY)
    def at(k: int) -> float:  # hours since T0 when the k-th stranger (from 0) passes
        return hours(3 * 24 + 14 + k * 15 / H)
    # opened when the tail test passes tail_p (the 22nd stranger, couriers included: at
    # 14:00 about two are expected), orange at twice the firing limit of min_count = 12
    # strangers, red at four times; resolved an hour after both counts are back to usual
    assert brief(got) == [
        ("gate-1", "firing", "yellow", "strangers", at(21), at(21)),
        ("gate-1", "firing", "orange", "strangers", at(21), at(23)),
        ("gate-1", "firing", "red", "strangers", at(21), at(47)),
        ("gate-1", "resolved", "red", "strangers", at(21), 87.45),
    ]
    ev = got[0].evidence
    assert (ev["strangers"], ev["window_minutes"], ev["unrecognised_passes"]) == (22, 15.0, 0)
    assert ev["expected"] < 3 and ev["p_value"] <= CrowdConfig().tail_p
    assert got[-1].evidence["back_to_usual_at"] == T0 + 86.45 * H
    assert got[-1].evidence["peak"] == 55  # 50 strangers and 5 residents


def test_strangers_leaving_together_are_not_a_gathering_the_same_arriving_are() -> None:
    """Every evening at 21:00 the residents go out for their walk (forty people in a quarter
    hour, learned). On day 3 a banquet's twenty guests, come one by one through the
    afternoon, leave with them: the gathering is over, nothing to dispatch. The strangers
    count is of arrivals; the same twenty arriving together at 21:00 are a crowd."""
    walks = [Access(f"w{d}-{i}", T0 + d * DAY + 21 * H + i * 20, "gate-1", "out", "face",
                    RESIDENTS[i]) for d in range(4) for i in range(40)]
    came = [Access(f"a{i}", T0 + 3 * DAY + 13 * H + i * 1200, "gate-1", "in", "face", f"g{i}")
            for i in range(20)]
    t1 = T0 + 3 * DAY + 21 * H

    def guests(direction: str) -> list[Access]:
        return [Access(f"{direction}{i}", t1 + i * 30, "gate-1", direction, "face", f"g{i}")
                for i in range(20)]

    def run(extra: list[Access]) -> list[Decision]:
        det = Crowd(CrowdConfig(grid_level=False), registry())
        return play(det, by_time(routine(4) + walks + extra), T0 + 4 * DAY)

    assert run(came + guests("out")) == []
    got = run(guests("in"))
    assert [(d.status, d.evidence["test"]) for d in got][:1] == [("firing", "strangers")]


def test_a_gathering_dispersing_hours_later_is_not_a_second_crowd() -> None:
    """Forty people come in together at 14:00 (one episode, resolved once the gate is back
    to usual) and leave together at 17:00: a window of departures is people dispersing,
    not gathering, and opens nothing."""
    came = [Access(f"a{i}", T0 + 3 * DAY + 14 * H + i * 15, "gate-1", "in", "face", f"g{i}")
            for i in range(40)]
    left = [Access(f"l{i}", T0 + 3 * DAY + 17 * H + i * 15, "gate-1", "out", "face", f"g{i}")
            for i in range(40)]
    got = play(Crowd(CrowdConfig(grid_level=False), registry()),
               by_time(routine(4) + came + left), T0 + 4 * DAY)
    opened = [d for d in got if d.status == "firing" and d.severity == "yellow"]
    assert len(opened) == 1 and opened[0].evidence["test"] == "strangers"
    assert [d.status for d in got][-1] == "resolved"


def test_a_crowd_entering_by_two_gates_is_one_grid_episode() -> None:
    t1 = T0 + 3 * DAY + 10 * H
    events = by_time(routine(4) + routine(4, seed=3, gate="gate-2")
                     + surge(t1, 20, 600, "gate-1", "a", unrecognised=0.5)
                     + surge(t1, 20, 600, "gate-2", "b", unrecognised=0.5, seed=4))
    got = play(Crowd(CrowdConfig(), registry()), events, T0 + 4 * DAY)
    assert [(d.subject_type, d.subject_id, d.status) for d in got
            if d.status == "firing"][:1] == [("grid", "g1", "firing")]
    assert {(d.subject_type, d.status) for d in got} == {("grid", "firing"), ("grid", "resolved")}


def test_unrecognised_passes_count_as_people() -> None:
    t1 = T0 + 3 * DAY + 10 * H
    events = by_time(routine(4) + surge(t1, 60, 600, unrecognised=1.0))
    got = play(Crowd(CrowdConfig(grid_level=False), registry()), events, T0 + 4 * DAY)
    assert got[0].evidence["unrecognised_passes"] >= CrowdConfig().min_count
    assert [d.status for d in got] == ["firing"] * (len(got) - 1) + ["resolved"]


def test_a_place_is_not_judged_during_its_warmup() -> None:
    events = by_time(routine(2) + surge(T0 + DAY + 10 * H, 80, 600))
    assert play(Crowd(CrowdConfig(grid_level=False), registry()), events, T0 + 2 * DAY) == []


def test_home_doors_are_group_rentals_business() -> None:
    det = Crowd(CrowdConfig(), registry())
    assert det.shard_key(Access("e", T0, "door-h1", "in", "face", "p1")) is None
    assert det.shard_key(Access("e", T0, "gate-1", "in", "face", "p1")) == "g1"
    assert det.shard_key(Access("e", T0, "gate-x", "in", "face", "p1")) == "gate-x"


# ------------------------------------------------------------ negative cases
def test_a_festival_day_at_one_gate_is_not_a_crowd() -> None:
    """120 announced visitors spread over 09:00–17:00, each staying 1–3 h (the fair)."""
    rng = random.Random(5)
    fair: list[Access] = []
    for i in range(120):
        who = None if rng.random() < 0.4 else f"v-{i}"
        t_in = T0 + 5 * DAY + 9 * H + rng.uniform(0, 7 * H)
        t_out = min(t_in + rng.uniform(1, 3) * H, T0 + 5 * DAY + 18 * H)
        fair += [Access(f"v{i}i", t_in, "gate-1", "in", "other", who),
                 Access(f"v{i}o", t_out, "gate-1", "out", "other", who)]
    events = by_time(routine(7) + fair)
    assert play(Crowd(CrowdConfig(), registry()), events, T0 + 7 * DAY) == []


def test_the_evening_rush_home_is_learned_per_hour() -> None:
    """30 more residents at 18:00 every day: the 18:00 bin expects them."""
    events = by_time(routine(10, peak=30))
    assert play(Crowd(CrowdConfig(), registry()), events, T0 + 10 * DAY) == []


@given(st.integers(0, 10_000))
@settings(max_examples=4, deadline=None, derandomize=True)
def test_ordinary_days_raise_nothing(seed: int) -> None:
    events = by_time(routine(6, seed=seed) + routine(6, seed=seed + 1, gate="gate-2"))
    assert play(Crowd(CrowdConfig(), registry()), events, T0 + 6 * DAY) == []


# ------------------------------------------------------------ invariants
@given(st.lists(st.tuples(st.floats(0, 6 * H), st.integers(-1, 30)), min_size=1,
                max_size=300))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_window_counts_are_the_distinct_ids_of_the_last_window(
        passes: list[tuple[float, int]]) -> None:
    reg = registry()
    events = by_time([Access(f"e{i}", T0 + t, "gate-1", "in", "face",
                             None if k < 0 else (f"p{k}" if k < 20 else f"s{k}"))
                      for i, (t, k) in enumerate(passes)])
    det = Crowd(CrowdConfig(grid_level=False), reg)
    play(det, events, events[-1].t)
    now = events[-1].t
    live = [e for e in events if e.t > now - Q]
    ids = {e.person_id for e in live if e.person_id}
    unrecognised = sum(e.person_id is None for e in live)
    place = det.places["gate-1"]
    assert place.counts() == (len(ids) + unrecognised,
                              len({i for i in ids if i not in reg.persons}) + unrecognised)
    assert len(place.window) == len(live)


@given(st.integers(0, 10_000), st.floats(0.0, LATENESS))
@settings(max_examples=8, deadline=None, derandomize=True)
def test_arrival_order_within_the_lateness_changes_nothing(seed: int, disorder: float) -> None:
    events = by_time(routine(4) + surge(T0 + 3 * DAY + 11 * H, 60, 900))
    rng = random.Random(seed)
    shuffled = sorted(events, key=lambda e: e.t + rng.uniform(0, disorder))
    want = play(Crowd(CrowdConfig(), registry()), events, T0 + 4 * DAY)
    assert want and play(Crowd(CrowdConfig(), registry()), shuffled, T0 + 4 * DAY) == want


def test_snapshot_and_restore_mid_stream_give_the_same_alerts() -> None:
    events = by_time(routine(4) + surge(T0 + 3 * DAY + 11 * H, 60, 900))
    want = play(Crowd(CrowdConfig(), registry()), events, T0 + 4 * DAY)
    det = Crowd(CrowdConfig(), registry())
    cut = next(i for i, e in enumerate(events) if e.t > T0 + 3 * DAY + 11 * H + 300)
    got = play(det, events[:cut], events[cut - 1].t - LATENESS)
    fresh = Crowd(CrowdConfig(), registry())
    fresh.restore(det.snapshot())
    assert got + play(fresh, events[cut:], T0 + 4 * DAY) == want


def test_state_is_bounded() -> None:
    """A flood saturates the window; weeks later the place holds its bins and nothing more."""
    det = Crowd(CrowdConfig(grid_level=False, max_window_passes=100), registry())
    play(det, by_time(routine(3) + surge(T0 + 2.5 * DAY, 5000, 600)), T0 + 3 * DAY)
    assert len(det.places["gate-1"].window) <= 100
    size = len(det.snapshot())
    play(det, by_time([e for e in routine(30) if e.t > T0 + 3 * DAY]), T0 + 30 * DAY)
    place = det.places["gate-1"]
    assert len(place.pending) <= det._delay + 1 and len(place.window) < 100
    assert len(det.snapshot()) <= size * 1.1 and len(det.deadlines) <= len(det.places)


def test_negative_binomial_tail() -> None:
    assert _nb_tail(0, 3.0, 0.1) == 1.0
    assert abs(_nb_tail(1, 2.0, 1e-6) - (1 - 2.718281828 ** -2)) < 1e-3  # ~Poisson
    assert _nb_tail(30, 3.0, 0.5) < _nb_tail(30, 3.0, 2.0) < 1.0


def test_a_daily_shift_change_on_the_boundary_second_is_learned() -> None:
    """60 workers pass at exactly 06:00:00 daily: a pass on a window boundary is learned by
    the window it closes, so from the first judged day on it is expected."""
    shift = [Access(f"w{d}-{i}", T0 + d * DAY + 6 * H, "gate-1", "in", "card", RESIDENTS[i % 40])
             for d in range(8) for i in range(60)]
    reg = registry()
    for i in range(60):
        reg.put("persons", {"person_id": f"w-{i}", "house_id": "h1"})
    shift = [Access(e.event_id, e.t, e.gate_id, "in", "card", f"w-{k % 60}")
             for k, e in enumerate(shift)]
    assert play(Crowd(CrowdConfig(), reg), by_time(routine(8) + shift), T0 + 8 * DAY) == []


def test_summaries_say_how_many_against_how_many() -> None:
    from sinks.summary import summarize
    t1 = T0 + 3 * DAY + 14 * H
    events = by_time(routine(4) + surge(t1, 50, 600))
    got = play(Crowd(CrowdConfig(grid_level=False), registry()), events, T0 + 4 * DAY)
    assert summarize(got[0], [], "zh-CN").startswith("出入口 gate-1 15 分钟内 ")
    assert "平时约" in summarize(got[0], [], "zh-CN")
    assert summarize(got[-1], [], "en").startswith("gate gate-1: crowd dispersed (peak ")


# ------------------------------------------------------------ the calendar
CST = timezone(timedelta(hours=8))


def gate_days(days: DayTypes, first: date, n: int,
              passes: Callable[[date, float], list[Access]]) -> list[date]:
    """The local dates on which gate-1 (40 registered residents r0…r39) raised a crowd over
    ``n`` days from ``first``; ``passes(day, midnight)`` gives each day's passes."""
    reg = Registry()
    reg.put("gates", {"gate_id": "gate-1", "grid_id": "g1", "house_id": ""})
    for i in range(40):
        reg.put("persons", {"person_id": f"r{i}", "house_id": "h"})
    det, out = Crowd(CrowdConfig(grid_level=False), reg, days), []
    for d in range(n):
        day = first + timedelta(days=d)
        midnight = datetime(day.year, day.month, day.day, tzinfo=CST).timestamp()
        for e in sorted(passes(day, midnight), key=lambda e: e.t):
            out += det.observe(e)
        out += det.advance(midnight + 86400)
    return [datetime.fromtimestamp(x.t, CST).date() for x in out if x.status == "firing"]


def rush_or_spread(working: bool, day: date, midnight: float) -> list[Access]:
    """40 residents home from work in the 18:00 rush, or on a rest day spread over the day."""
    return [Access(f"{day}-{i}", midnight + (18 * 3600 + i * 60 if working else
                                             9 * 3600 + i * 900), "gate-1", "in", "face",
                   f"r{i}") for i in range(40)]


def test_a_worked_sunday_and_a_weekday_holiday_follow_the_official_calendar() -> None:
    """China moves rest days (调休): 2025-01-26 was a Sunday worked for Spring Festival,
    2025-01-29 a Wednesday off. Commuters home on the worked Sunday are the usual
    working-day rush, not a crowd; without the official calendar the same Sunday is one."""
    official = DayTypes(CalendarConfig())

    def city(days: DayTypes) -> list[date]:
        return gate_days(days, date(2025, 1, 1), 26, lambda day, midnight: rush_or_spread(
            not official.rest(local_day(day)), day, midnight))

    assert city(official) == []
    plain = DayTypes(CalendarConfig(official=False, work_days=(date(2025, 1, 26),)))
    assert city(plain) == []  # the same day named by the deployment instead
    assert city(DayTypes(CalendarConfig(official=False)))[:1] == [date(2025, 1, 26)]


def test_a_weekend_past_the_published_schedule_may_be_a_worked_one() -> None:
    """Past the years ``chinesecalendar`` covers, a Saturday or Sunday may be worked (调休)
    without anyone having said so: its evening rush home is judged by the working days'
    bins too, so it is no crowd; 60 strangers on a Sunday afternoon still are. Once the
    deployment lists the year's dates, its other weekends are rest days again."""
    worked = date(2031, 1, 26)  # a Sunday

    def city(days: DayTypes, strangers: int = 0) -> list[date]:
        def passes(day: date, midnight: float) -> list[Access]:
            crowd = [Access(f"s{i}", midnight + 15 * 3600 + i * 10, "gate-1", "in", "face",
                            f"v{i}") for i in range(strangers if day == date(2031, 1, 19)
                                                    else 0)]  # a Sunday
            return rush_or_spread(day.weekday() < 5 or day == worked, day, midnight) + crowd
        return gate_days(days, date(2031, 1, 1), 28, passes)

    assert city(DayTypes(CalendarConfig())) == []
    assert city(DayTypes(CalendarConfig()), strangers=60)[:1] == [date(2031, 1, 19)]
    listed = DayTypes(CalendarConfig(rest_days=(date(2031, 10, 1),)))  # National Day
    assert city(listed)[:1] == [worked]


def test_a_weekday_past_the_published_schedule_may_be_a_holiday() -> None:
    """Twenty residents back from the market at 10:00 are a rest day's routine here; on a
    weekday of a year no schedule covers they are judged by the rest days' bins too (it
    may be a holiday nobody listed yet). Where the deployment chose weekdays as working
    days (``official: false``), the same morning is a crowd."""
    holiday = date(2031, 1, 22)  # a Wednesday

    def passes(day: date, midnight: float) -> list[Access]:
        if day.weekday() < 5 and day != holiday:
            return rush_or_spread(True, day, midnight)
        return [Access(f"{day}-m{i}", midnight + 10 * 3600 + i * 30, "gate-1", "in", "face",
                       f"r{i}") for i in range(20)]

    assert gate_days(DayTypes(CalendarConfig()), date(2031, 1, 1), 28, passes) == []
    assert gate_days(DayTypes(CalendarConfig(official=False)), date(2031, 1, 1), 28,
                     passes)[:1] == [holiday]


# ------------------------------------------------------------ quiet places, first weekends
def quiet_gate_day(day: date, midnight: float, rng: random.Random) -> list[Access]:
    """Residents home in the rush on working days, spread over rest days; two to four
    couriers a day; a family of five visiting on Tuesdays and Thursdays: a gate that
    sees a stranger every few hours, five at once twice a week."""
    out = rush_or_spread(day.weekday() < 5, day, midnight)
    out += [Access(f"{day}-c{k}", midnight + rng.uniform(9, 18) * H, "gate-1", "in", "face",
                   f"courier-{k}") for k in range(rng.randint(2, 4))]
    if day.weekday() in (1, 3):
        t = midnight + rng.uniform(10, 16) * H
        out += [Access(f"{day}-f{k}", t + k * 20, "gate-1", "in", "face", f"fam-{day}-{k}")
                for k in range(5)]
    return out


def strangers_at(midnight: float, hour: float, n: int, spacing: float, tag: str) -> list[Access]:
    return [Access(f"{tag}{i}", midnight + hour * H + i * spacing, "gate-1", "in", "face",
                   f"{tag}-{i}") for i in range(n)]


def test_a_dispute_on_a_place_s_first_weekend_is_a_crowd() -> None:
    """Sixty strangers at 15:00 on the first Saturday: the weekend's hours are not learned
    yet, so the strangers' count borrows the weekday hour at three times its mean (a gross
    surge still counts); waiting for the weekend's own bins left the place blind. The
    residents' own weekend, unlike their weekdays, raises nothing."""
    rng = random.Random(1)

    def passes(day: date, midnight: float) -> list[Access]:
        dispute = strangers_at(midnight, 15, 60, 10, "x") if day == date(2025, 3, 8) else []
        return quiet_gate_day(day, midnight, rng) + dispute

    official = DayTypes(CalendarConfig())
    assert gate_days(official, date(2025, 3, 3), 7, passes) == [date(2025, 3, 8)]


def test_a_weekly_gathering_alarms_once_then_is_learned() -> None:
    """Thirty regulars the registry does not know, every Sunday at 10:00: the first
    Sunday is a crowd, and that Sunday's windows teach the weekend's bins (clipped at the
    firing limit while the episode is open), so later Sundays are routine. (The windows
    of an open episode were learned empty: it alarmed every Sunday.)"""
    rng = random.Random(2)

    def passes(day: date, midnight: float) -> list[Access]:
        service = strangers_at(midnight, 10, 30, 20, "v") if day.weekday() == 6 else []
        return quiet_gate_day(day, midnight, rng) + service

    official = DayTypes(CalendarConfig())
    assert set(gate_days(official, date(2025, 3, 3), 28, passes)) == {date(2025, 3, 9)}


@pytest.mark.parametrize("seed", range(3))
def test_sixteen_strangers_at_a_quiet_gate_are_a_crowd(seed: int) -> None:
    """At an hour that sees a stranger every few hours, one family of five in a window is
    most of the bin's variance, and the quasi-Poisson floor (variance at least twice the
    mean) grows without bound as the mean falls: the negative binomial became so bursty
    (φ ≈ 12) that sixteen strangers arriving in ten minutes were unremarkable (p ≈ 5e-4).
    Capped at the burstiness a place may learn (φ = 2), they are a crowd."""
    rng = random.Random(10 + seed)

    def passes(day: date, midnight: float) -> list[Access]:
        burst = strangers_at(midnight, 14, 16, 40, "y") if day == date(2025, 3, 19) else []
        return quiet_gate_day(day, midnight, rng) + burst

    official = DayTypes(CalendarConfig())
    assert gate_days(official, date(2025, 3, 3), 21, passes) == [date(2025, 3, 19)]


def _visitors(t0: float, n: int, seed: int = 5) -> list[Access]:
    """``n`` visitors, each through the community gate unrecognised (a QR code, a
    password) and a few minutes later through their building's gate as a face the
    registry does not know: one person, two passes of the grid."""
    rng, out = random.Random(seed), []
    for i in range(n):
        t = t0 + rng.uniform(0, 600)
        out.append(Access(f"v{i}a", t, "gate-1", "in", "qr", None))
        out.append(Access(f"v{i}b", t + rng.uniform(60, 240), "gate-2", "in", "face", f"fv-{i}"))
    return out


def test_visitors_through_two_gates_of_a_grid_are_counted_once() -> None:
    """Eight visitors, sixteen passes: at the grid, strangers arriving are the more of the
    distinct unknown faces and the unrecognised arrivals (a pass without an id cannot be
    told from the face it becomes at the next gate), so eight, not a crowd of sixteen.
    Twenty visitors are a crowd, of at most twenty strangers."""
    t1 = T0 + 3 * DAY + 21 * H  # no couriers at that hour: strangers are never expected
    base = routine(4) + routine(4, seed=3, gate="gate-2")
    got = play(Crowd(CrowdConfig(), registry()), by_time(base + _visitors(t1, 8)), T0 + 4 * DAY)
    assert got == []
    got = play(Crowd(CrowdConfig(), registry()), by_time(base + _visitors(t1, 20)), T0 + 4 * DAY)
    grid = [d for d in got if d.subject_type == "grid" and d.status == "firing"]
    assert grid and max(d.evidence["strangers"] for d in got if d.subject_type == "grid") <= 20
