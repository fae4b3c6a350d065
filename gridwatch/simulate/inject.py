"""Choosing when and to whom incidents happen, and writing down the truth about them.

Incidents fall after a learning period (the first two or three days are
left to normal life, so detectors can learn routines), each on its own
subject: no person, home or device carries two incidents. Counts scale
with ``incident_rate`` and with city size and length; every kind appears at
least once when the rate is positive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gridwatch.simulate.model import AWAY, IN, House, Person
from gridwatch.simulate.rand import py_rng
from gridwatch.simulate.world import Record, World

# incidents per kind in a 2000-person city over 7 days at incident_rate 1
BASE_COUNTS = {"stay_in": 3, "out_no_return": 2, "long_absent": 2, "no_usage": 2,
               "unusual_hours": 1, "crowd": 2, "group_rental": 1, "event_cluster": 3,
               "sensor_threshold": 5, "sensor_anomaly": 4, "device_offline": 4}


def moves(st: np.ndarray, direction: int) -> np.ndarray:
    """Minutes at which a person comes home (IN) or leaves (OUT)."""
    step = np.diff((st != AWAY).astype(np.int8))
    return np.flatnonzero(step == (1 if direction == IN else -1)) + 1


class Injector:
    """Shared bookkeeping of the incident and control drawers."""

    def __init__(self, world: World, rate: float) -> None:
        self.w, self.city, self.clock, self.sc = world, world.city, world.clock, world.scenario
        self.rng = py_rng(world.seed, "incidents")
        days = (self.clock.end - self.clock.start) // 86400
        self.learn_days = min(3, max(1, days // 2))
        self.lo = self.clock.start + self.learn_days * 86400
        self.hi = self.clock.end
        self.rate = rate
        self.scale = len(self.city.persons) / 2000 * days / 7
        self.used_persons: set[int] = set()
        self.used_houses: set[int] = set()
        self.used_devices: set[int] = set()
        self.used_gates: set[int] = set()
        self.crowds: list[tuple[int, int, int]] = []  # gate, start, end
        self.alarm_spans: dict[int, tuple[int, int]] = {}  # threshold incidents: start, end

    # ------------------------------------------------------------ sizes and times
    def count(self, kind: str) -> int:
        if self.rate <= 0:
            return 0
        return max(1, round(self.rate * BASE_COUNTS[kind] * self.scale))

    def minute(self, t: int) -> int:
        return (t - self.clock.origin) // 60

    def at(self, m: int) -> int:
        return self.clock.origin + m * 60

    def when(self, hours: tuple[float, float] = (0, 24), margin_h: float = 0) -> int:
        """A random moment after the learning period, at a given time of day if possible."""
        hi = self.hi - int(margin_h * 3600)
        days = [d for d in range(self.clock.n_days)
                if self.lo <= self.clock.origin + d * 86400 + hours[0] * 3600 < hi]
        if not days:
            return self.rng.randrange(self.lo, max(self.lo + 1, hi))
        d = self.rng.choice(days)
        t = self.clock.origin + d * 86400 + int(self.rng.uniform(*hours) * 3600)
        return min(max(t, self.lo), max(self.lo, hi - 1))

    # ------------------------------------------------------------ subjects
    def alone(self, p: Person) -> bool:
        return len(self.city.houses[p.house].members) == 1

    def persons(self, pred: Callable[[Person], bool]) -> list[Person]:
        return [p for p in self.city.persons if p.registered and p.idx not in self.used_persons
                and p.house not in self.used_houses and pred(p)]

    def take(self, candidates: list[Person]) -> Person | None:
        if not candidates:
            return None
        p = self.rng.choice(candidates)
        self.used_persons.add(p.idx)
        self.used_houses.add(p.house)
        return p

    def try_each(self, candidates: list[Person], attempt: Callable[[Person], bool]) -> bool:
        """Offer the incident to candidates in random order until one's plan fits it."""
        order = list(candidates)
        self.rng.shuffle(order)
        for p in order[:20]:
            if attempt(p):
                self.used_persons.add(p.idx)
                self.used_houses.add(p.house)
                return True
        return False

    def free_houses(self, pred: Callable[[House], bool]) -> list[House]:
        return [h for h in self.city.houses if h.idx not in self.used_houses and pred(h)]

    def states_of(self, p: Person) -> np.ndarray:
        house = self.city.houses[p.house]
        return self.w.base_states(house)[house.members.index(p.idx)]

    # ------------------------------------------------------------ truth
    def record(self, kind: str, subject_type: str, subject_id: str, grid: int, start: int,
               end: int | None, detail: dict[str, Any], control: bool = False) -> None:
        fmt = self.clock.fmt
        rec: Record = {"kind": kind, "subject_type": subject_type, "subject_id": subject_id,
                       "grid_id": self.city.grids[grid].grid_id, "start": fmt(start),
                       "end": fmt(end) if end is not None and end < self.clock.end else None,
                       "detail": detail}
        (self.sc.controls if control else self.sc.truth).append(rec)


def inject(world: World, rate: float) -> None:
    """Lay incidents and negative controls over the world's normal life."""
    from gridwatch.simulate import controls, device_incidents, incidents

    inj = Injector(world, rate)
    controls.profile_controls(inj)
    for kind, fn in incidents.PERSON_AND_PLACE.items():
        for i in range(inj.count(kind)):
            fn(inj, i)
    controls.home_all_day(inj)
    for kind, fn in device_incidents.DEVICE.items():
        for i in range(inj.count(kind)):
            fn(inj, i)
    if rate > 0:
        device_incidents.building_outage(inj)
    controls.life_controls(inj)
    key = lambda r: (r["start"], r["kind"], r["subject_id"])  # noqa: E731
    world.scenario.truth.sort(key=key)
    world.scenario.controls.sort(key=key)
