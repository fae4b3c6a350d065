"""Incidents about people and places, each written so its signals tell one story.

=============  ==============================================================
stay_in        an elderly person living alone comes home and falls: from the
               fall on, no pass, no water, no motion, no door (power keeps
               its baseload); 20–48 h later a grid worker finds them (worker
               passes, door opens, activity resumes; no outing for 12 h).
out_no_return  a person with dementia walks out in the daytime and is not
               back for 8–30 h (other household members carry on).
long_absent    a key person (else an elderly person) living alone leaves
               through the gates and is gone 3–6 days, the home silent.
no_usage       an elderly-alone resident is sick in bed for 26–40 h: no
               water, no pass, no door; motion continues weakly (a report in
               ~6 % of 5-minute slots, 08–20 h).
unusual_hours  a key person's life moves into the night for 7–10 days: up
               in the afternoon, out from 21–23 h until the small hours.
crowd          40–120 strangers enter by one community gate within 15–40
               minutes, stay 1–3 h, then leave.
group_rental   7–12 unregistered people move into a small flat with a smart
               lock over 1–2 days and live there: many ids on its door,
               water and power several times the registered household's.
event_cluster  4–8 reports of one happening within 20–90 min and 60–200 m.
=============  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gridwatch.simulate.inject import Injector, moves
from gridwatch.simulate.model import ASLEEP, AWAKE, AWAY, IN, OUT, SICK, SILENT, House, Person
from gridwatch.simulate.rand import py_rng
from gridwatch.simulate.reports import cluster
from gridwatch.simulate.routines import STAY_HOME, Override, nightlife_profile, profile_for


def _elderly_alone(inj: Injector) -> Callable[[Person], bool]:
    return lambda p: "elderly_alone" in p.tags and inj.alone(p)


def _awake_run(st: np.ndarray, m: int) -> int:
    """Minutes the person stays awake at home from ``m``."""
    other = np.flatnonzero(st[m:] != AWAKE)
    return int(other[0]) if other.size else st.size - m


def _rescue(inj: Injector, house: House, t: int) -> str:
    """A grid worker calls, lets themselves in and later leaves."""
    rng, city = inj.rng, inj.city
    worker = city.grids[house.grid].worker_id
    gates = city.community_of_house(house.idx).gates
    if not gates:
        return worker
    ref, gate, t2 = city.ids.add(worker), rng.choice(gates), t + rng.randint(30, 60) * 60
    inj.sc.passes += [(t - rng.randint(120, 400), gate, IN, "face", ref),
                      (t2 + rng.randint(120, 400), gate, OUT, "face", ref)]
    if house.lock >= 0:
        inj.sc.passes += [(t, house.lock, IN, "password", -1), (t2, house.lock, OUT, "other", -1)]
    if "door" in house.devices:
        inj.sc.doors[house.devices["door"]] += [t + 3, t2 + 3]
    return worker


def stay_in(inj: Injector, _: int) -> None:
    inj.try_each(inj.persons(_elderly_alone(inj)), lambda p: _fall(inj, p))


def _fall(inj: Injector, p: Person) -> bool:
    st = inj.states_of(p)
    ins = moves(st, IN)
    ins = ins[(ins >= inj.minute(inj.lo)) & (ins < inj.minute(inj.hi) - 360)]
    if not ins.size:
        return False
    m_in = int(inj.rng.choice(ins.tolist()))
    fall = m_in + inj.rng.randint(3, max(3, min(120, _awake_run(st, m_in) - 1)))
    end = fall + inj.rng.randint(20 * 60, 48 * 60)
    inj.sc.overrides[p.idx] += [Override(fall, end, SILENT), Override(end, end + 720, STAY_HOME)]
    house = inj.city.houses[p.house]
    found = inj.at(end) < inj.clock.end
    by = _rescue(inj, house, inj.at(end)) if found else None
    inj.record("stay_in", "person", p.person_id, house.grid, inj.at(fall) + inj.rng.randrange(60),
               inj.at(end) if found else None,
               {"scenario": "fall at home", "last_in": inj.clock.fmt(inj.at(m_in)),
                "silent_hours": round((end - fall) / 60, 1), "found_by": by,
                "silent": ["passes", "water", "motion", "door"]})
    return True


def out_no_return(inj: Injector, _: int) -> None:
    inj.try_each(inj.persons(lambda p: "dementia" in p.tags), lambda p: _wander(inj, p))


def _wander(inj: Injector, p: Person) -> bool:
    st = inj.states_of(p)
    lo, hi = inj.minute(inj.lo), inj.minute(inj.hi) - 240
    day_min = np.arange(st.size) % 1440
    home30 = np.convolve(st == AWAKE, np.ones(30), "full")[: st.size] >= 30
    ok = np.flatnonzero(home30 & (day_min >= 480) & (day_min < 1020))
    ok = ok[(ok >= lo) & (ok < hi)]
    if not ok.size:
        return False
    m = int(inj.rng.choice(ok.tolist()))
    end = m + inj.rng.randint(8 * 60, 30 * 60)
    inj.sc.overrides[p.idx].append(Override(m, end, AWAY))
    inj.record("out_no_return", "person", p.person_id, inj.city.houses[p.house].grid, inj.at(m),
               inj.at(end), {"scenario": "wandered off", "hours": round((end - m) / 60, 1)})
    return True


def long_absent(inj: Injector, _: int) -> None:
    if not inj.try_each(inj.persons(lambda p: "key_person" in p.tags and inj.alone(p)),
                        lambda p: _vanish(inj, p)):
        inj.try_each(inj.persons(_elderly_alone(inj)), lambda p: _vanish(inj, p))


def _vanish(inj: Injector, p: Person) -> bool:
    outs = moves(inj.states_of(p), OUT)
    lo = inj.minute(inj.lo)
    for hi in (inj.minute(inj.hi) - 2 * 1440, inj.minute(inj.hi) - 720):
        cand = outs[(outs >= lo) & (outs < hi)]
        if cand.size:
            break
    else:
        return False
    m = int(inj.rng.choice(cand.tolist()))
    end = m + int(inj.rng.uniform(3, 6) * 1440)
    inj.sc.overrides[p.idx].append(Override(m, end, AWAY))
    inj.record("long_absent", "person", p.person_id, inj.city.houses[p.house].grid, inj.at(m),
               inj.at(end), {"scenario": "left and vanished", "last_pass": "out",
                             "days": round((end - m) / 1440, 1), "tags": p.tags,
                             "also": ["out_no_return"]})
    return True


def no_usage(inj: Injector, _: int) -> None:
    inj.try_each(inj.persons(_elderly_alone(inj)), lambda p: _sick(inj, p))


def _sick(inj: Injector, p: Person) -> bool:
    st = inj.states_of(p)
    wakes = np.flatnonzero((st[:-1] == ASLEEP) & (st[1:] == AWAKE)) + 1
    day_min = wakes % 1440
    wakes = wakes[(wakes >= inj.minute(inj.lo)) & (wakes < inj.minute(inj.hi) - 600)
                  & (day_min >= 240) & (day_min < 720)]
    if not wakes.size:
        return False
    wake = int(inj.rng.choice(wakes.tolist()))
    m = wake + inj.rng.randint(0, max(0, min(60, _awake_run(st, wake) - 1)))  # still at home
    end = m + inj.rng.randint(26 * 60, 40 * 60)
    inj.sc.overrides[p.idx].append(Override(m, end, SICK))
    house = inj.city.houses[p.house]
    inj.record("no_usage", "house", house.house_id, house.grid, inj.at(m), inj.at(end),
               {"scenario": "sick in bed", "person_id": p.person_id,
                "hours": round((end - m) / 60, 1), "water": "none", "passes": "none",
                "door": "none", "motion": "weak: ~6 % of 5-minute slots, 08-20 h",
                "also": ["stay_in"] if end - m > 1440 else []})
    return True


def unusual_hours(inj: Injector, _: int) -> None:
    p = inj.take(inj.persons(lambda p: "key_person" in p.tags and p.role != "night_worker"))
    if p is None:
        return
    days = (inj.hi - inj.lo) // 86400
    d0 = (inj.lo - inj.clock.origin) // 86400 + inj.rng.randint(0, max(0, days - 8))
    m0 = d0 * 1440 + 20 * 60
    m1 = m0 + inj.rng.randint(7, 10) * 1440
    inj.sc.splices[p.idx] = (m0, m1, nightlife_profile(inj.w.profiles[p.idx], inj.rng))
    inj.record("unusual_hours", "person", p.person_id, inj.city.houses[p.house].grid, inj.at(m0),
               inj.at(m1), {"scenario": "activity moved to night hours (20:00-08:00)",
                            "days": (m1 - m0) // 1440, "out_from": "21:00-23:30",
                            "out_hours": "2.5-7"})


def crowd(inj: Injector, _: int) -> None:
    gates = [g for c in inj.city.communities for g in c.gates if g not in inj.used_gates]
    if not gates:
        return
    rng = inj.rng
    gate = rng.choice(gates)
    inj.used_gates.add(gate)
    t0 = inj.when((9.0, 20.0), margin_h=5)
    n, arrive, stay = rng.randint(40, 120), rng.randint(15, 40) * 60, rng.randint(60, 180) * 60
    last = t0
    for k in range(n):
        ref = -1 if rng.random() < 0.55 else inj.city.ids.fresh(rng)
        method = rng.choice(("face", "qr")) if ref >= 0 else rng.choice(("other", "other", "face"))
        t_in = t0 + (0 if k == 0 else rng.randrange(arrive))
        t_out = t_in + stay + rng.randrange(-900, 1800)
        inj.sc.passes += [(t_in, gate, IN, method, ref), (t_out, gate, OUT, method, ref)]
        last = max(last, t_out)
    inj.crowds.append((gate, t0, last))
    g = inj.city.gates[gate]
    inj.record("crowd", "gate", g.gate_id, g.grid, t0, last,
               {"scenario": "sudden gathering", "people": n, "strangers": n,
                "arrive_minutes": arrive // 60, "stay_minutes": stay // 60})


def group_rental(inj: Injector, _: int) -> None:
    houses = inj.free_houses(lambda h: h.lock >= 0 and h.kind in ("single", "shared", "couple")
                             and len(h.members) == h.registered(inj.city.persons))
    if not houses:
        return
    house = inj.rng.choice(houses)
    inj.used_houses.add(house.idx)
    m0 = inj.minute(inj.when((10.0, 20.0), margin_h=24))
    n = inj.rng.randint(7, 12)
    ids = [_lodger(inj, house, m0 if k == 0 else m0 + inj.rng.randint(0, 36 * 60))
           for k in range(n)]
    reg = house.registered(inj.city.persons)
    inj.record("group_rental", "house", house.house_id, house.grid, inj.at(m0), None,
               {"scenario": "flat sublet to many", "registered": reg, "occupants": reg + n,
                "new_ids": ids})


def _lodger(inj: Injector, house: House, move_in: int) -> str:
    city = inj.city
    idx = len(city.persons)
    role = inj.rng.choices(("worker", "night_worker", "homemaker"), (0.7, 0.2, 0.1))[0]
    person = Person(idx, "", house.idx, "adult", role, registered=False, move_in=move_in)
    person.ref = city.ids.fresh(inj.rng)
    person.person_id = city.ids.names[person.ref]
    inj.w.add_person(person, profile_for(person, py_rng(inj.w.seed, "profile", idx)))
    return person.person_id


def event_cluster(inj: Injector, _: int) -> None:
    grid = inj.rng.choice(inj.city.grids)
    reports, detail = cluster(grid, inj.when((8.0, 21.0), margin_h=2), inj.rng)
    inj.sc.reports += reports
    inj.record("event_cluster", "grid", grid.grid_id, grid.idx, reports[0][0], reports[-1][0],
               detail)


PERSON_AND_PLACE: dict[str, Callable[[Injector, int], None]] = {
    "stay_in": stay_in, "out_no_return": out_no_return, "unusual_hours": unusual_hours,
    "long_absent": long_absent, "no_usage": no_usage, "crowd": crowd,
    "group_rental": group_rental, "event_cluster": event_cluster,
}
