"""Water, power and motion of one home, read off its residents' minute states.

Water follows who is awake at home with morning and evening peaks (showers,
cooking, laundry as lumps; a night-time toilet trip now and then), near zero
at night and nothing while everyone is out. Power has a baseload (fridge,
standby) under the same occupancy curve, cooking peaks and, in some homes,
an electric heater at night. Motion sensors fire while someone is up and
about. A sick resident (``SICK``) uses no water and moves little; a fallen
one (``SILENT``) neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridwatch.simulate.model import ASLEEP, AWAKE, SICK, House
from gridwatch.simulate.routines import Profile

W_PROFILE = np.array([.2, .2, .2, .2, .2, .6, 1.8, 2.0, 1.4, 1.0, .9, 1.3,
                      1.3, .9, .7, .7, .8, 1.1, 1.5, 1.7, 1.6, 1.5, 1.0, .5])
P_PROFILE = np.array([.4, .4, .4, .4, .4, .4, 1.0, 1.2, .9, .8, .8, .8,
                      .9, .8, .8, .8, .9, 1.3, 1.7, 2.0, 2.0, 1.8, 1.3, .8])
M_PROFILE = np.array([.3, .3, .3, .3, .3, .5, 1.2, 1.3, 1.1, 1.0, 1.0, 1.1,
                      1.0, .8, .8, .9, 1.0, 1.1, 1.2, 1.2, 1.1, 1.0, .8, .5])
SHOWER_HOURS = (6, 7, 8, 19, 20, 21, 22)
FLUSH_L = 6.0


@dataclass
class Activity:
    """Water per minute (litres), power per hour (kWh), and motion-report minutes.

    Water is kept per minute — draws (a flush, a shower, a wash) at their
    minute, the rest only while someone is up — so a meter reading mid-hour
    sees exactly what was used before it, and a still hour stays still.
    """

    water: np.ndarray
    power: np.ndarray
    awake_any: np.ndarray
    motion: np.ndarray


def _hourly(states: list[np.ndarray], state: int) -> np.ndarray:
    return np.array([(st == state).reshape(-1, 60).sum(1) for st in states], dtype=np.float64)


def _random_pick(ok: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a boolean matrix, a random True column (and whether there was one)."""
    return np.argmax(rng.random(ok.shape) * ok, axis=1), ok.any(axis=1)


def _at_awake_minute(up: np.ndarray, hours: np.ndarray, rng: np.random.Generator,
                     ) -> np.ndarray:
    """A random minute, within each given hour, at which ``up`` (per minute) is true."""
    minute, _ = _random_pick(up.reshape(-1, 60)[hours], rng)
    return hours * 60 + minute


def _lumps(up: np.ndarray, awake: np.ndarray, profiles: list[Profile],
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Showers per person and laundry per home, at minutes someone is up at home."""
    days = awake.shape[1] // 24
    day0 = np.arange(days) * 24
    shower_hour = np.isin(np.arange(24), SHOWER_HOURS)
    minutes, litres = [], []
    for i, pr in enumerate(profiles):
        hour, any_ok = _random_pick((awake[i].reshape(days, 24) >= 30) & shower_hour, rng)
        take = any_ok & (rng.random(days) < pr.shower_p)
        minutes.append(_at_awake_minute(up[i], (day0 + hour)[take], rng))
        litres.append(rng.uniform(30, 70, take.sum()))
    daytime = (np.arange(24) >= 8) & (np.arange(24) <= 20)
    hour, any_ok = _random_pick((awake.sum(0).reshape(days, 24) >= 40) & daytime, rng)
    take = any_ok & (rng.random(days) < 0.35)
    minutes.append(_at_awake_minute(up.any(0), (day0 + hour)[take], rng))
    litres.append(rng.uniform(40, 70, take.sum()))
    return np.concatenate(minutes), np.concatenate(litres)


def _night_trips(states: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Minutes of toilet trips: asleep people get up now and then between 0 and 6 h."""
    trips = []
    for st in states:
        days = st.size // 1440
        asleep = st.reshape(days, 1440)[:, :360] == ASLEEP
        k = rng.poisson(0.6, days)
        for j in range(int(k.max(initial=0))):
            minute, any_ok = _random_pick(asleep, rng)
            take = any_ok & (k > j)
            trips.append((np.arange(days) * 1440 + minute)[take])
    return np.sort(np.concatenate(trips)) if trips else np.zeros(0, np.int64)


def _motion(states: list[np.ndarray], awake_any: np.ndarray, activity: float,
            trips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Minutes with a motion report: at most one per 5-minute slot (PIR hold-off)."""
    slots = awake_any.reshape(-1, 5).sum(1) >= 3
    hod = (np.arange(slots.size) * 5 // 60) % 24
    p = np.where(slots, activity * M_PROFILE[hod], 0.0)
    sick = np.zeros(awake_any.size, bool)
    for st in states:
        sick |= st == SICK
    weak = sick.reshape(-1, 5).any(1) & (hod >= 8) & (hod < 20)
    p = np.where(weak, 0.06, p)
    fire = np.flatnonzero(rng.random(slots.size) < p)
    minutes = fire * 5 + rng.integers(0, 5, fire.size)
    minutes = minutes[awake_any[minutes] | sick[minutes]]  # never in a minute nobody is up
    extra = np.concatenate([trips, trips + rng.integers(2, 5, trips.size)])
    return np.sort(np.concatenate([minutes, extra[extra < awake_any.size]]))


def house_activity(house: House, states: list[np.ndarray], profiles: list[Profile],
                   rng: np.random.Generator, sensors: bool) -> Activity:
    n_min = states[0].size
    hours = n_min // 60
    hod = np.arange(hours) % 24
    up = np.stack([st == AWAKE for st in states])
    awake = up.reshape(len(states), hours, 60).sum(2).astype(np.float64)
    asleep_home = _hourly(states, ASLEEP)
    rate_w = np.array([p.water for p in profiles])[:, None]
    rate_p = np.array([p.power for p in profiles])[:, None]
    per_hour = W_PROFILE[hod] * rng.lognormal(0, 0.45, hours) / 60
    water = (up * rate_w).sum(0) * np.repeat(per_hour, 60)
    minutes, litres = _lumps(up, awake, profiles, rng)
    trips = _night_trips(states, rng)
    np.add.at(water, minutes, litres)
    np.add.at(water, trips, FLUSH_L)
    power = house.baseload * rng.uniform(0.7, 1.3, hours)
    power += (awake / 60 * rate_p).sum(0) * P_PROFILE[hod] * rng.lognormal(0, 0.2, hours)
    if house.heater:
        power += (asleep_home.sum(0) > 0) * rng.uniform(0.3, 0.8)
    meal = np.isin(hod, (7, 11, 18)) & (awake.sum(0) >= 30)
    power += meal * (rng.random(hours) < 0.6) * rng.uniform(0.2, 0.9, hours)
    awake_any = np.zeros(n_min, bool)
    for st in states:
        awake_any |= st == AWAKE
    motion = np.zeros(0, np.int64)
    if sensors:
        activity = max(p.activity for p in profiles)
        motion = _motion(states, awake_any, activity, trips, rng)
    return Activity(water, power, awake_any, motion)
