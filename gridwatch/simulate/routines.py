"""Daily life on a minute grid: when each person sleeps, is at home awake, or is out.

A person's plan is drawn day by day from a role (worker, retiree, student…)
and personal habits (their own wake-up time, how often they go out), with
day-to-day noise, weekends, days spent at home, and weekend family outings.
Everything downstream — gate passes, water, power, motion — is read off
these state arrays, so the signals stay consistent with each other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import numpy as np

from gridwatch.simulate.clock import Clock
from gridwatch.simulate.model import ASLEEP, AWAKE, AWAY, Person

H = 60  # minutes
STAY_HOME = -1  # an override that cancels outings but keeps sleep
Outings = list[tuple[float, float]]


@dataclass(frozen=True)
class Override:
    """Set minutes ``[m0, m1)`` to ``state`` (or, for STAY_HOME, turn AWAY into AWAKE)."""

    m0: int
    m1: int
    state: int


def apply_overrides(st: np.ndarray, overrides: list[Override]) -> None:
    for o in overrides:
        seg = st[max(o.m0, 0): max(o.m1, 0)]
        if o.state == STAY_HOME:
            seg[seg == AWAY] = AWAKE
        else:
            seg[:] = o.state


@dataclass(frozen=True)
class Profile:
    """A person's habits; minutes of the day, ``sleep`` may pass midnight (> 1440)."""

    role: str
    wake: float
    sleep: float
    leave: float = 0.0
    back: float = 0.0
    outings: float = 1.0
    evening_p: float = 0.2
    home_day_p: float = 0.05
    six_day: bool = False
    kinder: bool = True
    short: bool = False
    off_days: tuple[int, ...] = (5, 6)
    activity: float = 0.4
    water: float = 6.0
    power: float = 0.15
    shower_p: float = 0.5
    miss_p: float = 0.0


def profile_for(person: Person, rng: random.Random) -> Profile:
    """Habits for a person's role, with personal variation."""
    u = rng.uniform
    common = dict(activity=u(0.25, 0.6), water=u(4.0, 9.0), power=u(0.08, 0.22),
                  shower_p=u(0.3, 0.8))
    role = person.role
    if role == "worker":
        wake = u(5.8, 7.4) * H
        return Profile(role, wake, u(22.3, 24.2) * H, wake + u(35, 75), u(17.3, 19.8) * H,
                       evening_p=u(0.05, 0.4), home_day_p=u(0.0, 0.06),
                       six_day=rng.random() < 0.15, **common)
    if role == "night_worker":
        return night_profile(rng, common)
    if role in ("retiree", "homebound"):
        alone = "elderly_alone" in person.tags
        return Profile(role, u(5.2, 6.9) * H, u(20.8, 22.6) * H,
                       outings=u(0.5, 1.1) * (0.85 if alone else 1.0),
                       home_day_p=u(0.04, 0.15), short="dementia" in person.tags,
                       **{**common, "water": u(4.0, 7.0), "shower_p": u(0.15, 0.5)})
    if role == "student":
        wake = u(6.0, 6.8) * H
        return Profile(role, wake, u(21.5, 22.8) * H, wake + u(25, 45), u(16.6, 18.2) * H,
                       **common)
    if role == "child":
        return Profile(role, u(6.7, 7.6) * H, u(20.4, 21.6) * H, u(7.6, 8.3) * H,
                       u(16.4, 17.6) * H, kinder=rng.random() < 0.7, miss_p=0.4,
                       **{**common, "water": u(2.0, 4.0)})
    return Profile(role, u(6.3, 7.8) * H, u(22.0, 23.6) * H, outings=u(0.7, 1.2), **common)


def night_profile(rng: random.Random, common: dict | None = None) -> Profile:
    """A stable night shift: out in the evening, home after dawn, asleep until afternoon."""
    u = rng.uniform
    common = common or {}
    off = tuple(sorted(rng.sample(range(7), 2)))
    return Profile("night_worker", u(13.5, 15.5) * H, 0.0, u(19.3, 21.0) * H,
                   u(30.4, 32.0) * H, off_days=off, **common)


def nightlife_profile(base: Profile, rng: random.Random) -> Profile:
    """A daytime person whose life moved into the night (昼伏夜出)."""
    return replace(base, role="nightlife", wake=rng.uniform(12.8, 15.0) * H, sleep=0.0)


def late_sleeper(base: Profile, rng: random.Random) -> Profile:
    return replace(base, wake=rng.uniform(9.8, 10.8) * H, sleep=rng.uniform(24.2, 25.0) * H)


# ------------------------------------------------------------------ one day


def _leisure(rng: random.Random, n: int, lo: float, hi: float, dur: tuple[float, float],
             ) -> Outings:
    out = []
    for _ in range(n):
        a = rng.uniform(lo, hi) * H
        out.append((a, a + rng.uniform(*dur)))
    return out


def _worker_day(p: Profile, rng: random.Random, wd: int) -> tuple[float, float, Outings]:
    workday = wd < 5 or (wd == 5 and p.six_day)
    wake = rng.gauss(p.wake, 15) + (0 if workday else rng.uniform(40, 120))
    sleep = rng.gauss(p.sleep, 25) + (40 if wd in (4, 5) else 0)
    if workday and rng.random() >= p.home_day_p:
        back = rng.gauss(p.back, 30)
        out = [(wake + rng.gauss(p.leave - p.wake, 8), back)]
        if rng.random() < p.evening_p:
            a = back + rng.uniform(45, 150)
            out.append((a, a + rng.uniform(30, 120)))
        return wake, sleep, out
    n = rng.choices((0, 1, 2), (0.25, 0.45, 0.3))[0]
    return wake, sleep, _leisure(rng, n, 9.0, 19.0, (60, 240))


