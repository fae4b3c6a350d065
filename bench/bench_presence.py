"""Throughput and state size of the presence detector alone.

    .venv/bin/python bench/bench_presence.py                 # 10 000 tracked persons, < 1 min
    .venv/bin/python bench/bench_presence.py --scale 2000000 # the issue's 2 million, minutes, GBs

A synthetic city where every person is tracked: half elderly people living
alone in one-person homes with a motion sensor and a water meter (a learned
routine each), half people with dementia in family homes (gate passes only,
a learned outing line each). A learned week would take hours at 2 million
persons, so one home and one person are warmed on eight days of their own
life and cloned: the timed day then runs on warm, full-sized state (lines
learned, deadlines in the heap). The timed day drives the detector as the
engine does — ``shard_key`` then ``observe`` per event, ``advance`` once per
second of event time — with ~1 % of homes falling silent, so episodes open.

Prints events/s and the state per tracked person: pickled bytes (what a
checkpoint holds) and resident bytes by tracemalloc on a 10 000-person sample.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.presence import PresenceConfig  # noqa: E402
from detectors.presence import Presence  # noqa: E402
from gridwatch.events import Access, Event, Iot  # noqa: E402
from gridwatch.registry import Registry  # noqa: E402

H = 3600.0
DAY = 24 * H
T0 = 20_000 * DAY


def city(n: int) -> Registry:
    """``n`` tracked persons: even ids alone with sensors, odd ids with dementia in a family."""
    reg = Registry()
    for i in range(n):
        house, grid = f"h{i}", f"g{i // 500}"
        alone = i % 2 == 0
        reg.put("houses", {"house_id": house, "grid_id": grid,
                           "registered_occupants": 1 if alone else 3}, reindex=False)
        reg.put("persons", {"person_id": f"p{i}", "house_id": house,
                            "tags": "elderly_alone" if alone else "dementia"}, reindex=False)
        if alone:
            for dev in (f"mo{i}", f"wm{i}"):
                reg.put("devices", {"device_id": dev, "house_id": house, "grid_id": grid},
                        reindex=False)
    reg.put("gates", {"gate_id": "gate", "grid_id": "g0"})
    reg.reindex()
    return reg


def day_of(i: int, day: int, rng: random.Random, silent: bool = False) -> list[Event]:
    """One day of person ``i``: hourly motion and water 7-22 h, or a walk out and back."""
    base = T0 + day * DAY
    if i % 2 == 0:
        evs: list[Event] = []
        for h in range(7, 22 if not silent else 10):
            t = base + (h + rng.random()) * H
            evs.append(Iot("m", t, f"mo{i}", "motion", 1.0))
            evs.append(Iot("w", t + 60, f"wm{i}", "water", 0.01 + rng.random() / 100))
        return evs
    out = base + rng.uniform(8, 16) * H
    back = [] if silent else [Access("b", out + rng.uniform(0.3, 2) * H, "gate", "in", "face",
                                     f"p{i}")]
    return [Access("a", out, "gate", "out", "face", f"p{i}"), *back]


def warm(det: Presence, n: int, days: int = 8) -> None:
    """Learn two persons for ``days`` and clone their state to all ``n``."""
    rng = random.Random(1)
    for d in range(days):
        for ev in sorted(day_of(0, d, rng) + day_of(1, d, rng), key=lambda e: e.t):
            det.observe(ev)
        det.advance(T0 + (d + 1) * DAY)
    p0, p1, h0 = det.persons["p0"], det.persons["p1"], det.homes["h0"]
    for i in range(2, n):
        if i % 2 == 0:
            det.persons[f"p{i}"] = copy.deepcopy(p0)
            h = det.homes[f"h{i}"] = copy.deepcopy(h0)
            h.pid = f"p{i}"
        else:
            det.persons[f"p{i}"] = copy.deepcopy(p1)
    det.heap = []
    for pid, p in det.persons.items():
        p.queued = 0.0
        det._schedule(0, pid, 0.0, det._person_next(pid, p))
    for house, h in det.homes.items():
        h.queued = 0.0
        det._schedule(1, house, 0.0, det._home_next(house, h))


def timed_day(det: Presence, n: int, day: int) -> tuple[int, int, float]:
    rng = random.Random(2)
    evs = [ev for i in range(n) for ev in day_of(i, day, rng, silent=rng.random() < 0.01)]
    evs.sort(key=lambda e: e.t)
    decisions, mark = 0, evs[0].t
    start = time.process_time()  # CPU time: the bench box is shared, wall time is noisy
    for ev in evs:
        if ev.t - mark >= 1.0:
            mark = ev.t
            decisions += len(det.advance(mark))
        if det.shard_key(ev) is not None:
            decisions += len(det.observe(ev))
    decisions += len(det.advance(T0 + (day + 1) * DAY))
    return len(evs), decisions, time.process_time() - start


def state_bytes(det: Presence, n: int) -> tuple[float, float]:
    """Pickled and resident bytes per tracked person (tracemalloc on a copy of a sample)."""
    pickled = len(det.snapshot()) / n
    sample = min(n, 10_000)
    keys = [f"p{i}" for i in range(sample)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    persons = {k: copy.deepcopy(det.persons[k]) for k in keys}
    homes = {f"h{i}": copy.deepcopy(det.homes[f"h{i}"]) for i in range(0, sample, 2)}
    resident = (tracemalloc.get_traced_memory()[0] - before) / sample
    tracemalloc.stop()
    del persons, homes
    return pickled, resident


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10_000, help="tracked persons")
    n = ap.parse_args().scale
    t = time.perf_counter()
    reg = city(n)
    det = Presence(PresenceConfig(utc_offset_h=0), reg)
    warm(det, n)
    print(f"presence: {n:,} tracked persons ({n // 2:,} homes with sensors), "
          f"built and warmed in {time.perf_counter() - t:.1f} s")
    events, decisions, secs = timed_day(det, n, 8)
    print(f"  one day: {events:,} events in {secs:.1f} s CPU = {events / secs:,.0f} events/s "
          f"(shard_key + observe + advance), {decisions:,} decisions")
    pickled, resident = state_bytes(det, n)
    print(f"  state per tracked person: {pickled:,.0f} B pickled, {resident:,.0f} B resident "
          f"(tracemalloc, 10 000-person sample); heap {len(det.heap):,} entries")
    print(f"  checkpoint size: {len(det.snapshot()) / 1e6:,.1f} MB"
          if n <= 200_000 else "", end="")
    print()


if __name__ == "__main__":
    main()
