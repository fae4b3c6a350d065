"""Device readings: meters, heartbeats, gas, temperature and smoke alarms.

Meters keep a register (whole litres, hundredths of a kWh) and report what
the register moved since their previous report, so a dropped reading (0.5 %)
or an outage folds its consumption into the next one instead of losing it.
Battery devices report ``battery`` with their heartbeat. Gas sensors read a
few %LEL at most in normal life (cooking nudges them); a leak ramps the
reading up and switches the sensor to fast reporting while it is above
5 %LEL. Temperature sensors watch a substation or a boiler room.
"""

from __future__ import annotations

import numpy as np

from gridwatch.simulate.clock import Clock
from gridwatch.simulate.model import METRIC, Device
from gridwatch.simulate.tables import Table

DROP_P = 0.005
Interval = tuple[int, int]


def _times(dev: Device, every: int, clock: Clock, phase: int | None = None) -> np.ndarray:
    """Seconds from origin of a periodic schedule (k ≥ 0) up to the end."""
    start = dev.phase_s if phase is None else phase
    return np.arange(start, clock.end - clock.origin, every, dtype=np.int64)


def _outside(ts: np.ndarray, off: list[Interval]) -> np.ndarray:
    keep = np.ones(ts.size, bool)
    for t0, t1 in off:
        keep &= (ts < t0) | (ts >= t1)
    return keep


def meter(iot: Table, dev: Device, series: np.ndarray, step_s: int, unit: float, scale: float,
          decimals: int, clock: Clock, rng: np.random.Generator, off: list[Interval]) -> None:
    """Readings of the amount since the previous report, off an amount-per-step series.

    ``unit`` is the register's resolution in the series' unit (1 L, 0.01 kWh);
    ``scale`` converts to the contract's unit (L → m³).
    """
    cum = np.concatenate([[0.0], np.cumsum(series)])
    rel = _times(dev, dev.interval_s, clock)
    reg = np.floor(np.interp(rel / step_s, np.arange(cum.size), cum) / unit)
    ts = clock.origin + rel
    keep = (rng.random(ts.size) >= DROP_P) & _outside(ts, off)
    keep[0] = True
    idx = np.maximum.accumulate(np.where(keep, np.arange(ts.size), 0))
    prev = np.concatenate([[0], idx[:-1]])
    value = np.round((reg - reg[prev]) * unit * scale, decimals)
    emit = keep & (ts >= clock.start)
    emit[0] = False  # the register's starting point, not a reading
    iot.add(ts=ts[emit], device=dev.idx, metric=METRIC[dev.kind], value=value[emit],
            battery=np.nan)


def heartbeats(iot: Table, dev: Device, clock: Clock) -> None:
    """Liveness every ``heartbeat_s``, out of step with the device's own readings."""
    phase = (dev.phase_s + dev.heartbeat_s // 3) % dev.heartbeat_s if dev.interval_s else None
    ts = clock.origin + _times(dev, dev.heartbeat_s, clock, phase)
    ts = ts[ts >= clock.start]
    battery = np.nan
    if dev.battery >= 0:
        battery = np.round(np.clip(dev.battery - (ts - clock.origin) / 86400 * 0.002, 0.05, 1), 2)
    iot.add(ts=ts, device=dev.idx, metric=METRIC["heartbeat"], value=1.0, battery=battery)


def _leak_level(t: np.ndarray, leaks: list[tuple[int, int, float, float]]) -> np.ndarray:
    level = np.zeros(t.size)
    for t0, t1, peak, ramp in leaks:
        rising = np.clip((t - t0) / ramp, 0, 1) * peak * ((t >= t0) & (t < t1))
        top = min(1.0, (t1 - t0) / ramp) * peak
        decay = np.where(t >= t1, top * np.exp(-np.maximum(t - t1, 0) / 300.0), 0)
        level += rising + decay
    return level


def gas(iot: Table, dev: Device, clock: Clock, rng: np.random.Generator,
        cooking: np.ndarray | None, leaks: list[tuple[int, int, float, float]]) -> None:
    """%LEL every ``interval_s``; every 2 minutes while a leak keeps it above 5 %LEL."""
    ts = clock.origin + _times(dev, dev.interval_s, clock)
    fast = [np.arange(t0, t1 + 1800, 120, dtype=np.int64) for t0, t1, _, _ in leaks]
    base = rng.uniform(0.0, 1.0) if dev.house >= 0 else rng.uniform(0.5, 2.0)
    value = np.clip(base + rng.normal(0, 0.3, ts.size), 0, None)
    if cooking is not None:
        minute = (ts - clock.origin) // 60
        hod = minute // 60 % 24
        stove = cooking[np.minimum(minute, cooking.size - 1)] & np.isin(hod, (11, 12, 17, 18, 19))
        value += stove * (rng.random(ts.size) < 0.3) * rng.uniform(0.5, 2.5, ts.size)
    value += _leak_level(ts, leaks)
    if fast:
        extra = np.concatenate(fast)
        level = _leak_level(extra, leaks)
        extra, level = extra[level >= 5], level[level >= 5]
        ts = np.concatenate([ts, extra])
        value = np.concatenate([value, base + level + rng.normal(0, 0.3, extra.size)])
    keep = ts >= clock.start
    iot.add(ts=ts[keep], device=dev.idx, metric=METRIC["gas"],
            value=np.round(np.clip(value[keep], 0, 100), 1), battery=np.nan)


def temperature(iot: Table, dev: Device, clock: Clock, rng: np.random.Generator,
                faults: list[tuple[int, int, float, float]]) -> None:
    """Room temperature with a daily swing; a fault heats it, then it cools off."""
    ts = clock.origin + _times(dev, dev.interval_s, clock)
    base = rng.uniform(26, 34) if dev.place == "boiler" else rng.uniform(18, 26)
    hours = (ts - clock.origin) / 3600
    value = base + 2.0 * np.sin((hours - 9) / 24 * 2 * np.pi) + rng.normal(0, 0.3, ts.size)
    for t0, t1, peak, rise in faults:
        heat = np.clip((ts - t0) / rise, 0, 1) * (peak - base)
        cool = np.exp(-np.maximum(ts - t1, 0) / 1800.0)
        value += np.where(ts >= t0, heat * cool, 0)
    keep = ts >= clock.start
    iot.add(ts=ts[keep], device=dev.idx, metric=METRIC["temperature"],
            value=np.round(value[keep], 1), battery=np.nan)


def smoke_alarm(iot: Table, dev: Device, t0: int, t1: int) -> None:
    """``smoke`` 1 at the alarm and every 5 minutes while it lasts, 0 when it clears."""
    ts = np.concatenate([np.arange(t0, t1, 300, dtype=np.int64), [t1]])
    value = np.ones(ts.size)
    value[-1] = 0.0
    iot.add(ts=ts, device=dev.idx, metric=METRIC["smoke"], value=value, battery=np.nan)


def event_times(iot: Table, dev: Device, metric: str, ts: np.ndarray, clock: Clock) -> None:
    ts = ts[(ts >= clock.start) & (ts < clock.end)]
    iot.add(ts=ts, device=dev.idx, metric=METRIC[metric], value=1.0, battery=np.nan)
