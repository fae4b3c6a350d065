"""Throughput and state size of the presence detector alone.

    .venv/bin/python bench/bench_presence.py                              # 10 000: ~10 s
    .venv/bin/python bench/bench_presence.py --scale 2000000 --hours 9-13 # 2 M: ~8 min, 7.4 GB

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
checkpoint holds) and resident bytes by tracemalloc on a 10 000-person sample,
and the process's peak RSS (registry included).
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import pickle
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from array import array  # noqa: E402

from config.presence import PresenceConfig  # noqa: E402
from detectors.presence import Presence, _Home, _Person  # noqa: E402
from detectors.routine import SilenceLine  # noqa: E402
from gridwatch.events import Access, Event, Iot  # noqa: E402
from gridwatch.registry import Registry  # noqa: E402

H = 3600.0
DAY = 24 * H
T0 = 20_000 * DAY


def city(n: int) -> Registry:
    """``n`` tracked persons: even ids alone with sensors, odd ids with dementia in a family.

    Two rows of each kind are validated through ``Registry.put``; the rest are
    copies of them with their ids changed (``model_copy``), ~10× faster than
    validating millions of identical rows, which would otherwise dominate a
    2-million-person build.
    """
    reg = Registry()
    for i in (0, 1):
        alone, house = i % 2 == 0, f"h{i}"
        reg.put("houses", {"house_id": house, "grid_id": "g0",
                           "registered_occupants": 1 if alone else 3}, reindex=False)
        reg.put("persons", {"person_id": f"p{i}", "house_id": house,
                            "tags": "elderly_alone" if alone else "dementia"}, reindex=False)
    for dev in ("mo0", "wm0"):
        reg.put("devices", {"device_id": dev, "house_id": "h0", "grid_id": "g0"}, reindex=False)
    proto = [(reg.houses[f"h{k}"], reg.persons[f"p{k}"]) for k in (0, 1)]
    mo, wm = reg.devices["mo0"], reg.devices["wm0"]
    for i in range(2, n):
        house, grid = f"h{i}", f"g{i // 500}"
        h_row, p_row = proto[i % 2]
        reg.houses[house] = h_row.model_copy(update={"house_id": house, "grid_id": grid})
        reg.persons[f"p{i}"] = p_row.model_copy(update={"person_id": f"p{i}",
                                                        "house_id": house})
        if i % 2 == 0:
            for dev, row in ((f"mo{i}", mo), (f"wm{i}", wm)):
                reg.devices[dev] = row.model_copy(update={"device_id": dev, "house_id": house,
                                                          "grid_id": grid})
    reg.put("gates", {"gate_id": "gate", "grid_id": "g0"})
    reg.reindex()
    return reg


def day_of(i: int, day: int, rng: random.Random, silent: bool = False,
           hours: tuple[int, int] = (0, 24)) -> list[Event]:
    """One day of person ``i``: motion and water each hour 7-22 h (those in ``hours``),
    or a walk out and back."""
    base = T0 + day * DAY
    if i % 2 == 0:
        evs: list[Event] = []
        for h in range(max(7, hours[0]), min(22 if not silent else 10, hours[1])):
            t = base + (h + rng.random()) * H
            evs.append(Iot("m", t, f"mo{i}", "motion", 1.0))
            evs.append(Iot("w", t + 60, f"wm{i}", "water", 0.01 + rng.random() / 100))
        return evs
    out = base + rng.uniform(8, 16) * H
    back = [] if silent else [Access("b", out + rng.uniform(0.3, 2) * H, "gate", "in", "face",
                                     f"p{i}")]
    return [Access("a", out, "gate", "out", "face", f"p{i}"), *back]


def _line(line: SilenceLine) -> SilenceLine:
    return SilenceLine(array("f", line.hours), line.day, line.count)


def _clone_person(p: _Person) -> _Person:
    """A fresh person state built as the detector builds one (its constructor)."""
    return dataclasses.replace(p, line=_line(p.line) if p.line is not None else None,
                               ep_evidence=dict(p.ep_evidence))


def _clone_home(h: _Home, pid: str) -> _Home:
    return dataclasses.replace(h, pid=pid, act=_line(h.act), water=_line(h.water),
                               vols=list(h.vols), nu_evidence=dict(h.nu_evidence))


def warm(det: Presence, n: int, days: int = 8) -> None:
    """Learn two persons for ``days`` and clone their state to all ``n``.

    Cloning copies the lines and containers (no state is shared between
    persons), and the heap is rebuilt from every person's and home's own next
    deadline, so the timed day runs on ``n`` independent, warm states.
    """
    rng = random.Random(1)
    for d in range(days):
        for ev in sorted(day_of(0, d, rng) + day_of(1, d, rng), key=lambda e: e.t):
            det.observe(ev)
        det.advance(T0 + (d + 1) * DAY)
    p0, p1, h0 = det.persons["p0"], det.persons["p1"], det.homes["h0"]
    for i in range(2, n):
        pid = f"p{i}"
        det.persons[pid] = _clone_person(p0 if i % 2 == 0 else p1)
        if i % 2 == 0:
            det.homes[f"h{i}"] = _clone_home(h0, pid)
    heap: list[tuple[float, int, str]] = []
    for kind, states, next_due in ((0, det.persons, det._person_next),
                                   (1, det.homes, det._home_next)):
        for key, x in states.items():
            due = next_due(key, x)  # type: ignore[arg-type]
            x.queued = due or 0.0
            if due is not None:
                heap.append((due, kind, key))
    heapq.heapify(heap)
    det.heap = heap


def timed_day(det: Presence, n: int, day: int,
              hours: tuple[int, int] = (0, 24)) -> tuple[int, int, float]:
    """Drive ``hours`` of one day through the detector as the engine does; CPU seconds.

    Events are made and sorted an hour at a time (outside the timed part), so
    memory holds one hour of events, not a day's 32 million at 2 million persons.
    """
    rng = random.Random(2)
    silent = {i for i in range(n) if rng.random() < 0.01}
    walks: dict[int, list[Event]] = {}
    for i in range(1, n, 2):
        for ev in day_of(i, day, rng, i in silent):
            walks.setdefault(int((ev.t - T0) // H) % 24, []).append(ev)
    events = decisions = 0
    secs = 0.0
    mark = T0 + day * DAY + hours[0] * H
    for hour in range(*hours):
        evs = [ev for i in range(0, n, 2)
               for ev in day_of(i, day, rng, i in silent, (hour, hour + 1))]
        evs += walks.pop(hour, [])
        evs.sort(key=lambda e: e.t)
        start = time.process_time()  # CPU time: the bench box is shared, wall time is noisy
        for ev in evs:
            if ev.t - mark >= 1.0:
                mark = ev.t
                decisions += len(det.advance(mark))
            if det.shard_key(ev) is not None:
                decisions += len(det.observe(ev))
        decisions += len(det.advance(T0 + day * DAY + (hour + 1) * H))
        secs += time.process_time() - start
        events += len(evs)
    return events, decisions, secs


def state_bytes(det: Presence, n: int) -> tuple[float, float]:
    """Pickled and resident bytes per tracked person, on a 10 000-person sample.

    Pickled: the sample's persons, homes and heap entries as a checkpoint holds
    them. Resident: tracemalloc of a fresh copy of the sample's state objects.
    """
    sample = min(n, 10_000)
    keys = [f"p{i}" for i in range(sample)]
    houses = [f"h{i}" for i in range(0, sample, 2)]
    mine = set(keys) | set(houses)
    part = {"persons": {k: det.persons[k] for k in keys},
            "homes": {k: det.homes[k] for k in houses},
            "heap": [e for e in det.heap if e[2] in mine]}
    pickled = len(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)) / sample
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    persons = {k: _clone_person(det.persons[k]) for k in keys}
    homes = {k: _clone_home(det.homes[k], det.homes[k].pid) for k in houses}
    resident = (tracemalloc.get_traced_memory()[0] - before) / sample
    tracemalloc.stop()
    del persons, homes
    return pickled, resident


def rss_mb() -> float:
    """Peak resident memory of this process (MB): registry, state, heap and one hour's events."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10_000, help="tracked persons")
    ap.add_argument("--hours", default="0-24", help="hours of the timed day, e.g. 9-13 "
                    "(a 2-million-person day is 32 M events)")
    args = ap.parse_args()
    n, hours = args.scale, tuple(int(x) for x in args.hours.split("-"))
    t = time.perf_counter()
    reg = city(n)
    det = Presence(PresenceConfig(utc_offset_h=0), reg)
    warm(det, n)
    print(f"presence: {n:,} tracked persons ({n // 2:,} homes with sensors), "
          f"built and warmed in {time.perf_counter() - t:.1f} s, peak RSS {rss_mb():,.0f} MB")
    events, decisions, secs = timed_day(det, n, 8, hours)  # type: ignore[arg-type]
    print(f"  {hours[0]:02d}-{hours[1]:02d} h of a day: {events:,} events in {secs:.1f} s CPU "
          f"= {events / secs:,.0f} events/s (shard_key + observe + advance), "
          f"{decisions:,} decisions")
    pickled, resident = state_bytes(det, n)
    print(f"  state per tracked person: {pickled:,.0f} B pickled, {resident:,.0f} B resident "
          f"(10 000-person sample); heap {len(det.heap):,} entries; "
          f"process peak RSS {rss_mb():,.0f} MB = {rss_mb() * 2**20 / n:,.0f} B per person "
          f"with the registry")


if __name__ == "__main__":
    main()
