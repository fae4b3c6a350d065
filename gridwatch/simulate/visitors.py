"""People who do not live here: couriers, relatives, grid workers.

Couriers and food-delivery riders (快递/外卖) are the bulk of community-gate
strangers: a pool of riders per community with stable face ids, peaking at
lunch and dinner. Relatives visit (more at weekends, more to the elderly)
when someone is at home to open the door; grid workers call on elderly-alone
residents about weekly. Door contacts see visitors too, and residents open
the door without leaving (rubbish, a neighbour).
"""

from __future__ import annotations

import random

import numpy as np

from gridwatch.simulate.clock import Clock
from gridwatch.simulate.model import IN, OUT, City, House
from gridwatch.simulate.rand import poisson
from gridwatch.simulate.tables import PassRow

PassRows = list[PassRow]


def _visitor_method(rng: random.Random, ref: int) -> tuple[str, int]:
    r = rng.random()
    if r < 0.55:
        return "face", ref
    return ("qr", ref) if r < 0.85 else ("other", -1)


def couriers(city: City, clock: Clock, rng: random.Random) -> PassRows:
    rows: PassRows = []
    for comm in city.communities:
        if not comm.gates:
            continue
        n_houses = sum(len([h for h in city.houses if h.grid == g]) for g in comm.grids)
        pool = [city.ids.fresh(rng) for _ in range(max(3, n_houses // 25))]
        for d in range(clock.n_days):
            weekend = clock.weekday(d) >= 5
            for _ in range(poisson(rng, 0.3 * n_houses * (1.2 if weekend else 1.0))):
                t = clock.origin + d * 86400 + int(_delivery_hour(rng) * 3600)
                gate = rng.choice(comm.gates)
                method, ref = _visitor_method(rng, rng.choice(pool))
                rows.append((t, gate, IN, method, ref))
                back = gate if rng.random() < 0.8 else rng.choice(comm.gates)
                rows.append((t + rng.randint(240, 900), back, OUT, method, ref))
    return rows


def _delivery_hour(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.4:
        return min(22.0, max(8.0, rng.gauss(11.75, 0.7)))
    if r < 0.7:
        return min(22.0, max(8.0, rng.gauss(18.0, 0.75)))
    return rng.uniform(9.0, 21.0)


def house_visits(city: City, house: House, awake_any: np.ndarray, clock: Clock,
                 rng: random.Random) -> tuple[PassRows, list[int]]:
    """Relatives and grid-worker visits (gate passes) and door openings (epoch seconds)."""
    rows: PassRows = []
    doors: list[int] = []
    comm = city.community_of_house(house.idx)
    tags = {t for p in house.members for t in city.persons[p].tags}
    elderly = "elderly" in tags or "elderly_alone" in tags
    relatives: list[int] = []
    has_door = "door" in house.devices
    for d in range(clock.n_days):
        weekend = clock.weekday(d) >= 5
        p = (0.15 if elderly else 0.07) * (2.0 if weekend else 1.0)
        if comm.gates and rng.random() < p:
            if not relatives:
                relatives = [city.ids.fresh(rng) for _ in range(rng.randint(1, 3))]
            who = rng.sample(relatives, k=rng.randint(1, len(relatives)))
            _visit(rows, doors, comm.gates, who, d, (9.5, 19.0), (60, 240), awake_any, clock, rng)
        if "elderly_alone" in tags and comm.gates and clock.weekday(d) < 5 and rng.random() < 0.1:
            worker = city.ids.add(city.grids[house.grid].worker_id)
            _visit(rows, doors, comm.gates, [worker], d, (9.0, 16.0), (15, 40), awake_any, clock,
                   rng)
        if has_door:
            for _ in range(poisson(rng, 0.5)):
                m = d * 1440 + rng.randrange(7 * 60, 21 * 60)
                if awake_any[m]:
                    doors.append(clock.origin + m * 60 + rng.randrange(60))
    return rows, (doors if has_door else [])


def _visit(rows: PassRows, doors: list[int], gates: list[int], who: list[int], day: int,
           hours: tuple[float, float], minutes: tuple[int, int], awake_any: np.ndarray,
           clock: Clock, rng: random.Random) -> None:
    m0 = day * 1440 + int(rng.uniform(*hours) * 60)
    m1 = m0 + rng.randint(*minutes)
    if m1 >= awake_any.size or not (awake_any[m0] and awake_any[m1]):
        return  # nobody home to open the door
    t0, t1 = clock.origin + m0 * 60, clock.origin + m1 * 60
    gate = rng.choice(gates)
    for ref in who:
        method, r = _visitor_method(rng, ref)
        rows.append((t0 - rng.randint(120, 400), gate, IN, method, r))
        rows.append((t1 + rng.randint(120, 400), gate, OUT, method, r))
    doors += [t0 + rng.randint(0, 60), t1 + rng.randint(0, 60)]
