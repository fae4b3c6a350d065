"""From plans to events: one household at a time, then the city-wide sources.

The result is three columnar tables (access, iot, reports) covering the
emitted period; :mod:`gridwatch.simulate.emit` turns them into contract
messages in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gridwatch.simulate import access, sensors, visitors
from gridwatch.simulate.access import Transitions
from gridwatch.simulate.model import AWAY, House
from gridwatch.simulate.rand import np_rng, py_rng
from gridwatch.simulate.reports import background
from gridwatch.simulate.tables import PassRow, Table, access_table, iot_table
from gridwatch.simulate.usage import Activity, house_activity
from gridwatch.simulate.world import World


@dataclass
class Feed:
    access: dict[str, np.ndarray]
    iot: dict[str, np.ndarray]
    reports: list[tuple[int, dict[str, Any]]]


def _add_rate(series: np.ndarray, step_s: int, spans: list[tuple[int, int, float]],
              origin: int) -> None:
    """Add a constant rate per hour over ``[t0, t1)`` to a per-step series, pro rata."""
    edges = np.arange(series.size, dtype=np.float64)
    for t0, t1, rate in spans:
        a, b = (t0 - origin) / step_s, (t1 - origin) / step_s
        overlap = np.clip(np.minimum(edges + 1, b) - np.maximum(edges, a), 0, 1)
        series += rate * step_s / 3600 * overlap


def _moves(person: int, st: np.ndarray, parts: list[tuple[np.ndarray, ...]]) -> None:
    step = np.diff((st != AWAY).astype(np.int8))
    m = np.flatnonzero(step != 0) + 1
    parts.append((m, np.full(m.size, person, np.int64), (step[m - 1] < 0).astype(np.int8)))


class _Builder:
    def __init__(self, world: World) -> None:
        self.w, self.city, self.clock, self.sc = world, world.city, world.clock, world.scenario
        self.access, self.iot = access_table(), iot_table()
        self.moves: list[tuple[np.ndarray, ...]] = []
        self.passes: list[PassRow] = list(self.sc.passes)
        self.doors: dict[int, list[int]] = {d: list(ts) for d, ts in self.sc.doors.items()}

    def house(self, house: House) -> None:
        w = self.w
        states = w.states(house)
        for p, st in zip(house.members, states, strict=True):
            _moves(p, st, self.moves)
        rng = np_rng(w.seed, "house", house.idx)
        act = house_activity(house, states, [w.profiles[p] for p in house.members], rng,
                             "motion" in house.devices)
        _add_rate(act.water, 60, self.sc.water_add.get(house.idx, []), self.clock.origin)
        _add_rate(act.power, 3600, self.sc.power_add.get(house.idx, []), self.clock.origin)
        self._house_devices(house, act, rng)
        rows, doors = visitors.house_visits(self.city, house, act.awake_any, self.clock,
                                            py_rng(w.seed, "visits", house.idx))
        self.passes += rows
        if doors:
            self.doors.setdefault(house.devices["door"], []).extend(doors)

    def _house_devices(self, house: House, act: Activity, rng: np.random.Generator) -> None:
        devs, clock, off = self.city.devices, self.clock, self.sc.offline
        wm, pm = devs[house.devices["water"]], devs[house.devices["power"]]
        sensors.meter(self.iot, wm, act.water, 60, 1.0, 0.001, 3, clock, rng, off.get(wm.idx, []))
        sensors.meter(self.iot, pm, act.power, 3600, 0.01, 1.0, 2, clock, rng,
                      off.get(pm.idx, []))
        if "gas" in house.devices:
            dev = devs[house.devices["gas"]]
            leaks = self.sc.gas_leaks.get(dev.idx, [])
            sensors.gas(self.iot, dev, clock, rng, act.awake_any, leaks)
        if "motion" in house.devices:
            mo = devs[house.devices["motion"]]
            ts = clock.origin + act.motion * 60 + rng.integers(0, 60, act.motion.size)
            sensors.event_times(self.iot, mo, "motion", ts, clock)

    def city_wide(self) -> Feed:
        w, city, clock = self.w, self.city, self.clock
        rng = np_rng(w.seed, "passes")
        minute, person, direction = (np.concatenate(c) for c in zip(*self.moves, strict=True))
        hb = access.habits(city, w.profiles, np_rng(w.seed, "habits"))
        access.resident_passes(Transitions(minute, person, direction), city, hb, clock, rng,
                               self.access, self.iot)
        self.passes += visitors.couriers(city, clock, py_rng(w.seed, "couriers"))
        access.extra_passes(self.passes, rng, self.access)
        for dev_idx, ts in sorted(self.doors.items()):
            sensors.event_times(self.iot, city.devices[dev_idx], "door", np.array(ts), clock)
        self._devices()
        reports = background(city, clock, py_rng(w.seed, "reports")) + self.sc.reports
        reports = sorted((r for r in reports if clock.start <= r[0] < clock.end),
                         key=lambda r: r[0])
        return Feed(_window(self.access, clock), self._offline(_window(self.iot, clock)),
                    reports)

    def _devices(self) -> None:
        sc, clock = self.sc, self.clock
        for dev in self.city.devices:
            rng = np_rng(self.w.seed, "device", dev.idx)
            if dev.heartbeat_s:
                sensors.heartbeats(self.iot, dev, clock)
            if dev.kind == "temperature":
                sensors.temperature(self.iot, dev, clock, rng, sc.overheats.get(dev.idx, []))
            elif dev.kind == "gas" and dev.house < 0:
                sensors.gas(self.iot, dev, clock, rng, None, sc.gas_leaks.get(dev.idx, []))
        for dev_idx, t0, t1 in sc.smoke:
            sensors.smoke_alarm(self.iot, self.city.devices[dev_idx], t0, t1)

    def _offline(self, iot: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Silence devices during their outages (meters already folded their readings)."""
        off = self.sc.offline
        if not off:
            return iot
        drop = np.zeros(iot["ts"].size, bool)
        cand = np.flatnonzero(np.isin(iot["device"], np.array(sorted(off))))
        dev, ts = iot["device"][cand], iot["ts"][cand]
        for d, spans in off.items():
            for t0, t1 in spans:
                drop[cand[(dev == d) & (ts >= t0) & (ts < t1)]] = True
        return {k: v[~drop] for k, v in iot.items()}


def _window(table: Table, clock: Any) -> dict[str, np.ndarray]:
    cols = table.build()
    keep = (cols["ts"] >= clock.start) & (cols["ts"] < clock.end)
    return {k: v[keep] for k, v in cols.items()}


def generate(world: World) -> Feed:
    b = _Builder(world)
    for house in world.city.houses:
        b.house(house)
    return b.city_wide()
