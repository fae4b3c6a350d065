"""Negative controls: unusual but harmless lives a good detector must leave alone.

=============================  ==================================================
control:night_shift            a key person on a stable night shift from day one
control:late_sleeper           an elderly person living alone who rises at 10–11
control:home_all_day           an elderly person living alone who stays in for two
                               days, using water and moving about as usual
control:traveller              untagged residents away together for 2–5 days
control:vacant_house           their home meanwhile: no water, baseload power
control:festival               a community gate with 80–160 announced visitors
                               spread over 09:00–17:00 (a neighbourhood fair)
control:large_family           a home with 7–9 registered residents
control:unregistered_resident  a home with one unregistered live-in (partner, nanny)
=============================  ==================================================
"""

from __future__ import annotations

from gridwatch.simulate.inject import Injector
from gridwatch.simulate.model import AWAY, IN, OUT
from gridwatch.simulate.routines import STAY_HOME, Override, late_sleeper, night_profile


def profile_controls(inj: Injector) -> None:
    """Controls that change habits: drawn before incidents so plans stay consistent."""
    clock = inj.clock
    p = inj.take(inj.persons(lambda p: "key_person" in p.tags and p.role == "worker")
                 or inj.persons(lambda p: "key_person" in p.tags))
    if p is not None:
        old = inj.w.profiles[p.idx]
        inj.w.profiles[p.idx] = night_profile(inj.rng, {"activity": old.activity,
                                                        "water": old.water, "power": old.power})
        p.role = "night_worker"
        inj.record("control:night_shift", "person", p.person_id, _grid(inj, p.house),
                   clock.start, None, {"tags": p.tags, "routine": "out 19-21 h, back 06-08 h"},
                   control=True)
    p = inj.take(inj.persons(lambda p: "elderly_alone" in p.tags and inj.alone(p)))
    if p is not None:
        inj.w.profiles[p.idx] = late_sleeper(inj.w.profiles[p.idx], inj.rng)
        inj.record("control:late_sleeper", "person", p.person_id, _grid(inj, p.house),
                   clock.start, None, {"wakes": "10-11 h", "sleeps": "00-01 h"}, control=True)


def _grid(inj: Injector, house: int) -> int:
    return inj.city.houses[house].grid


def life_controls(inj: Injector) -> None:
    _travellers(inj)
    _festival(inj)
    for h in inj.city.houses:
        if h.kind == "large":
            inj.record("control:large_family", "house", h.house_id, h.grid, inj.clock.start,
                       None, {"registered": h.registered(inj.city.persons)}, control=True)
    for idx in inj.w.live_ins:
        h = inj.city.houses[idx]
        inj.record("control:unregistered_resident", "house", h.house_id, h.grid,
                   inj.clock.start, None, {"registered": h.registered(inj.city.persons),
                                           "occupants": len(h.members)}, control=True)


def home_all_day(inj: Injector) -> None:
    p = inj.take(inj.persons(lambda p: "elderly_alone" in p.tags and inj.alone(p)))
    if p is None:
        return
    d = (inj.when(margin_h=48) - inj.clock.origin) // 86400
    m0, m1 = d * 1440, (d + 2) * 1440
    inj.sc.overrides[p.idx].append(Override(m0, m1, STAY_HOME))
    inj.record("control:home_all_day", "person", p.person_id, _grid(inj, p.house), inj.at(m0),
               inj.at(m1), {"days": 2, "water": "normal", "motion": "normal"}, control=True)


def _trip(inj: Injector) -> tuple[int, int]:
    """A 2–5-day trip starting any day (travel does not wait for the learning period)."""
    rng, clock = inj.rng, inj.clock
    day = rng.randrange(clock.first_day, max(clock.first_day + 1, clock.n_days - 2))
    m0 = day * 1440 + int(rng.uniform(7.0, 20.0) * 60)
    return m0, m0 + int(rng.uniform(2, 5) * 1440)


def _travellers(inj: Injector) -> None:
    """Whole households away (~2 % a week), and single workers on business trips (~1 %)."""
    weeks = (inj.clock.end - inj.clock.start) / 86400 / 7
    untagged = lambda p: set(inj.city.persons[p].tags) <= {"tenant"}  # noqa: E731
    houses = inj.free_houses(lambda h: all(untagged(p) for p in h.members))
    n = max(2, round(0.02 * len(inj.city.houses) * weeks))
    for h in inj.rng.sample(houses, k=min(n, len(houses))):
        inj.used_houses.add(h.idx)
        m0, m1 = _trip(inj)
        for p in h.members:
            _away(inj, p, m0, m1, len(h.members) == 1)
        inj.record("control:vacant_house", "house", h.house_id, h.grid, inj.at(m0), inj.at(m1),
                   {"reason": "household travelling"}, control=True)
    workers = inj.persons(lambda p: p.role == "worker" and untagged(p.idx)
                          and len(inj.city.houses[p.house].members) > 1)
    for p in inj.rng.sample(workers, k=min(len(workers), max(1, round(0.01 * len(workers))))):
        inj.used_persons.add(p.idx)
        _away(inj, p.idx, *_trip(inj), True)


def _away(inj: Injector, person: int, m0: int, m1: int, alone: bool) -> None:
    inj.sc.overrides[person].append(Override(m0, m1, AWAY))
    p = inj.city.persons[person]
    if p.registered:
        inj.record("control:traveller", "person", p.person_id, inj.city.houses[p.house].grid,
                   inj.at(m0), inj.at(m1), {"days": round((m1 - m0) / 1440, 1), "tags": p.tags,
                                            "alone": alone}, control=True)


def _festival(inj: Injector) -> None:
    city, rng = inj.city, inj.rng
    gates = [g for c in city.communities for g in c.gates]
    if not gates:
        return
    free = [g for g in gates if g not in inj.used_gates]
    gate = rng.choice(free or gates)
    inj.used_gates.add(gate)
    for _ in range(20):  # a fair never meets a crowd at the same gate
        t0 = inj.when((9.0, 9.0), margin_h=9)
        if not any(g == gate and t0 - 7200 < c1 and c0 < t0 + 9 * 3600 + 7200
                   for g, c0, c1 in inj.crowds):
            break
    else:
        return
    n = rng.randint(80, 160)
    for _ in range(n):
        ref = -1 if rng.random() < 0.4 else city.ids.fresh(rng)
        method = rng.choice(("face", "qr")) if ref >= 0 else "other"
        t_in = t0 + rng.randrange(7 * 3600)
        t_out = min(t_in + rng.randint(60, 180) * 60, t0 + 9 * 3600)
        inj.sc.passes += [(t_in, gate, IN, method, ref), (t_out, gate, OUT, method, ref)]
    g = city.gates[gate]
    inj.record("control:festival", "gate", g.gate_id, g.grid, t0, t0 + 8 * 3600,
               {"visitors": n, "announced": True, "hours": "09:00-17:00"}, control=True)
