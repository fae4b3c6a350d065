"""Plot ``sensor_anomaly`` on real-world-like series: docs/anomaly.png.

    .venv/bin/pip install -e '.[docs]'       # matplotlib
    .venv/bin/python bench/plot_anomaly.py [--out docs/anomaly.png]

Four seeded series, five weeks each, hourly: a household's power with its
daily and weekly rhythm (a spike, then a lasting rise), a building's water
main that drifts upward and never stands still (then a night leak), a
household's bursty water with two days of missing reads (then a burst
pipe), and a room temperature read as a level with a heating failure. Each
panel shows the readings, the detector's own expected value for that hour,
the warm-up, its episodes (shaded) and the score against the threshold.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.iot import AnomalyMetric, SensorAnomalyConfig  # noqa: E402
from detectors.anomaly import SensorAnomaly  # noqa: E402
from gridwatch.events import Iot  # noqa: E402
from gridwatch.registry import Registry  # noqa: E402

H = 3600.0
T0 = 86400.0 * 20833  # 08:00 local (UTC+8), a Thursday
DAYS = 35


def local(h: int) -> int:
    return (h + 8) % 24


def weekend(h: int) -> bool:
    return ((h + 8) // 24 + 3) % 7 >= 5


def household_power(rng: random.Random) -> Iterator[tuple[int, float | None]]:
    for h in range(DAYS * 24):
        v = 0.15 * rng.uniform(0.8, 1.2)
        if 18 <= local(h) <= 22:
            v += rng.lognormvariate(math.log(0.7 if weekend(h) else 0.5), 0.4)
        elif 7 <= local(h) <= 9 or (weekend(h) and 10 <= local(h) <= 16):
            v += rng.lognormvariate(math.log(0.3), 0.5)
        if h == 24 * 12 + 6:
            v = 12.0  # a faulty heating element: one enormous hour
        if h >= 24 * 22 + 3:
            v += 1.5  # a 1.5 kW heater left on for good
        yield h, v


def building_main(rng: random.Random) -> Iterator[tuple[int, float | None]]:
    for h in range(DAYS * 24):
        drift = 1 + 0.4 * h / (DAYS * 24)
        busy = 1.4 if 6 <= local(h) <= 22 else 0.0
        peak = 0.8 if local(h) in (7, 20) else 0.0
        v = (0.3 + busy + peak) * drift * rng.uniform(0.85, 1.15)
        if h >= 24 * 24 + 16:
            v += 0.35  # a riser leaking around the clock
        yield h, v


def household_water(rng: random.Random) -> Iterator[tuple[int, float | None]]:
    for h in range(DAYS * 24):
        if 24 * 15 <= h < 24 * 17:
            yield h, None  # the meter's radio is down for two days
            continue
        p = 0.05 if local(h) < 6 else (0.6 if local(h) in (7, 8, 19, 20, 21) else 0.25)
        v = rng.lognormvariate(math.log(0.02), 0.7) if rng.random() < p else 0.0
        if 24 * 26 + 5 <= h < 24 * 26 + 9:
            v += 0.6  # a burst pipe: 600 L an hour for four hours
        yield h, v


def room_temperature(rng: random.Random) -> Iterator[tuple[int, float | None]]:
    for h in range(DAYS * 24):
        v = 21.5 + 1.5 * math.sin(2 * math.pi * (local(h) - 10) / 24) + rng.gauss(0, 0.35)
        if 24 * 20 + 4 <= h < 24 * 21 + 18:
            v -= min(9.0, 0.6 * (h - 24 * 20 - 4))  # the heating fails, the room cools down
        yield h, v


@dataclass
class Case:
    title: str
    metric: AnomalyMetric
    series: Callable[[random.Random], Iterator[tuple[int, float | None]]]
    unit: str


DEFAULT = {m.metric: m for m in SensorAnomalyConfig().metrics}  # the shipped metric specs

CASES = [
    Case("household power: daily + weekly rhythm, a spike (day 12), a heater left on (day 22)",
         DEFAULT["power"], household_power, "kWh/h"),
    Case("building water main: +40 % drift, never still; a riser leaks from day 24",
         DEFAULT["water"], building_main, "m³/h"),
    Case("household water: bursty, 2 days of lost reads (days 15–16), a burst pipe (day 26)",
         DEFAULT["water"], household_water, "m³/h"),
    Case("room temperature as a level, both directions: heating failure on day 20",
         AnomalyMetric(metric="temperature", reading="level", direction="both", min_scale=0.2),
         room_temperature, "°C"),
]


def run(case: Case, seed: int) -> dict[str, list]:
    """Feed one series; collect readings, the expected value before each, scores, episodes."""
    cfg = SensorAnomalyConfig(metrics=[case.metric])
    det = SensorAnomaly(cfg, Registry())
    out: dict[str, list] = {"day": [], "value": [], "expected": [], "score": [], "episodes": []}
    opened: float | None = None
    for h, v in case.series(random.Random(seed)):
        if v is None:
            continue
        t = T0 + (h + 1) * H
        before = det.baseline("d", case.metric.metric, t - H / 2)
        decisions = det.observe(Iot(f"e{h}", t, "d", case.metric.metric, v))
        after = det.baseline("d", case.metric.metric, t)
        out["day"].append((h + 1) / 24)
        out["value"].append(v)
        out["expected"].append(before[0] if before else math.nan)
        out["score"].append(after[1] if after else 0.0)
        for d in decisions:
            if d.status == "firing" and opened is None:
                opened = d.start
                out["episodes"].append([(d.start - T0) / 86400, None, d.evidence["test"],
                                        (d.t - T0) / 86400])
            elif d.status == "resolved":
                out["episodes"][-1][1] = (d.t - T0) / 86400
                opened = None
    for ep in out["episodes"]:
        ep[1] = ep[1] if ep[1] is not None else DAYS
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs"
                                             / "anomaly.png"))
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = SensorAnomalyConfig()
    fig = plt.figure(figsize=(13, 15), layout="constrained")
    grid = fig.add_gridspec(len(CASES) * 2, 1, height_ratios=[3, 1] * len(CASES))
    for i, case in enumerate(CASES):
        data = run(case, args.seed + i)
        top = fig.add_subplot(grid[2 * i])
        low = fig.add_subplot(grid[2 * i + 1], sharex=top)
        top.plot(data["day"], data["value"], lw=0.6, color="#4a4a4a", label="reading")
        top.plot(data["day"], data["expected"], lw=1.0, color="#1f77b4",
                 label="expected (hour-of-day × day-type profile)")
        for ax in (top, low):
            ax.axvspan(0, cfg.warmup_days, color="#dddddd", alpha=0.6, lw=0)
            for start, end, _test, _fired in data["episodes"]:
                ax.axvspan(start, end, color="#d62728", alpha=0.18, lw=0)
        for _start, _end, test, fired in data["episodes"]:
            top.annotate(test, (fired, top.get_ylim()[1]), xytext=(2, -12),
                         textcoords="offset points", fontsize=8, color="#d62728")
            top.axvline(fired, color="#d62728", lw=0.8)
        top.set_title(case.title, fontsize=10, loc="left")
        top.set_ylabel(case.unit)
        low.plot(data["day"], data["score"], lw=0.8, color="#ff7f0e")
        low.axhline(cfg.threshold, color="#d62728", lw=0.6, ls="--")
        low.set_ylim(0, 1)
        low.set_ylabel("score")
        if i == 0:
            top.legend(loc="upper left", fontsize=8)
            top.text(0.2, 0.97, "warm-up", transform=top.get_xaxis_transform(), fontsize=8,
                     va="top", color="#777777")
    fig.axes[-1].set_xlabel("day")
    fig.suptitle("sensor_anomaly on seeded real-world-like hourly series "
                 "(red: episodes, line: firing; dashed: threshold)", fontsize=11)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110, bbox_inches="tight")
    print(f"wrote {args.out}")
    for case, i in zip(CASES, range(len(CASES)), strict=True):
        data = run(case, args.seed + i)
        eps = ", ".join(f"{test} day {fired:.2f}→{end:.2f}" for _s, end, test, fired
                        in data["episodes"]) or "none"
        print(f"  {case.metric.metric:<12} {eps}")


if __name__ == "__main__":
    main()
