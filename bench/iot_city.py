"""An independent IoT-only city, to score the IoT detectors on data we did not tune on.

    .venv/bin/python bench/iot_city.py --out out/iot-city [--houses 1500 --days 21 --seed 1]
    .venv/bin/python bench/iot_city.py --score DIR [--skip-last-h 24]   # a replayed city

``--score`` prints the same per-type table for any replayed city with a
``truth.jsonl`` (also one made by ``gridwatch simulate``), and which houses'
other incidents the false episodes fall on.

Writes ``registry/*.csv``, ``feed.jsonl``, ``truth.jsonl`` and ``controls.jsonl``
in the contract's formats, then (unless ``--no-eval``) replays the feed with
the default configuration and prints recall, precision and median delay per
incident type: water leaks, offline devices, building outages, smoke and gas.

Households (1–5 persons, their own wake-up hour, 5 % on night shifts) have
hourly water and power meters, a smoke detector (6-hourly heartbeat, half of
them with a ``smoke`` 0 status), 40 % a gas detector (hourly %LEL) and 30 % a
door contact (used a few times a day; two thirds with a 6-hourly heartbeat).
Reports jitter by ±2 min and 1 % are lost. Negative controls: households away
for days, guests doubling use, gas detectors hovering just below their
limit, devices losing 10 % of their reports, door contacts nobody uses.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.models import load_settings  # noqa: E402
from gridwatch.evaluate import (  # noqa: E402
    _matches,
    first_updates,
    format_table,
    load_jsonl,
    score,
)
from gridwatch.registry import Registry  # noqa: E402

H, DAY = 3600.0, 86400.0
TZ = timezone(timedelta(hours=8))
START = datetime(2026, 11, 2, tzinfo=TZ).timestamp()  # a Monday, local midnight


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, TZ).isoformat()


class City:
    """Registry, incidents and controls first; then every device's readings."""

    def __init__(self, rng: random.Random, houses: int, days: int) -> None:
        self.rng, self.days = rng, days
        self.end = START + days * DAY
        self.grids: list[str] = []
        self.houses: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []  # id, house, kind, heartbeat
        self.truth: list[dict[str, Any]] = []
        self.controls: list[dict[str, Any]] = []
        self._layout(houses)
        self.silent: dict[str, list[tuple[float, float]]] = {}
        self.away: dict[str, tuple[float, float]] = {}
        self.guests: dict[str, tuple[float, float]] = {}
        self.leaks: dict[str, tuple[float, float, float]] = {}
        self.alarms: dict[str, tuple[float, float, float]] = {}
        self.hover: dict[str, tuple[float, float]] = {}
        self.lossy: set[str] = set()
        self._incidents()

    def _layout(self, n: int) -> None:
        rng = self.rng
        building, flats, grid = 0, 0, -1
        for i in range(n):
            if flats == 0:
                building, flats = building + 1, rng.randint(8, 24)
                if building % 10 == 1:
                    grid += 1
                    self.grids.append(f"grid-{grid + 1:03d}")
            flats -= 1
            house = {"house_id": f"h-{i + 1:05d}", "grid_id": self.grids[-1],
                     "building_id": f"b-{building:04d}", "persons": rng.randint(1, 5),
                     "wake": rng.gauss(7.0, 1.0), "night_shift": rng.random() < 0.05}
            self.houses.append(house)
            kinds = ["wm", "pm", "sm"] + (["gs"] if rng.random() < 0.4 else []) + (
                ["dr"] if rng.random() < 0.3 else [])
            for kind in kinds:
                hb = kind == "sm" or (kind == "dr" and rng.random() < 2 / 3)
                self.devices.append({"device_id": f"{kind}-{i + 1:05d}", "house": house,
                                     "kind": kind, "heartbeat": hb,
                                     "phase": rng.uniform(0, H)})

    def _window(self, lo_days: float, min_h: float, max_h: float) -> tuple[float, float]:
        start = START + self.rng.uniform(lo_days * DAY, self.end - START - DAY * 2)
        return start, min(self.end - H, start + self.rng.uniform(min_h, max_h) * H)

    def _incident(self, kind: str, stype: str, sid: str, grid: str, span: tuple[float, float],
                  detail: dict[str, Any]) -> None:
        self.truth.append({"kind": kind, "subject_type": stype, "subject_id": sid,
                           "grid_id": grid, "start": iso(span[0]), "end": iso(span[1]),
                           "detail": detail})

    def _incidents(self) -> None:
        rng = self.rng
        for d in self.devices:
            dev, kind, grid = d["device_id"], d["kind"], d["house"]["grid_id"]
            if kind == "wm" and rng.random() < 0.03:
                start, end = self._window(3, 36, 144)
                rate = min(0.04, rng.lognormvariate(math.log(0.006), 0.8))  # m³/h
                self.leaks[dev] = (start, end, rate)
                self._incident("sensor_anomaly", "device", dev, grid, (start, end),
                               {"type": "leak", "litres_per_hour": round(rate * 1000, 1)})
            elif kind in ("sm", "gs") and rng.random() < (0.006 if kind == "sm" else 0.012):
                start, _ = self._window(1, 0, 0)
                length = rng.uniform(300, 1500)
                peak = 1.0 if kind == "sm" else rng.uniform(25, 70)
                self.alarms[dev] = (start, start + length, peak)
                self._incident("sensor_threshold", "device", dev, grid, (start, start + length),
                               {"type": "smoke" if kind == "sm" else "gas", "peak": peak})
            elif (kind != "dr" or d["heartbeat"]) and rng.random() < 0.015:
                slow = kind in ("sm", "dr")
                span = self._window(3, 36 if slow else 6, 96 if slow else 72)
                self.silent.setdefault(dev, []).append(span)
                self._incident("device_offline", "device", dev, grid, span, {"type": "offline"})
            elif kind == "gs" and rng.random() < 0.03:
                self.hover[dev] = self._window(1, 2, 8)
                self.controls.append({"type": "gas_hovering_below_limit", "device_id": dev})
            elif rng.random() < 0.03:
                self.lossy.add(dev)
                self.controls.append({"type": "loses_10pct_of_reports", "device_id": dev})
        self._outages()
        self._undeliverable()
        for h in self.houses:
            if rng.random() < 0.05:
                self.away[h["house_id"]] = self._window(2, 72, 168)
                self.controls.append({"type": "household_away", "house_id": h["house_id"]})
            elif rng.random() < 0.03:
                self.guests[h["house_id"]] = self._window(2, 36, 72)
                self.controls.append({"type": "guests_double_use", "house_id": h["house_id"]})

    def _outages(self) -> None:
        by_building: dict[str, list[dict[str, Any]]] = {}
        for d in self.devices:
            by_building.setdefault(d["house"]["building_id"], []).append(d)
        buildings = sorted(by_building)
        for b in self.rng.sample(buildings, max(1, len(buildings) * self.days // 300)):
            span = self._window(3, 4, 12)
            members = by_building[b]
            for d in members:
                self.silent.setdefault(d["device_id"], []).append(span)
            self._incident("device_offline", "building", b, members[0]["house"]["grid_id"],
                           span, {"type": "building_outage",
                                  "members": sorted(d["device_id"] for d in members)})

    def _undeliverable(self) -> None:
        """An alarm wholly inside its building's outage never reaches us: a control, not truth."""
        kept = []
        for inc in self.truth:
            span = self.alarms.get(inc["subject_id"])
            if inc["kind"] == "sensor_threshold" and span and any(
                    lo <= span[0] and span[1] <= hi
                    for lo, hi in self.silent.get(inc["subject_id"], [])):
                self.controls.append({"type": "alarm_during_building_outage",
                                      "device_id": inc["subject_id"]})
            else:
                kept.append(inc)
        self.truth = kept

    # ------------------------------------------------------------ readings
    def readings(self) -> Iterator[tuple[float, str, str, float]]:
        for d in self.devices:
            yield from self._device(d)

    def _device(self, d: dict[str, Any]) -> Iterator[tuple[float, str, str, float]]:
        rng, dev, kind = self.rng, d["device_id"], d["kind"]
        silent = self.silent.get(dev, [])
        loss = 0.1 if dev in self.lossy else 0.01
        house = d["house"]
        away = self.away.get(house["house_id"])
        out: list[tuple[float, str, float]] = []
        if kind in ("wm", "pm"):
            pending = 0.0
            for hour in range(self.days * 24):
                t = START + hour * H + d["phase"]
                pending += self._use(kind, house, t, dev, away)
                if not _inside(t, silent) and rng.random() >= loss:
                    out.append((t, "water" if kind == "wm" else "power", round(pending, 4)))
                    pending = 0.0
        elif kind == "gs":
            out += self._gas(d, t0=START + d["phase"])
        elif kind == "dr":
            out += self._door(house, away)
        alarm = self.alarms.get(dev)
        if d["heartbeat"]:
            for k in range(self.days * 4):
                t = START + k * 6 * H + d["phase"] * 6
                out.append((t, "heartbeat", 1.0))
                quiet = not alarm or not alarm[0] - H <= t <= alarm[1] + H
                if kind == "sm" and int(d["phase"]) % 2 == 0 and quiet:
                    out.append((t + 1, "smoke", 0.0))  # a status report, never during an alarm
        if kind == "sm" and alarm:
            start, end, _ = alarm
            out += [(start + k * 60.0, "smoke", 1.0) for k in range(int((end - start) // 60))]
            out.append((end, "smoke", 0.0))
        alarm_span = (alarm[0], alarm[1] + 1) if alarm else (0.0, 0.0)
        for t, metric, value in out:
            if metric in ("water", "power") or not _inside(t, silent):
                if metric in ("water", "power") or rng.random() >= loss:
                    in_alarm = alarm_span[0] <= t <= alarm_span[1]  # sent live, in order
                    yield t + (0.0 if in_alarm else rng.uniform(-120, 120)), dev, metric, value

    def _use(self, kind: str, house: dict[str, Any], t: float, dev: str,
             away: tuple[float, float] | None) -> float:
        rng = self.rng
        local = ((t - START) / H + (10 if house["night_shift"] else 0)) % 24
        weekend = int((t - START) // DAY) % 7 >= 5
        at_home = not (away and away[0] <= t < away[1])
        scale = 2.0 if (g := self.guests.get(house["house_id"])) and g[0] <= t < g[1] else 1.0
        rel = local - house["wake"]
        if kind == "wm":
            if not at_home:
                use = 0.0
            else:
                busy = 0.55 if 0 <= rel < 2 or 12 <= rel < 15 else (
                    0.03 if local < 5 or rel < 0 else (0.45 if weekend else 0.2))
                p = min(0.95, busy * (0.6 + 0.2 * house["persons"]) * scale)
                use = rng.lognormvariate(math.log(0.012 * house["persons"] ** 0.5), 0.7) \
                    if rng.random() < p else 0.0
            leak = self.leaks.get(dev)
            if leak and leak[0] <= t < leak[1]:
                use += leak[2]
            return use
        base = 0.12 * (0.7 + 0.15 * house["persons"]) * rng.uniform(0.85, 1.15)
        if not at_home:
            return base
        evening = 11 <= rel < 16
        morning = 0 <= rel < 2
        extra = rng.lognormvariate(math.log(0.4 * scale), 0.5) if evening else (
            rng.lognormvariate(math.log(0.2), 0.5) if morning or (weekend and 2 <= rel < 11)
            else (rng.lognormvariate(math.log(0.8), 0.4) if rng.random() < 0.05 else 0.0))
        return base + extra

    def _gas(self, d: dict[str, Any], t0: float) -> list[tuple[float, str, float]]:
        rng, dev = self.rng, d["device_id"]
        out = [(t0 + k * H, "gas", round(abs(rng.gauss(0.8, 0.6)), 2))
               for k in range(self.days * 24)]
        if dev in self.hover:
            lo, hi = self.hover[dev]
            out = [(t, m, round(rng.uniform(14, 19), 1) if lo <= t < hi else v)
                   for t, m, v in out]
            out += [(lo + k * 60.0, "gas", round(rng.uniform(14, 19), 1))
                    for k in range(int((hi - lo) // 60))]
        if dev in self.alarms:
            start, end, peak = self.alarms[dev]
            out = [r for r in out if not start <= r[0] <= end]  # in alarm it reports the alarm
            n = int((end - start) // 30)
            out += [(start + 30.0 * k, "gas", round(peak * min(1.0, (k + 1) / 10), 1))
                    for k in range(n)]
            out.append((end, "gas", 1.0))
        return out

    def _door(self, house: dict[str, Any], away: tuple[float, float] | None
              ) -> list[tuple[float, str, float]]:
        rng, out = self.rng, []
        for day in range(self.days):
            if rng.random() < 0.05:
                continue  # nobody went out today
            for _ in range(rng.randint(2, 6)):
                t = START + day * DAY + (house["wake"] + rng.uniform(0.5, 15)) * H
                if not (away and away[0] <= t < away[1]):
                    out.append((t, "door", 1.0))
        return out


def _inside(t: float, spans: list[tuple[float, float]]) -> bool:
    return any(lo <= t < hi for lo, hi in spans)


def write(city: City, out: Path) -> int:
    reg = out / "registry"
    reg.mkdir(parents=True, exist_ok=True)
    tables = {
        "grids": (["grid_id", "community_id", "street_id", "district_id", "city_id",
                   "worker_id", "police_id", "name"],
                  [[g, "c-1", "s-1", "d-1", "city", f"w-{g}", "pol-1", g] for g in city.grids]),
        "houses": (["house_id", "grid_id", "building_id", "registered_occupants", "lat", "lon"],
                   [[h["house_id"], h["grid_id"], h["building_id"], h["persons"], "", ""]
                    for h in city.houses]),
        "devices": (["device_id", "house_id", "grid_id"],
                    [[d["device_id"], d["house"]["house_id"], ""] for d in city.devices]),
    }
    for name, (header, rows) in tables.items():
        with (reg / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
    lines = sorted(city.readings())
    with (out / "feed.jsonl").open("wb") as fh:
        for i, (t, dev, metric, value) in enumerate(lines):
            fh.write(orjson.dumps({"stream": "iot", "event_id": f"i-{i}", "ts": iso(t),
                                   "device_id": dev, "metric": metric, "value": value}) + b"\n")
    for name, rows in (("truth", city.truth), ("controls", city.controls)):
        with (out / f"{name}.jsonl").open("wb") as fh:
            fh.writelines(orjson.dumps(r) + b"\n" for r in rows)
    return len(lines)


# incident type of a truth line: ours (detail.type) or gridwatch simulate's (detail.scenario)
TYPES = {"leak": "leak", "water leak": "leak", "power spike": "power spike",
         "offline": "offline device", "device silent": "offline device",
         "building_outage": "building outage", "building outage": "building outage",
         "smoke": "smoke", "smoke alarm": "smoke", "gas": "gas", "gas leak": "gas"}


def incident_type(incident: dict[str, Any]) -> str | None:
    detail = incident.get("detail") or {}
    return TYPES.get(detail.get("type") or detail.get("scenario") or "")


def by_type(alerts: list[dict[str, Any]], truth: list[dict[str, Any]]) -> str:
    """The evaluator's table, per incident type instead of per kind.

    Alerts are split the same way (an anomaly on a water meter is a leak
    finding, one on a power meter a power finding), so precision is per type.
    """
    def pick(kind: str, test: Any) -> list[dict[str, Any]]:
        return [a for a in alerts if a["kind"] == kind and test(a)]

    def metric(name: str) -> Any:
        return lambda a: a["evidence"].get("metric") == name

    def subject(name: str) -> Any:
        return lambda a: a["subject"]["type"] == name

    groups = {
        "leak": pick("sensor_anomaly", metric("water")),
        "power spike": pick("sensor_anomaly", metric("power")),
        "offline device": pick("device_offline", subject("device")),
        "building outage": pick("device_offline", subject("building")),
        "smoke": pick("sensor_threshold", metric("smoke")),
        "gas": pick("sensor_threshold", metric("gas")),
    }
    scores = {}
    for name, chosen in groups.items():
        sc = score(chosen, [i for i in truth if incident_type(i) == name])
        scores[name] = next(iter(sc.values())) if sc else None
    table = format_table({k: v for k, v in scores.items() if v is not None})
    return table.replace("kind      ", "incident  ", 1)


def feed_end(feed: Path) -> float:
    """Event time of the feed's last line (feeds are written in time order)."""
    with feed.open("rb") as fh:
        fh.seek(max(0, fh.seek(0, 2) - 4096))
        last = fh.read().splitlines()[-1]
    return datetime.fromisoformat(orjson.loads(last)["ts"]).timestamp()


def false_by_cause(alerts: list[dict[str, Any]], truth: list[dict[str, Any]],
                   registry: Path) -> str:
    """Unmatched IoT episodes, by the other incidents of their device's house.

    A flat sublet to a dozen people really does use several times its water
    and power: the meters depart from their baseline although the truth files
    the change under ``group_rental``. This says how many false episodes are that.
    """
    with (registry / "devices.csv").open(newline="") as fh:
        house = {r["device_id"]: r.get("house_id") or "" for r in csv.DictReader(fh)}
    others = {(i["subject_id"]): i["kind"] for i in truth if i["subject_type"] == "house"}
    kinds = ("sensor_anomaly", "device_offline", "sensor_threshold")
    counts: dict[tuple[str, str], int] = {}
    for e in first_updates(alerts):
        if e["kind"] not in kinds or any(_matches(e, i) for i in truth):
            continue
        cause = others.get(house.get(e["subject"]["id"], ""), "none")
        key = (f"{e['kind']} {e['evidence'].get('metric', '')}".strip(), cause)
        counts[key] = counts.get(key, 0) + 1
    lines = [f"  {kind}: {n} on a house with a {cause} incident" if cause != "none"
             else f"  {kind}: {n} unexplained" for (kind, cause), n in sorted(counts.items())]
    return "false episodes:\n" + ("\n".join(lines) or "  none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/iot-city")
    parser.add_argument("--houses", type=int, default=1500)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-eval", action="store_true")
    parser.add_argument("--score", type=Path, metavar="DIR",
                        help="only score DIR/alerts.jsonl against DIR/truth.jsonl per incident "
                        "type (also for a `gridwatch simulate` city replayed into DIR)")
    parser.add_argument("--skip-last-h", type=float, default=0.0, metavar="H",
                        help="with --score: also score without the incidents that began in the "
                        "feed's last H hours (a 24 h leak test cannot finish in 12)")
    args = parser.parse_args()
    if args.score:
        alerts, truth = (load_jsonl(args.score / f"{n}.jsonl") for n in ("alerts", "truth"))
        print(by_type(alerts, truth))
        if args.skip_last_h:
            cut = feed_end(args.score / "feed.jsonl") - args.skip_last_h * H
            late = [i for i in truth if datetime.fromisoformat(i["start"]).timestamp() > cut]
            print(f"without the {len(late)} incidents that began in the last "  # and their alerts
                  f"{args.skip_last_h:g} h ({', '.join(i['subject_id'] for i in late)}):")
            theirs = {e["alert_id"] for e in first_updates(alerts)
                      if any(_matches(e, i) for i in late)}  # neither scored nor false
            print(by_type([a for a in alerts if a["alert_id"] not in theirs],
                          [i for i in truth if i not in late]))
        print(false_by_cause(alerts, truth, args.score / "registry"))
        return
    out = Path(args.out)
    city = City(random.Random(args.seed), args.houses, args.days)
    n = write(city, out)
    print(f"{len(city.houses)} houses, {len(city.devices)} devices, {n:,} readings, "
          f"{len(city.truth)} incidents, {len(city.controls)} controls → {out}")
    if args.no_eval:
        return
    from gridwatch.replay import replay  # only here: scoring must not need the engine

    started = datetime.now(UTC)
    result = replay([out / "feed.jsonl"], Registry.from_dir(out / "registry"),
                    load_settings(), out / "alerts.jsonl")
    took = (datetime.now(UTC) - started).total_seconds()
    print(f"replayed {result.events:,} events in {took:.0f} s; {result.by_kind}")
    alerts, truth = load_jsonl(out / "alerts.jsonl"), load_jsonl(out / "truth.jsonl")
    print(format_table(score(alerts, truth)))
    print(by_type(alerts, truth))
    print(false_by_cause(alerts, truth, out / "registry"))
    print(f"{len(first_updates(alerts))} episodes in all")


if __name__ == "__main__":
    main()
