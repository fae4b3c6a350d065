"""Throughput and state size of the pattern detectors alone.

    .venv/bin/python bench/bench_patterns.py                # 3 000 persons, 9 days: < 1 min
    .venv/bin/python bench/bench_patterns.py --scale full   # 30 000 persons, 14 days: ~10 M events

Runs ``unusual_hours``, ``crowd``, ``group_rental`` and ``event_cluster`` the
way the engine does — ``shard_key`` then ``observe`` for every event,
``advance`` whenever event time has moved a second — each on its own over a
synthetic city: residents passing community gates and (in a third of homes) a
smart-lock door on their daily routines, couriers at the gates, hourly water
and power meters, about one grid report an hour. Every detector learns from
the first event, so the figures include learning (profiles, bins, norms).

Prints events/s (the events the detector takes, and all events offered) and
its state: pickled bytes per subject (what a checkpoint holds) and resident
bytes per subject of the restored state, measured with tracemalloc.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import random
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.models import DetectorSettings  # noqa: E402
from detectors.base import Detector  # noqa: E402
from detectors.cluster import EventCluster  # noqa: E402
from detectors.crowd import Crowd  # noqa: E402
from detectors.night import UnusualHours  # noqa: E402
from detectors.rental import GroupRental  # noqa: E402
from gridwatch.events import Access, Event, Iot, Report  # noqa: E402
from gridwatch.registry import Registry  # noqa: E402

H, DAY = 3600.0, 86400.0
T0 = 20833 * DAY - 8 * H  # a local (UTC+8) midnight
SCALES = {"small": (3_000, 9), "full": (30_000, 14)}
PERSONS_PER_HOUSE, HOUSES_PER_GRID, GATES_PER_GRID = 2.5, 400, 4


@dataclass
class City:
    registry: Registry
    events: list[Event]
    subjects: dict[str, int]


def build(persons: int, days: int, seed: int = 1) -> City:
    rng, reg = random.Random(seed), Registry()
    houses = int(persons / PERSONS_PER_HOUSE)
    grids = max(1, houses // HOUSES_PER_GRID)
    for g in range(grids):
        reg.put("grids", {"grid_id": f"g-{g}"})
        for k in range(GATES_PER_GRID):
            reg.put("gates", {"gate_id": f"gate-{g}-{k}", "grid_id": f"g-{g}"})
    home: list[tuple[str, str, str | None]] = []  # person → (house, grid, door)
    for h in range(houses):
        g = f"g-{h % grids}"
        lat, lon = 46.58 + rng.uniform(0, 0.02), 125.10 + rng.uniform(0, 0.02)
        reg.put("houses", {"house_id": f"h-{h}", "grid_id": g, "lat": lat, "lon": lon,
                           "registered_occupants": 0})
        door = f"door-{h}" if rng.random() < 1 / 3 else None
        if door:
            reg.put("gates", {"gate_id": door, "grid_id": g, "house_id": f"h-{h}"})
        for metric in ("wm", "pm"):
            reg.put("devices", {"device_id": f"{metric}-{h}", "house_id": f"h-{h}"})
        home.append((f"h-{h}", g, door))
    for p in range(persons):
        house, _, _ = home[p % houses]
        tags = "key_person" if rng.random() < 0.02 else ""
        reg.put("persons", {"person_id": f"p-{p}", "house_id": house, "tags": tags})
    for h in range(houses):
        size = len(reg.residents(f"h-{h}"))
        reg.put("houses", {**_house_row(reg, f"h-{h}"), "registered_occupants": size})
    events = _events(rng, reg, home, persons, grids, days)
    subjects = {"unusual_hours": persons, "crowd": grids * (GATES_PER_GRID + 1),
                "group_rental": sum(1 for _, _, d in home if d), "event_cluster": grids}
    return City(reg, events, subjects)


def _house_row(reg: Registry, house_id: str) -> dict[str, object]:
    h = reg.houses[house_id]
    return {"house_id": house_id, "grid_id": h.grid_id, "lat": h.lat, "lon": h.lon}


def _events(rng: random.Random, reg: Registry, home: list[tuple[str, str, str | None]],
            persons: int, grids: int, days: int) -> list[Event]:
    out: list[Event] = []
    n = 0
    for d in range(days):
        day = T0 + d * DAY
        for p in range(persons):
            house, g, door = home[p % len(home)]
            night = p % 30 == 0  # a night-shift worker now and then
            trips = [(rng.gauss(21, 0.3), rng.gauss(30, 0.3))] if night else [
                (rng.gauss(8, 1), rng.gauss(18, 1.5))]
            if not night and rng.random() < 0.1:
                trips.append((rng.uniform(19.5, 21), rng.uniform(21.5, 23.5)))
            gate = f"gate-{g.split('-')[1]}-{p % GATES_PER_GRID}"
            for t_out, t_in in trips:
                for h, direction in ((t_out, "out"), (t_in, "in")):
                    t = day + h * H
                    if door:
                        out.append(Access(f"a{n}", t - 60, door, direction, "face", f"p-{p}"))
                    out.append(Access(f"a{n + 1}", t, gate, direction, "face", f"p-{p}"))
                    n += 2
        for g in range(grids):
            for _ in range(30):  # couriers and visitors
                t = day + rng.uniform(9, 21) * H
                who = None if rng.random() < 0.3 else f"c-{g}-{rng.randrange(12)}"
                out.append(Access(f"a{n}", t, f"gate-{g}-{rng.randrange(4)}", "in", "qr", who))
                n += 1
            for _ in range(24):
                t = day + rng.uniform(0, 24) * H
                out.append(Report(f"r{n}", t, f"g-{g}", "garbage", "citizen",
                                  46.58 + rng.uniform(0, 0.02), 125.10 + rng.uniform(0, 0.02),
                                  reporter_id=f"c{rng.randrange(500)}"))
                n += 1
        for h in range(len(home)):
            for hour in range(24):
                t = day + hour * H + 30
                out.append(Iot(f"w{n}", t, f"wm-{h}", "water", rng.uniform(0, 0.03)))
                out.append(Iot(f"e{n}", t + 5, f"pm-{h}", "power", rng.uniform(0.1, 0.6)))
                n += 2
    out.sort(key=lambda e: e.t)
    return out


def run(det: Detector, events: list[Event]) -> tuple[float, int, int]:
    """Seconds spent, events taken, decisions made: shard_key, observe, advance as live."""
    taken = decisions = 0
    last = float("-inf")
    start = time.perf_counter()
    for ev in events:
        if det.shard_key(ev) is not None:
            taken += 1
            decisions += len(det.observe(ev))
        if ev.t - last >= 1.0:
            last = ev.t
            decisions += len(det.advance(ev.t - 300.0))
    decisions += len(det.advance(last + DAY))
    return time.perf_counter() - start, taken, decisions


def resident_bytes(det: Detector) -> int:
    blob = det.snapshot()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    state = pickle.loads(blob)
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del state
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--persons", type=int, help="override the scale's city size")
    parser.add_argument("--days", type=int, help="override the scale's length")
    args = parser.parse_args()
    persons, days = SCALES[args.scale]
    persons, days = args.persons or persons, args.days or days
    t = time.perf_counter()
    city = build(persons, days)
    print(f"city: {persons} persons, {days} days, {len(city.events):,} events "
          f"(built in {time.perf_counter() - t:.1f} s)")
    settings = DetectorSettings()
    kinds = {"unusual_hours": UnusualHours, "crowd": Crowd, "group_rental": GroupRental,
             "event_cluster": EventCluster}
    print(f"{'detector':<15}{'taken':>11}{'taken/s':>11}{'offered/s':>11}{'decisions':>10}"
          f"{'subjects':>10}{'pickle B/subj':>15}{'resident B/subj':>17}")
    for kind, cls in kinds.items():
        det = cls(getattr(settings, kind), city.registry)
        secs, taken, decisions = run(det, city.events)
        subjects = city.subjects[kind]
        print(f"{kind:<15}{taken:>11,}{taken / secs:>11,.0f}{len(city.events) / secs:>11,.0f}"
              f"{decisions:>10}{subjects:>10,}{len(det.snapshot()) / subjects:>15,.0f}"
              f"{resident_bytes(det) / subjects:>17,.0f}")


if __name__ == "__main__":
    main()
