"""Throughput and state size of the IoT detectors alone.

    .venv/bin/python bench/bench_iot.py                # 50 000 devices, well under a minute
    .venv/bin/python bench/bench_iot.py --scale full   # 1.5 million devices, ~3 GB, minutes

Runs ``sensor_threshold``, ``sensor_anomaly`` and ``device_offline`` the way
the engine does — ``shard_key`` then ``observe`` for every event, ``advance``
once per second of event time — over a city of hourly water and power meters,
smoke and gas detectors, and door contacts (Poisson use plus a 6-hourly
heartbeat). Learning eight days for 1.5 million devices would take hours, so
each kind's state is warmed once on eight days of its own series and cloned
to every device of that kind: the timed hours then run on warm, full-sized
state (profiles learned, clocks judged, deadlines in the heap).

Prints events/s and the state per device: pickled bytes (what a checkpoint
holds) and resident bytes measured with tracemalloc on a 10 000-device sample.
"""

from __future__ import annotations

import argparse
import copy
import gc
import math
import pickle
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.models import DetectorSettings  # noqa: E402
from detectors.anomaly import SensorAnomaly  # noqa: E402
from detectors.base import Detector  # noqa: E402
from detectors.offline import DEVICE, DeviceOffline  # noqa: E402
from detectors.threshold import SensorThreshold  # noqa: E402
from gridwatch.events import Iot  # noqa: E402
from gridwatch.registry import Registry  # noqa: E402

H = 3600.0
T0 = 86400.0 * 20833
WARM_DAYS = 8
SCALES = {"small": 50_000, "full": 1_500_000}
# share of devices per kind; the two meters carry most of the traffic
MIX = {"wm": 0.30, "pm": 0.30, "sm": 0.15, "gs": 0.10, "dr": 0.15}
METRIC = {"wm": "water", "pm": "power", "sm": "smoke", "gs": "gas", "dr": "door"}


def value(kind: str, hour: int, rng: random.Random) -> float:
    local = (hour + 8) % 24
    if kind == "wm":
        busy = 0.6 if local in (7, 8, 19, 20, 21) else (0.05 if local < 6 else 0.25)
        return rng.lognormvariate(math.log(0.02), 0.8) if rng.random() < busy else 0.0
    if kind == "pm":
        return 0.15 + (rng.lognormvariate(math.log(0.6), 0.5) if 18 <= local <= 22 else 0.0)
    if kind == "gs":
        return rng.uniform(0.0, 2.0)
    return 0.0 if kind == "sm" else 1.0


def readings(kind: str, device: str, hour: int, phase: float,
             rng: random.Random) -> list[Iot]:
    """What one device sends in one hour of event time."""
    t = T0 + hour * H + phase
    out = []
    if kind != "dr" or rng.random() < 0.5:  # a door is used about every other hour
        out.append(Iot(f"{device}-{hour}", t, device, METRIC[kind], value(kind, hour, rng)))
    if kind in ("dr", "sm") and hour % 6 == 0:
        out.append(Iot(f"{device}-hb{hour}", t + 1, device, "heartbeat", 1.0))
    return out


def build(settings: DetectorSettings) -> list[Detector]:
    reg = Registry()  # unknown devices: every key is the device id, no registry cost
    return [SensorThreshold(settings.sensor_threshold, reg),
            SensorAnomaly(settings.sensor_anomaly, reg),
            DeviceOffline(settings.device_offline, reg)]


def feed(detectors: list[Detector], events: list[Iot], watermark: float) -> float:
    """The engine's loop without dedup or episodes: what the detectors themselves cost."""
    for ev in events:
        for det in detectors:
            if det.shard_key(ev) is not None:
                det.observe(ev)
        if ev.t - 300.0 - watermark >= 1.0:
            watermark = ev.t - 300.0
            for det in detectors:
                det.advance(watermark)
    return watermark


def warm_templates(settings: DetectorSettings) -> list[Detector]:
    """One device per kind, eight days of its series: the state every clone starts from."""
    detectors = build(settings)
    rng = random.Random(1)
    events = [ev for hour in range(WARM_DAYS * 24) for kind in MIX
              for ev in readings(kind, f"{kind}-tpl", hour, 60.0 * len(kind), rng)]
    feed(detectors, sorted(events, key=lambda e: e.t), -math.inf)
    return detectors


