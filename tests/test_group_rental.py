"""``group_rental`` (群租): regular users of a home's door against its registered occupants."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from config.patterns import GroupRentalConfig
from detectors.base import Decision
from detectors.rental import GroupRental
from gridwatch.events import Access, Iot
from gridwatch.registry import Registry

H, DAY = 3600.0, 86400.0
T0 = 1_800_000_000 - 1_800_000_000 % 86400 - 8 * 3600 + 4 * 3600  # 04:00 local: a day begins
LATENESS = 300.0
SIZES = {"h1": 2, "h2": 8, "h3": 2, "h4": 2, "h5": 2, "h6": 3}


def registry() -> Registry:
    reg = Registry()
    reg.put("grids", {"grid_id": "g1"})
    for h, n in SIZES.items():
        reg.put("houses", {"house_id": h, "grid_id": "g1", "registered_occupants": n})
        reg.put("gates", {"gate_id": "door-" + h, "grid_id": "g1", "house_id": h})
        reg.put("devices", {"device_id": "wm-" + h, "house_id": h})
        for i in range(n):
            reg.put("persons", {"person_id": f"{h}-p{i}", "house_id": h})
    reg.put("persons", {"person_id": "elsewhere-1", "house_id": "h6"})
    return reg


def life(days: int, extra: dict[str, dict[int, list[str]]] | None = None, seed: int = 1,
         water: dict[str, float] | None = None) -> list[Access | Iot]:
    """Every registered occupant passes their door twice most days (85 %); ``extra[h][d]``
    are more ids at house h on day d; hourly water meters at 0.05 m³/person/day × ``water``."""
    rng, out = random.Random(seed), []
    extra = extra or {}
    for d in range(days):
        for h, n in SIZES.items():
            users = [f"{h}-p{i}" for i in range(n) if rng.random() < 0.85]
            users += extra.get(h, {}).get(d, [])
            for j, who in enumerate(users):
                for k, hour in enumerate((4 + rng.uniform(3, 5), 4 + rng.uniform(13, 16))):
                    t = T0 + d * DAY + hour * H
                    out.append(Access(f"{h}-{d}-{j}-{k}", t, "door-" + h,
                                      "out" if k == 0 else "in", "face", who))
            per_hour = 0.05 * n * (water or {}).get(h, 1.0) / 24
            for hour in range(24):
                t = T0 + d * DAY + hour * H + 30
                out.append(Iot(f"w-{h}-{d}-{hour}", t, "wm-" + h, "water",
                               per_hour * rng.uniform(0.8, 1.2)))
    return sorted(out, key=lambda e: e.t)


def lodgers(house: str, n: int, first: int, last: int, every: int = 1) -> dict[str, dict[
        int, list[str]]]:
    return {house: {d: [f"anon-{house}-{i}" for i in range(n)]
                    for d in range(first, last + 1, every)}}


def play(det: GroupRental, events: list[Access | Iot], until: float) -> list[Decision]:
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


# ------------------------------------------------------------ timelines
def test_six_lodgers_fire_on_their_third_day_and_resolve_after_they_leave() -> None:
    """Lodgers use h1's door on days 5–19; by day 27 at most one is still a regular."""
    events = life(34, lodgers("h1", 6, 5, 19))
    got = play(GroupRental(GroupRentalConfig(), registry()), events, T0 + 34 * DAY)
    # start: the lodgers' first day; t: the end of their third day (min_days_seen = 3)
    assert brief(got) == [("h1", "firing", "yellow", 5.0, 8.0),
                          ("h1", "resolved", "yellow", 5.0, 33.0)]
    ev = got[0].evidence
    assert (ev["registered_occupants"], ev["extra_regular_users"], ev["unregistered_ids"],
            ev["use_corroborates"]) == (2, 6, 6, False)
    assert ev["ids"] == [f"anon-h1-{i}" for i in range(6)]


def test_water_far_above_similar_households_corroborates() -> None:
    """Water at 5× the norm for two-person homes: two days make a regular, and it is orange."""
    events = life(20, lodgers("h1", 6, 10, 19), water={"h1": 1.0}, seed=2)
    boosted = [Iot(e.event_id, e.t, e.device_id, e.metric, e.value * 5)
               if isinstance(e, Iot) and e.device_id == "wm-h1" and e.t >= T0 + 10 * DAY else e
               for e in events]
    got = play(GroupRental(GroupRentalConfig(), registry()), boosted, T0 + 20 * DAY)
    assert brief(got)[:1] == [("h1", "firing", "orange", 10.0, 12.0)]
    ev = got[0].evidence
    assert ev["use_corroborates"] and ev["days_seen_to_count"] == 2
    assert ev["water_vs_similar_households"] >= GroupRentalConfig().usage_factor


def test_registered_elsewhere_counts_as_not_registered_here() -> None:
    extra = {"h3": {d: ["elsewhere-1", "h2-p0", "h2-p1", "anon-x"] for d in range(3, 10)}}
    got = play(GroupRental(GroupRentalConfig(), registry()), life(10, extra), T0 + 10 * DAY)
    assert brief(got) == [("h3", "firing", "yellow", 3.0, 6.0)]
    assert (got[0].evidence["regular_users_not_registered_here"],
            got[0].evidence["unregistered_ids"]) == (4, 1)


