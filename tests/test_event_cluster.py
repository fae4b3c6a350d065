"""``event_cluster`` (事件聚集): ST-DBSCAN online, episodes per grid, equal to scikit-learn."""

from __future__ import annotations

import math
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN

from config.patterns import EventClusterConfig
from detectors.base import Decision
from detectors.cluster import M_PER_DEG_LAT, M_PER_DEG_LON, EventCluster
from gridwatch.events import Event, Iot, Report
from gridwatch.registry import Registry

T0 = 1_800_000_000.0
MIN = 60.0
LATENESS = 300.0
LAT, LON = 46.58, 125.10
COS = math.cos(math.radians(LAT))


def registry() -> Registry:
    reg = Registry()
    for g in ("g1", "g2"):
        reg.put("grids", {"grid_id": g})
    reg.put("houses", {"house_id": "h1", "grid_id": "g1", "lat": LAT + 0.0003, "lon": LON})
    reg.put("devices", {"device_id": "sm-1", "house_id": "h1"})
    reg.put("devices", {"device_id": "gs-1", "house_id": "h1"})
    return reg


def report(i: int, minutes: float, east_m: float = 0.0, north_m: float = 0.0,
           reporter: str | None = None, grid: str = "g1", located: bool = True,
           category: str = "fire_hazard") -> Report:
    lat = LAT + north_m / M_PER_DEG_LAT if located else None
    lon = LON + east_m / (M_PER_DEG_LON * COS) if located else None
    return Report(f"r{i}", T0 + minutes * MIN, grid, category, "citizen", lat, lon,
                  reporter_id=reporter if reporter is not None else f"c{i}")


def play(det: EventCluster, events: list[Event], until: float) -> list[Decision]:
    out: list[Decision] = []
    newest = float("-inf")
    for ev in events:
        out += det.observe(ev)
        newest = max(newest, ev.t)
        out += det.advance(newest - LATENESS)
    return out + det.advance(until)


def brief(ds: list[Decision]) -> list[tuple[str, str, str, int, float, float]]:
    return [(d.subject_id, d.status, d.severity, d.evidence["members"],
             round((d.start - T0) / MIN, 2), round((d.t - T0) / MIN, 2)) for d in ds]


def background(seed: int, hours: float = 24.0, per_hour: float = 1.0) -> list[Report]:
    """Unrelated reports all over a 2 km grid: a busy grid's ordinary day."""
    rng, out, t, i = random.Random(seed), [], 0.0, 1000
    while t < hours * 60:
        t += rng.expovariate(per_hour / 60)
        out.append(report(i, t, rng.uniform(-1000, 1000), rng.uniform(-1000, 1000),
                          category=rng.choice(("parking", "garbage", "noise", "dispute"))))
        i += 1
    return out


# ------------------------------------------------------------ timelines
def test_a_cluster_fires_at_its_fourth_member_grows_and_resolves_when_quiet() -> None:
    """Seven reports from seven people within 40 min and 150 m of a fire."""
    rng = random.Random(1)
    events = [report(i, 5 * i + 2, rng.uniform(-75, 75), rng.uniform(-75, 75)) for i in range(7)]
    got = play(EventCluster(EventClusterConfig(), registry()), events, T0 + 6 * 3600)
    assert brief(got) == [("g1", "firing", "yellow", 4, 2.0, 17.0),
                          ("g1", "firing", "orange", 6, 2.0, 27.0),
                          ("g1", "resolved", "orange", 7, 2.0, 92.0)]
    ev = got[-1].evidence
    assert (ev["sources"], ev["sensor_alarms"], ev["clusters"], ev["categories"]) == (
        7, 0, 1, {"fire_hazard": 7})
    assert ev["last_member_at"] == T0 + 32 * MIN


def test_twelve_members_are_red_and_a_sounding_alarm_is_one_member() -> None:
    events: list[Event] = [report(i, i, 10.0 * i, 0.0) for i in range(12)]
    events += [Iot(f"s{k}", T0 + (3 + k) * MIN, "sm-1", "smoke", 1.0) for k in range(30)]
    events.sort(key=lambda e: e.t)
    got = play(EventCluster(EventClusterConfig(), registry()), events, T0 + 6 * 3600)
    assert [(d.status, d.severity) for d in got] == [("firing", "yellow"), ("firing", "orange"),
                                                     ("firing", "red"), ("resolved", "red")]
    assert got[-1].evidence["members"] == 13 and got[-1].evidence["sensor_alarms"] == 1


def test_two_clusters_in_one_grid_are_one_episode() -> None:
    a = [report(i, 3 * i, 0, 0) for i in range(4)]
    b = [report(10 + i, 20 + 3 * i, 1500, 0) for i in range(4)]
    got = play(EventCluster(EventClusterConfig(), registry()), sorted(a + b, key=lambda e: e.t),
               T0 + 6 * 3600)
    assert [(d.status, d.evidence["clusters"], d.evidence["members"]) for d in got] == [
        ("firing", 1, 4), ("firing", 2, 8), ("resolved", 2, 8)]


def test_reports_without_a_position_cluster_in_time_only() -> None:
    events = [report(i, 5 * i, located=False) for i in range(4)]
    got = play(EventCluster(EventClusterConfig(), registry()), events, T0 + 6 * 3600)
    assert [d.status for d in got] == ["firing", "resolved"]


# ------------------------------------------------------------ negative cases
def test_one_citizen_filing_five_reports_is_not_a_cluster() -> None:
    events = [report(i, 3 * i, 10 * i, 0, reporter="c-same") for i in range(5)]
    assert play(EventCluster(EventClusterConfig(), registry()), events, T0 + 6 * 3600) == []