def clone(templates: list[Detector], detectors: list[Detector], devices: list[str]) -> None:
    """Give every device its kind's warm state (a fresh copy, so sizes are honest)."""
    _, anomaly, offline = templates
    _, anomaly_to, offline_to = detectors
    assert isinstance(anomaly, SensorAnomaly) and isinstance(anomaly_to, SensorAnomaly)
    assert isinstance(offline, DeviceOffline) and isinstance(offline_to, DeviceOffline)
    for device in devices:
        kind = device[:2]
        series = anomaly.series.get((f"{kind}-tpl", METRIC[kind]))
        if series is not None:
            anomaly_to.series[(device, METRIC[kind])] = copy.deepcopy(series)
        state = copy.deepcopy(offline.devices[f"{kind}-tpl"])
        offline_to.devices[device] = state
        if state.queued:
            offline_to.heap.append((state.queued, DEVICE, device))
    offline_to.heap.sort()


def population(n: int) -> list[str]:
    out = []
    for kind, share in MIX.items():
        out += [f"{kind}-{i:07d}" for i in range(int(n * share))]
    return out


def state_bytes(templates: list[Detector]) -> dict[str, int]:
    _, anomaly, offline = templates
    assert isinstance(anomaly, SensorAnomaly) and isinstance(offline, DeviceOffline)
    sizes = {f"anomaly {m}": len(pickle.dumps(anomaly.series[(f"{k}-tpl", m)]))
             for k, m in (("wm", "water"), ("pm", "power"))}
    for kind in ("wm", "dr"):
        sizes[f"offline {METRIC[kind]}"] = len(pickle.dumps(offline.devices[f"{kind}-tpl"]))
    return sizes


def resident_per_device(templates: list[Detector], settings: DetectorSettings) -> float:
    devices = population(10_000)
    detectors = build(settings)
    gc.collect()
    tracemalloc.start()
    clone(templates, detectors, devices)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / len(devices)


def timed(label: str, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    took = time.perf_counter() - start
    print(f"  {label}: {took:.1f} s")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--devices", type=int, help="override the device count")
    parser.add_argument("--hours", type=int, default=2, help="hours of live traffic timed")
    args = parser.parse_args()
    n = args.devices or SCALES[args.scale]
    settings = DetectorSettings()
    print(f"IoT detectors, {n:,} devices ({', '.join(f'{k} {v:.0%}' for k, v in MIX.items())})")
    templates = warm_templates(settings)
    detectors = build(settings)
    devices = population(n)
    timed("clone warm state", lambda: clone(templates, detectors, devices))
    rng = random.Random(2)
    phases = {d: rng.uniform(0, H - 2) for d in devices}
    devices.sort(key=phases.__getitem__)
    watermark, events, took, cpu = T0 + WARM_DAYS * 24 * H - 300.0, 0, 0.0, 0.0
    for hour in range(WARM_DAYS * 24, WARM_DAYS * 24 + args.hours):
        batch = [ev for d in devices for ev in readings(d[:2], d, hour, phases[d], rng)]
        start, start_cpu = time.perf_counter(), time.process_time()
        watermark = feed(detectors, batch, watermark)
        took += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        events += len(batch)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # on a shared machine the wall clock counts other people's work: CPU time is ours
    print(f"  {events:,} events in {took:.1f} s wall, {cpu:.1f} s CPU: "
          f"{events / cpu:,.0f} events/s per core ({events / took:,.0f} by the wall clock) "
          f"(shard_key + observe on 3 detectors, advance each second)")
    print(f"  process peak RSS {rss_mb:,.0f} MB (events of one hour included)")
    print("state per device, pickled (checkpoint) bytes:")
    for name, size in state_bytes(templates).items():
        print(f"  {name}: {size} B")
    print(f"resident bytes per device (tracemalloc, 10 000-device mix, both detectors, "
          f"dict entries included): {resident_per_device(templates, settings):,.0f} B")


if __name__ == "__main__":
    main()
