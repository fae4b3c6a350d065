"""Incidents in device data.

================  ===========================================================
sensor_threshold  smoke: ``smoke`` 1 at once and every 5 min for 5–30 min,
                  then 0. gas: %LEL ramps to 25–60 in 15–60 min, fast
                  reports every 2 min above 5 %LEL, fixed 10–60 min later.
                  temperature: a substation or boiler room heats to 60–85 °C
                  over 1–2 h, holds 0.5–2 h, then cools.
sensor_anomaly    water leak: +0.02–0.1 m³/h day and night for 1–3 days (or
                  to the end). power spike: +1.5–3.5 kWh/h for 3–10 h.
device_offline    one device goes silent (readings and heartbeats) for
                  12–48 h, or for good (35 %). A building outage silences
                  every device of one building's homes for 3–8 h together:
                  one truth line, subject_type ``building``, the devices
                  listed in ``detail.members``.
================  ===========================================================

Meters keep counting while silent: the first reading after an outage
carries everything used since the last one.
"""

from __future__ import annotations

from collections.abc import Callable

from gridwatch.simulate.inject import Injector
from gridwatch.simulate.model import Device

THRESHOLD_KINDS = ("smoke", "gas", "temperature")
ANOMALY_KINDS = ("water_leak", "power_spike")
OFFLINE_KINDS = ("water", "smoke", "power", "gas", "motion", "door")


def _device(inj: Injector, kind: str, public: bool | None = False) -> Device | None:
    """A device of ``kind`` in a home no incident touched yet (or a public one)."""
    cands = [d for d in inj.city.devices if d.kind == kind and d.idx not in inj.used_devices
             and (public is None or (d.house < 0) == public) and d.house not in inj.used_houses]
    if not cands:
        return None
    dev = inj.rng.choice(cands)
    inj.used_devices.add(dev.idx)
    if dev.house >= 0:
        inj.used_houses.add(dev.house)
    return dev


def _record(inj: Injector, kind: str, dev: Device, t0: int, t1: int | None,
            detail: dict[str, object]) -> None:
    if kind == "sensor_threshold":
        inj.alarm_spans[dev.idx] = (t0, inj.clock.end if t1 is None else t1)
    inj.record(kind, "device", dev.device_id, dev.grid, t0, t1, detail)


def sensor_threshold(inj: Injector, i: int) -> None:
    what = THRESHOLD_KINDS[i % len(THRESHOLD_KINDS)]
    dev = _device(inj, what, None if what == "temperature" else False)
    if dev is not None:
        {"smoke": _smoke, "gas": _gas_leak, "temperature": _overheat}[what](inj, dev)


def _smoke(inj: Injector, dev: Device) -> None:
    rng = inj.rng
    t0 = inj.when(rng.choice(((6.5, 8.5), (11.0, 13.0), (17.0, 20.0), (0.0, 24.0))), 2)
    t1 = t0 + rng.randint(5, 30) * 60
    inj.sc.smoke.append((dev.idx, t0, t1))
    _record(inj, "sensor_threshold", dev, t0, t1, {"scenario": "smoke alarm", "metric": "smoke"})


def _gas_leak(inj: Injector, dev: Device) -> None:
    rng = inj.rng
    t0, ramp, peak = inj.when(margin_h=3), rng.randint(15, 60) * 60, round(rng.uniform(25, 60), 1)
    t1 = t0 + ramp + rng.randint(10, 60) * 60
    inj.sc.gas_leaks[dev.idx].append((t0, t1, peak, ramp))
    _record(inj, "sensor_threshold", dev, t0, t1 + 900,
            {"scenario": "gas leak", "metric": "gas", "peak_lel": peak,
             "ramp_minutes": ramp // 60})


def _overheat(inj: Injector, dev: Device) -> None:
    rng = inj.rng
    t0, rise, peak = inj.when(margin_h=5), rng.randint(60, 120) * 60, round(rng.uniform(60, 85), 1)
    t1 = t0 + rise + rng.randint(30, 120) * 60
    inj.sc.overheats[dev.idx].append((t0, t1, peak, rise))
    _record(inj, "sensor_threshold", dev, t0, t1 + 3600,
            {"scenario": f"{dev.place} overheating", "metric": "temperature",
             "peak_c": peak, "rise_minutes": rise // 60})


def sensor_anomaly(inj: Injector, i: int) -> None:
    what = ANOMALY_KINDS[i % len(ANOMALY_KINDS)]
    rng = inj.rng
    dev = _device(inj, "water" if what == "water_leak" else "power")
    if dev is None:
        return
    t0 = inj.when(margin_h=12)
    if what == "water_leak":
        t1, rate = t0 + rng.randint(24, 72) * 3600, round(rng.uniform(20, 100))
        inj.sc.water_add[dev.house].append((t0, t1, float(rate)))
        detail = {"scenario": "water leak", "metric": "water", "extra_m3_per_h": rate / 1000}
    else:
        t1, rate = t0 + rng.randint(3, 10) * 3600, round(rng.uniform(1.5, 3.5), 2)
        inj.sc.power_add[dev.house].append((t0, t1, rate))
        detail = {"scenario": "power spike", "metric": "power", "extra_kwh_per_h": rate}
    _record(inj, "sensor_anomaly", dev, t0, t1, detail)


def device_offline(inj: Injector, i: int) -> None:
    dev = _device(inj, OFFLINE_KINDS[i % len(OFFLINE_KINDS)])
    if dev is None:
        return
    t0 = inj.when(margin_h=8)
    forever = inj.rng.random() < 0.35
    t1 = inj.clock.end if forever else t0 + inj.rng.randint(12, 48) * 3600
    inj.sc.offline[dev.idx].append((t0, t1))
    _record(inj, "device_offline", dev, t0, None if forever else t1,
            {"scenario": "device silent", "kind": dev.kind, "returns": not forever})


def building_outage(inj: Injector) -> None:
    """A building's gateway loses power: all of its homes' devices go quiet together.

    Drawn last, at a time clear of the building's alarms (smoke, gas), so no
    alarm is swallowed; a leak or a spike may overlap — meters fold what they
    measured into their next reading.
    """
    city = inj.city
    members = {b.idx: sorted(d for h in b.houses for d in city.houses[h].devices.values())
               for b in city.buildings}
    cands = [b for b in city.buildings if len(members[b.idx]) >= 3]
    if not cands:
        return
    b = inj.rng.choice(cands)
    spans = [inj.alarm_spans[d] for d in members[b.idx] if d in inj.alarm_spans]
    for _ in range(30):
        t0 = inj.when(margin_h=8)
        t1 = t0 + inj.rng.randint(3, 8) * 3600
        if not any(s0 < t1 + 7200 and t0 - 7200 < s1 for s0, s1 in spans):
            break
    for d in members[b.idx]:
        inj.sc.offline[d].append((t0, t1))
    inj.record("device_offline", "building", b.building_id, b.grid, t0, t1,
               {"scenario": "building outage", "cause": "gateway power failure",
                "devices": len(members[b.idx]),
                "members": [city.devices[d].device_id for d in members[b.idx]]})


DEVICE: dict[str, Callable[[Injector, int], None]] = {
    "sensor_threshold": sensor_threshold, "sensor_anomaly": sensor_anomaly,
    "device_offline": device_offline,
}