def test_reports_far_apart_in_space_or_time_are_not_a_cluster() -> None:
    apart = [report(i, 5 * i, 400.0 * i, 0) for i in range(6)]  # 400 m apart
    later = [report(10 + i, 90.0 * i, 0, 0) for i in range(6)]  # 90 min apart
    assert play(EventCluster(EventClusterConfig(), registry()),
                sorted(apart + later, key=lambda e: e.t), T0 + 12 * 3600) == []


@given(st.integers(0, 10_000))
@settings(max_examples=15, deadline=None, derandomize=True)
def test_a_busy_grids_ordinary_day_is_quiet(seed: int) -> None:
    """One report an hour, anywhere in 2 km × 2 km: coincidences stay below min_samples."""
    events = background(seed)
    assert play(EventCluster(EventClusterConfig(), registry()), events, T0 + 30 * 3600) == []


def test_each_grid_is_its_own_subject() -> None:
    det = EventCluster(EventClusterConfig(), registry())
    events = [report(i, 3 * i, grid="g1" if i % 2 else "g2") for i in range(6)]
    assert play(det, events, T0 + 6 * 3600) == []
    assert det.shard_key(events[0]) == "g2"
    assert det.shard_key(Iot("x", T0, "sm-1", "smoke", 0.0)) is None
    assert det.shard_key(Iot("x", T0, "sm-1", "smoke", 1.0)) == "g1"
    assert det.shard_key(Iot("x", T0, "gs-1", "gas", 25.0)) == "g1"


# ------------------------------------------------------------ invariants
@given(st.lists(st.tuples(st.floats(0, 115), st.floats(-400, 400), st.floats(-400, 400),
                          st.integers(0, 5)), min_size=1, max_size=60))
@settings(max_examples=60, deadline=None, derandomize=True)
def test_online_clusters_are_scikit_learns_dbscan(
        points: list[tuple[float, float, float, int]]) -> None:
    """Within 2·eps_minutes nothing expires, so every live point can be compared."""
    cfg = EventClusterConfig()
    events = sorted((report(i, m, x, y, reporter=f"c{r}") for i, (m, x, y, r)
                     in enumerate(points)), key=lambda e: e.t)
    det = EventCluster(cfg, registry())
    play(det, events, events[-1].t)
    live = list(det.grids["g1"].live)
    assert len(live) == len(points)
    xyz = np.array([(p.x, p.y, p.t) for p in live])
    space = np.hypot(xyz[:, None, 0] - xyz[None, :, 0], xyz[:, None, 1] - xyz[None, :, 1])
    near = (space <= cfg.eps_m) & (np.abs(xyz[:, None, 2] - xyz[None, :, 2])
                                   <= cfg.eps_minutes * 60)
    labels = DBSCAN(eps=0.5, min_samples=cfg.min_samples, metric="precomputed").fit(
        np.where(near, 0.0, 1.0)).labels_
    core = {i for i in range(len(live)) if near[i].sum() >= cfg.min_samples}
    assert {i for i, p in enumerate(live) if p.core} == core
    for i in core:
        for j in core:
            assert (live[i].cluster == live[j].cluster) == (labels[i] == labels[j])
    for i, p in enumerate(live):  # border points join a neighbouring core's cluster
        assert (p.cluster >= 0) == (labels[i] >= 0)


@given(st.integers(0, 10_000), st.floats(0.0, LATENESS))
@settings(max_examples=10, deadline=None, derandomize=True)
def test_arrival_order_within_the_lateness_changes_nothing(seed: int, disorder: float) -> None:
    rng = random.Random(seed)
    events: list[Event] = sorted(
        background(seed, 6) + [report(i, 120 + 4 * i, rng.uniform(-80, 80), rng.uniform(-80, 80))
                               for i in range(6)], key=lambda e: e.t)
    want = play(EventCluster(EventClusterConfig(), registry()), events, T0 + 12 * 3600)
    shuffled = sorted(events, key=lambda e: e.t + rng.uniform(0, disorder))
    assert want and play(EventCluster(EventClusterConfig(), registry()), shuffled,
                         T0 + 12 * 3600) == want


def test_state_is_bounded() -> None:
    """Live points cover 2·eps; a flood saturates; alarms sounding long ago are forgotten."""
    cfg = EventClusterConfig(max_points_per_grid=50)
    det = EventCluster(cfg, registry())
    flood = [report(i, i / 10, 0, 0) for i in range(500)]
    play(det, flood, T0 + 60 * MIN)
    assert len(det.grids["g1"].live) <= 50 and det.grids["g1"].dropped > 0
    reg = registry()
    for k in range(300):
        reg.put("devices", {"device_id": f"sm-{k}", "house_id": "h1"})
    det = EventCluster(EventClusterConfig(), reg)
    play(det, [Iot(f"s{k}", T0 + k * 3 * MIN, f"sm-{k}", "smoke", 1.0) for k in range(300)]
         + background(1, 30), T0 + 30 * 3600)
    assert len(det.last_alarm) <= 64
    assert all(p.t >= T0 + 30 * 3600 - 3 * 3600 for g in det.grids.values() for p in g.live)
    assert len(det.deadlines) == 0 and all(g.episode is None for g in det.grids.values())


def test_summaries_count_members_and_sources() -> None:
    from sinks.summary import summarize
    events = [report(i, 5 * i, 10.0 * i, 0) for i in range(4)]
    got = play(EventCluster(EventClusterConfig(), registry()), events, T0 + 6 * 3600)
    assert summarize(got[0], [], "zh-CN") == (
        "网格 g1 60 分钟、250 米内聚集 4 起事件（4 个来源）：fire_hazard")
    assert summarize(got[1], [], "en") == "grid g1: event cluster quiet (4 in all)"
