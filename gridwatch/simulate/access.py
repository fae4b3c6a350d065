"""Gate passes from residents' comings and goings, with real-world imperfection.

Leaving home is a pass at the home's smart lock (if it has one), a few
seconds later at the building's unit door (if any) and minutes later at a
community gate; coming home is the reverse. People leaving together open
their own door once. About 2 % of passes are never recorded (tailgating,
much more for small children), about 3 % of face passes are not recognised
(``person_id`` null), car owners pass by plate, and a lock that cannot tell
who opened it from inside records exits without a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridwatch.simulate.clock import Clock
from gridwatch.simulate.model import METHOD, METRIC, OUT, City
from gridwatch.simulate.routines import Profile
from gridwatch.simulate.tables import PassRow, Table

TAILGATE_P = 0.02
FACE_MISS_P = 0.03
COMMUNITY_METHODS = (("face", 0.6), ("card", 0.25), ("qr", 0.1), ("other", 0.05))
BUILDING_METHODS = (("card", 0.7), ("face", 0.3))
LOCK_METHODS = (("password", 0.4), ("other", 0.35), ("face", 0.15), ("card", 0.1))


@dataclass
class Habits:
    """Per-person pass habits as arrays indexed by person."""

    house: np.ndarray
    comm: np.ndarray
    fav: np.ndarray
    comm_method: np.ndarray
    bldg_method: np.ndarray
    lock_method: np.ndarray
    plate: np.ndarray
    miss_p: np.ndarray
    ref: np.ndarray


@dataclass
class Transitions:
    """Minute, person and direction of every move between home and away."""

    minute: np.ndarray
    person: np.ndarray
    direction: np.ndarray


def _pick(rng: np.random.Generator, choices: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    names, weights = zip(*choices, strict=True)
    codes = np.array([METHOD[m] for m in names], np.int8)
    return codes[rng.choice(len(codes), size=n, p=np.array(weights) / sum(weights))]


def habits(city: City, profiles: list[Profile], rng: np.random.Generator) -> Habits:
    n = len(city.persons)
    house = np.array([p.house for p in city.persons], np.int64)
    comm = np.array([city.grids[city.houses[h].grid].community for h in house], np.int64)
    n_gates = np.array([len(city.communities[c].gates) for c in comm])
    plate = np.full(n, -1, np.int32)
    for p, k in city.car.items():
        plate[p] = k
    comm_method = _pick(rng, COMMUNITY_METHODS, n)
    comm_method[plate >= 0] = METHOD["plate"]
    return Habits(house, comm, rng.integers(0, np.maximum(n_gates, 1)), comm_method,
                  _pick(rng, BUILDING_METHODS, n), _pick(rng, LOCK_METHODS, n), plate,
                  np.array([pr.miss_p for pr in profiles]),
                  np.array([p.ref for p in city.persons], np.int64))


def _gate_arrays(city: City) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(c.gates) for c in city.communities)
    gates = np.full((len(city.communities), width), -1, np.int64)
    for c in city.communities:
        gates[c.idx, : len(c.gates)] = c.gates
    return gates, np.array([len(c.gates) for c in city.communities])


def _face_and_conf(method: np.ndarray, person: np.ndarray, rng: np.random.Generator,
                   ) -> np.ndarray:
    """Confidence for face and plate reads; unrecognised faces lose their person."""
    n = method.size
    conf = np.full(n, np.nan)
    face = method == METHOD["face"]
    miss = face & (rng.random(n) < FACE_MISS_P)
    conf[face] = np.round(rng.uniform(0.8, 0.99, face.sum()), 2)
    conf[miss] = np.round(rng.uniform(0.3, 0.6, miss.sum()), 2)
    person[miss] = -1
    plate = method == METHOD["plate"]
    conf[plate] = np.round(rng.uniform(0.9, 0.99, plate.sum()), 2)
    return conf


def resident_passes(tr: Transitions, city: City, hb: Habits, clock: Clock,
                    rng: np.random.Generator, access: Table, iot: Table) -> None:
    house = hb.house[tr.person]
    key = (house * clock.minutes + tr.minute) * 2 + tr.direction
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    door_ts = clock.origin + tr.minute[first] * 60 + rng.integers(0, 60, first.size)
    _door_events(city, house[first], door_ts, rng, access, iot, tr, hb, first)
    t = door_ts[inv]
    out = tr.direction == OUT
    sign = np.where(out, 1, -1)
    bgate = np.array([city.buildings[h.building].gate for h in city.houses])[house]
    has_b = bgate >= 0
    _emit(access, rng, (t + sign * rng.integers(20, 90, t.size))[has_b], bgate[has_b],
          tr.direction[has_b], hb.bldg_method[tr.person][has_b], hb.ref[tr.person][has_b],
          hb.miss_p[tr.person][has_b])
    gates, counts = _gate_arrays(city)
    comm = hb.comm[tr.person]
    idx = np.where(rng.random(t.size) < 0.75, hb.fav[tr.person],
                   rng.integers(0, 1 << 20, t.size) % np.maximum(counts[comm], 1))
    plates = hb.plate[tr.person]
    _emit(access, rng, t + sign * rng.integers(60, 420, t.size), gates[comm, idx], tr.direction,
          hb.comm_method[tr.person], hb.ref[tr.person], hb.miss_p[tr.person], plates)


def _door_events(city: City, house: np.ndarray, ts: np.ndarray, rng: np.random.Generator,
                 access: Table, iot: Table, tr: Transitions, hb: Habits,
                 first: np.ndarray) -> None:
    """The home's own door: one lock record and one door-contact event per opening."""
    lock = np.array([h.lock for h in city.houses])[house]
    ids_exit = np.array([h.lock_ids_exit for h in city.houses])[house]
    person = tr.person[first]
    direction = tr.direction[first]
    method = hb.lock_method[person].copy()
    ref = hb.ref[person].copy()
    blind = (direction == OUT) & ~ids_exit
    method[blind], ref[blind] = METHOD["other"], -1
    has = lock >= 0
    _emit(access, rng, ts[has], lock[has], direction[has], method[has], ref[has],
          np.zeros(has.sum()))
    dev = np.array([h.devices.get("door", -1) for h in city.houses])[house]
    ok = dev >= 0
    iot.add(ts=ts[ok] + rng.integers(1, 6, ok.sum()), device=dev[ok], metric=METRIC["door"],
            value=1.0, battery=np.nan)


def _emit(access: Table, rng: np.random.Generator, ts: np.ndarray, gate: np.ndarray,
          direction: np.ndarray, method: np.ndarray, ref: np.ndarray, miss_p: np.ndarray,
          plate: np.ndarray | None = None) -> None:
    keep = rng.random(ts.size) >= TAILGATE_P + miss_p
    person = ref[keep].astype(np.int64)
    method = method[keep]
    conf = _face_and_conf(method, person, rng)
    plates = np.full(keep.sum(), -1) if plate is None else plate[keep]
    access.add(ts=ts[keep], gate=gate[keep], dir=direction[keep], method=method,
               person=person, conf=conf, plate=plates)


def extra_passes(rows: list[PassRow], rng: np.random.Generator,
                 access: Table) -> None:
    """Visitors, couriers, crowds: (ts, gate, direction, method, person ref or -1)."""
    if not rows:
        return
    ts, gate, direction, method, ref = (np.array(c) for c in zip(*rows, strict=True))
    codes = np.array([METHOD[m] for m in method], np.int8)
    _emit(access, rng, ts, gate, direction, codes, ref, np.zeros(ts.size))