# ------------------------------------------------------------ negative cases
def test_a_large_registered_family_is_not_a_group_rental() -> None:
    """h2: eight registered occupants, all at the door daily, relatives every weekend."""
    relatives = {"h2": {d: [f"rel-{i}" for i in range(4)] for d in range(0, 28, 7)}}
    assert play(GroupRental(GroupRentalConfig(), registry()), life(28, relatives),
                T0 + 28 * DAY) == []


def test_a_live_in_nanny_and_grandparents_visiting_weekly_are_below_the_bar() -> None:
    extra = {"h4": {d: ["nanny"] + (["gran", "grandad"] if d % 7 == 6 else []) for d in range(21)}}
    assert play(GroupRental(GroupRentalConfig(), registry()), life(21, extra),
                T0 + 21 * DAY) == []


def test_a_party_of_thirty_guests_once_is_not_a_group_rental() -> None:
    extra = {"h5": {9: [f"guest-{i}" for i in range(30)]}}
    assert play(GroupRental(GroupRentalConfig(), registry()), life(21, extra),
                T0 + 21 * DAY) == []


def test_couriers_on_many_doors_twice_each_are_visitors() -> None:
    extra = {h: {d: ["courier-1", "courier-2", "courier-3"] for d in (4, 11)} for h in SIZES}
    assert play(GroupRental(GroupRentalConfig(), registry()), life(21, extra),
                T0 + 21 * DAY) == []


# ------------------------------------------------------------ invariants
@given(st.dictionaries(st.integers(0, 9), st.lists(st.integers(0, 27), max_size=12),
                       max_size=10))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_regular_users_are_the_ids_seen_on_enough_days_of_the_window(
        days_by_id: dict[int, list[int]]) -> None:
    cfg = GroupRentalConfig()
    events = sorted((Access(f"{i}-{d}", T0 + d * DAY + 10 * H, "door-h6", "in", "face", f"x{i}")
                     for i, days in days_by_id.items() for d in set(days)), key=lambda e: e.t)
    det = GroupRental(cfg, registry())
    play(det, events, T0 + 28 * DAY)
    h, last = det.houses.get("h6"), 27
    want = sum(1 for days in days_by_id.values()
               if len({d for d in days if last - cfg.window_days < d <= last})
               >= cfg.min_days_seen)
    got = det._find("h6", h, det._day(T0) + last, 3, cfg.min_days_seen).regulars if h else 0
    assert got == want


@given(st.integers(0, 10_000), st.floats(0.0, LATENESS))
@settings(max_examples=6, deadline=None, derandomize=True)
def test_arrival_order_within_the_lateness_changes_nothing(seed: int, disorder: float) -> None:
    events = life(14, lodgers("h1", 6, 5, 13))
    rng = random.Random(seed)
    shuffled = sorted(events, key=lambda e: e.t + rng.uniform(0, disorder))
    want = play(GroupRental(GroupRentalConfig(), registry()), events, T0 + 14 * DAY)
    assert want and play(GroupRental(GroupRentalConfig(), registry()), shuffled,
                         T0 + 14 * DAY) == want


def test_snapshot_and_restore_mid_stream_give_the_same_alerts() -> None:
    events = life(14, lodgers("h1", 6, 5, 13))
    want = play(GroupRental(GroupRentalConfig(), registry()), events, T0 + 14 * DAY)
    det = GroupRental(GroupRentalConfig(), registry())
    half = len(events) // 2
    got = play(det, events[:half], events[half - 1].t - LATENESS)
    fresh = GroupRental(GroupRentalConfig(), registry())
    fresh.restore(det.snapshot())
    assert got + play(fresh, events[half:], T0 + 14 * DAY) == want


def test_ids_per_house_are_bounded_and_state_does_not_grow() -> None:
    cfg = GroupRentalConfig(max_ids=16)
    crowd = {"h5": {d: [f"v-{d}-{i}" for i in range(40)] for d in range(10)}}
    det = GroupRental(cfg, registry())
    play(det, life(10, crowd), T0 + 10 * DAY)
    assert len(det.houses["h5"].ids) <= 16
    size = len(det.snapshot())
    play(det, [e for e in life(40) if e.t >= T0 + 10 * DAY], T0 + 40 * DAY)
    assert len(det.snapshot()) <= size * 1.1
    for h in det.houses.values():
        assert len(h.passes) <= cfg.window_days and not h.usage


def test_summaries_compare_regular_users_with_registered_occupants() -> None:
    from sinks.summary import summarize
    got = play(GroupRental(GroupRentalConfig(), registry()), life(34, lodgers("h1", 6, 5, 19)),
               T0 + 34 * DAY)
    assert summarize(got[0], [], "zh-CN") == (
        "房屋 h1 疑似群租：登记 2 人，近 14 天门锁常用 8 人（非本户登记 6 人）")
    assert summarize(got[0], [], "en").startswith("house h1: 8 regular door users in 14 days")


def test_a_corroborated_summary_gives_the_use_ratio() -> None:
    from sinks.summary import summarize
    events = life(20, lodgers("h1", 6, 10, 19), seed=2)
    boosted = [Iot(e.event_id, e.t, e.device_id, e.metric, e.value * 5)
               if isinstance(e, Iot) and e.device_id == "wm-h1" and e.t >= T0 + 10 * DAY else e
               for e in events]
    got = play(GroupRental(GroupRentalConfig(), registry()), boosted, T0 + 20 * DAY)
    assert "用水为同类住户" in summarize(got[0], [], "zh-CN")
    assert "water " in summarize(got[0], [], "en")