def _retiree_day(p: Profile, rng: random.Random, wd: int) -> tuple[float, float, Outings]:
    wake, sleep = rng.gauss(p.wake, 20), rng.gauss(p.sleep, 20)
    if rng.random() < p.home_day_p:
        return wake, sleep, []
    k = 0.5 if p.short else 1.0
    out = []
    if rng.random() < 0.7 * p.outings:
        a = wake + rng.uniform(30, 120)
        out.append((a, a + rng.uniform(40, 120) * k))
    if rng.random() < 0.5 * p.outings:
        out += _leisure(rng, 1, 14.0, 16.0, (60 * k, 150 * k))
    if rng.random() < 0.35 * p.outings:
        out += _leisure(rng, 1, 18.5, 19.5, (45 * k, 120 * k))
    return wake, sleep, out


def _homebound_day(p: Profile, rng: random.Random, wd: int) -> tuple[float, float, Outings]:
    wake, sleep = rng.gauss(p.wake, 25), rng.gauss(p.sleep, 20)
    n = int(rng.random() < 0.1)
    return wake, sleep, _leisure(rng, n, 10.0, 15.0, (30, 90))


def _homemaker_day(p: Profile, rng: random.Random, wd: int) -> tuple[float, float, Outings]:
    wake, sleep = rng.gauss(p.wake, 20), rng.gauss(p.sleep, 25)
    if rng.random() < p.home_day_p:
        return wake, sleep, []
    out = []
    for prob, lo, hi, dur in ((0.75, 8.0, 10.0, (45, 120)), (0.5, 14.0, 17.0, (30, 120)),
                              (0.25, 19.0, 20.5, (30, 90))):
        if rng.random() < prob * p.outings:
            out += _leisure(rng, 1, lo, hi, dur)
    return wake, sleep, out


def _school_day(p: Profile, rng: random.Random, wd: int) -> tuple[float, float, Outings]:
    late = 0 if wd < 5 else rng.uniform(30, 100)
    wake, sleep = rng.gauss(p.wake, 10) + late, rng.gauss(p.sleep, 15) + (30 if wd >= 4 else 0)
    if wd < 5 and (p.role == "student" or p.kinder) and rng.random() > 0.02:
        return wake, sleep, [(rng.gauss(p.leave, 6), rng.gauss(p.back, 20))]
    n = rng.choices((0, 1, 2), (0.35, 0.45, 0.2))[0]
    return wake, sleep, _leisure(rng, n, 8.5, 18.0, (60, 180))


def _night_day(p: Profile, rng: random.Random, wd: int) -> tuple[float, float, Outings]:
    if wd in p.off_days:
        wake = rng.gauss(p.wake - 60, 30)
        out = _leisure(rng, int(rng.random() < 0.5), 19.0, 22.0, (60, 180))
        return wake, rng.uniform(24.8, 26.5) * H, out
    back = rng.gauss(p.back, 20)
    return rng.gauss(p.wake, 20), back + rng.uniform(30, 90), [(rng.gauss(p.leave, 15), back)]


def _nightlife_day(p: Profile, rng: random.Random, wd: int) -> tuple[float, float, Outings]:
    out = _leisure(rng, int(rng.random() < 0.25), 15.5, 18.0, (30, 75))
    out += _leisure(rng, 1, 21.0, 23.5, (150, 420))
    last = max((b for _, b in out), default=27.0 * H)
    return rng.gauss(p.wake, 30), max(last, 28.0 * H) + rng.uniform(20, 60), out


DAY_FOR = {"worker": _worker_day, "retiree": _retiree_day, "homebound": _homebound_day,
           "homemaker": _homemaker_day, "student": _school_day, "child": _school_day,
           "night_worker": _night_day, "nightlife": _nightlife_day}


# ------------------------------------------------------------------ whole period


def _clean(wake: int, sleep: int, outings: Outings) -> list[tuple[int, int]]:
    """Outings inside the waking day, at least 10 minutes long and apart."""
    out: list[tuple[int, int]] = []
    floor = wake + 10
    for a, b in sorted(outings):
        a, b = max(int(a), floor), min(int(b), sleep - 10)
        if b - a >= 10:
            out.append((a, b))
            floor = b + 10
    return out


def plan_states(p: Profile, rng: random.Random, clock: Clock) -> np.ndarray:
    """One int8 state per minute from origin: ASLEEP, AWAKE (at home) or AWAY."""
    n = clock.minutes
    st = np.full(n, AWAKE, np.int8)
    asleep_from = 0
    day_fn = DAY_FOR[p.role]
    for d in range(clock.n_days):
        base = d * 1440
        wake, sleep, outs = day_fn(p, rng, clock.weekday(d))
        w = max(base + int(wake), asleep_from + 180)
        s = max(base + int(sleep), w + 600)
        st[asleep_from:w] = ASLEEP
        for a, b in _clean(w, s, [(base + a, base + b) for a, b in outs]):
            st[a:b] = AWAY
        asleep_from = s
    st[asleep_from:] = ASLEEP
    return st


def joint_outings(states: list[np.ndarray], rng: random.Random, clock: Clock) -> None:
    """Weekend family outings: everyone at home and awake then leaves together."""
    if len(states) < 2:
        return
    for d in range(clock.n_days):
        if clock.weekday(d) < 5 or rng.random() >= 0.45:
            continue
        a = d * 1440 + int(rng.uniform(10.0, 15.0) * H)
        b = a + int(rng.uniform(120, 300))
        going = [st for st in states if (st[a:b] == AWAKE).all()]
        if len(going) >= 2:
            for st in going:
                st[a:b] = AWAY
