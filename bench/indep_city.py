#!/usr/bin/env python3
"""An independent city simulator: a second generator, to check the detectors generalise.

Written from the integration contract (``shared/contract.md``, v1) and the
README's message examples alone, by an engineer who had not read the
project's own simulator (``gridwatch/simulate/``). Its purpose is to test
whether the presence, usage, crowd, rental and event-cluster detectors work on
a city whose routines, devices and producers were imagined by someone else.
It is a check, not a training set: do not tune the detectors, their defaults
or this generator against its output, and do not change this file to make
the detectors look better. (The first version was already changed once, after
one run, because visitors entered homes whose residents were away; that was a
generator bug, not a tuning.)

Command line::

    .venv/bin/python bench/indep_city.py --out DIR [--persons 2000] [--days 21]
        [--seed 1] [--start 2027-01-25] [--incident-scale 1.0] [--dump-trips]

``--days`` must be at least 9. The holiday calendar covers 2027 only; other
start years simulate a city without public holidays. The same arguments give
the same bytes in every output file. It writes:

* ``DIR/registry/{grids,houses,persons,gates,devices}.csv`` (``persons.csv``
  has its columns in a different order from the contract's, on purpose);
* ``DIR/feed.jsonl``: one input object per line plus ``"stream"``;
* ``DIR/truth.jsonl``: the incidents (``kind``, ``subject_type``,
  ``subject_id``, ``grid_id``, ``start``, ``end``, ``detail``, with the other
  kinds a right detector may also raise under ``detail.also``);
* ``DIR/controls.jsonl``: negative controls (``kind`` ``control:…``), subjects
  that look like an incident but are not one (travellers, night-shift
  workers, late sleepers, drivers, side-exit users, vacant homes, offline
  meters, family gatherings, patrol batches, large families, …);
* ``DIR/meta.json``: counts; also printed on stdout;
* with ``--dump-trips``, ``DIR/trips.jsonl``: every person's role, tags and
  true outings, to diagnose an alert against what really happened.

Score a generated city with the project's own tools::

    .venv/bin/gridwatch replay DIR/feed.jsonl --registry DIR/registry --out DIR/alerts.jsonl
    .venv/bin/gridwatch evaluate DIR/alerts.jsonl --truth DIR/truth.jsonl
    .venv/bin/python bench/presence_quality.py DIR DIR/alerts.jsonl

(``presence_quality.py`` adds false alarms per watched person-day and the
presence episodes about each kind of negative control.)

How it differs from the project's simulator (its own choices, deliberately
unlike "one gate per home, fixed cadence"):

* Gates: compounds (grids) with 1-3 community gates (face or card readers);
  40 % of compounds have an unmonitored side exit, with per-person habits of
  using it (a few people for most outings); half have a vehicle gate that
  records a plate but no person, so drivers pass no person-reading gate; some
  buildings have face gates; some homes have a smart lock, nearly half of
  which record only entries (unlocked from outside).
* Readers miss 1-6 % of passes (no record at all) and do not recognise 2-12 %
  of faces (``person_id`` null, or absent from the line for some gates);
  locks are also opened by password. Visitors, couriers, carers, rescuers,
  paramedics and group-rental tenants carry stable anonymous ids that are not
  in the registry, or none.
* Routines per role: commuters (some of them drivers), night-shift workers
  (five fixed nights a week), late risers, homemakers, students, kindergarten
  children, retirees, homebodies and disabled residents; sleep windows with
  night toilet visits; evening outings; walks inside the compound that pass
  no community gate; registered residents who live elsewhere (人户分离).
* Calendar: the 2027 Chinese public holidays with their adjusted working days
  (调休), school vacations, holiday travel of whole families and of elderly
  people living alone, and relatives' visits and family gatherings on
  festivals.
* Meters of several vendors: water every 15 min, 30 min or hourly, in 1 L or
  10 L steps, or report-on-use (with or without a 6-hourly heartbeat); water
  unit ``m3``, ``m³`` or none; hourly power meters; PIR motion sensors in some
  elderly homes; door contacts; daily smoke-detector heartbeats; a few
  running toilets (a constant small flow).
* Id formats unlike the contract's examples and unlike each other: grids
  ``GRD…``, houses ``HSE-…``, persons ``P0000000``, gates ``G-n``; devices
  ``WTR-A-…``, ``SWM…``, ``w.<hex>``, ``WM-D-…``, ``EM-…``, ``PIR-…``,
  ``DS-…``, ``SMK-…``; anonymous people ``F?-<hex>``; event ids per stream.
* Producers: several RFC 3339 styles (``+08:00`` or ``Z``, none, ms, µs or ns
  fractions); about 8 % of lines arrive late by up to 280 s; 0.1 % of IoT
  lines are delivered twice (a gateway resend).
* Incidents: falls at home (then rescue and hospital), sick in bed (no
  water), dementia wandering (some through the side exit), vanishing people
  (some return), a night life starting mid-run (unusual hours), sublets to
  many tenants (group rental), crowds at a gate, and report clusters (water
  main burst, fire with a smoke alarm, dispute, gas smell).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeAlias

import numpy as np
import orjson

TZ8 = timezone(timedelta(hours=8))
DAY, HOUR, MIN = 86400, 3600, 60
MIN_DAYS = 9  # the incident windows need this many days
_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()

# 2027 public holidays (simulated schedule) and adjusted working days (调休)
_OFF: dict[date, str] = {}
for _y, _m, _d0, _n in [(2027, 2, 5, 7), (2027, 4, 3, 3), (2027, 5, 1, 5), (2027, 6, 9, 3),
                        (2027, 9, 15, 1), (2027, 10, 1, 7)]:
    for _k in range(_n):
        _OFF[date(_y, _m, _d0) + timedelta(days=_k)] = "holiday"
for _dd in [date(2027, 1, 31), date(2027, 2, 20), date(2027, 4, 25), date(2027, 5, 8),
            date(2027, 6, 13), date(2027, 9, 26), date(2027, 10, 9)]:
    _OFF[_dd] = "workday"
_FESTIVAL = {date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 5, 1),
             date(2027, 10, 1), date(2027, 6, 9)}
_VACATION = [(date(2027, 1, 16), date(2027, 2, 21)), (date(2027, 7, 10), date(2027, 8, 31))]

CATEGORIES = ["sanitation", "illegal_parking", "fire_hazard", "noise", "road_damage",
              "dispute", "water_leak", "street_light", "stray_animal", "illegal_construction",
              "elderly_care", "facility_damage"]
TEXTS = {"sanitation": "垃圾未及时清运", "illegal_parking": "消防通道违停",
         "fire_hazard": "楼道堆放杂物", "noise": "夜间施工噪音", "road_damage": "路面塌陷",
         "dispute": "邻里纠纷", "water_leak": "自来水管爆裂", "street_light": "路灯不亮",
         "stray_animal": "流浪犬", "illegal_construction": "违章搭建",
         "elderly_care": "老人求助", "facility_damage": "健身器材损坏",
         "smoke": "有烟雾和焦糊味", "crowd": "人员聚集"}

Rng: TypeAlias = np.random.Generator
Extra: TypeAlias = dict[str, Any]
# an outing: (leave, return, scope, extra); None = before the start / after the end
Trip: TypeAlias = tuple[float | None, float | None, str, Extra]
RawTrip: TypeAlias = tuple[float | None, float | None, str]


def dumps(o: Any) -> str:
    """One compact JSON line (UTF-8 text, not ASCII-escaped)."""
    return orjson.dumps(o).decode()


def U(r: Rng, a: float, b: float) -> float:
    """A uniform draw in [a, b) as a Python float."""
    return float(r.uniform(a, b))


class Obj:
    """A mutable record (grid, building, house, person, gate, device); compares by identity."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


# the record kinds, for readability of signatures
Grid: TypeAlias = Obj
House: TypeAlias = Obj
Person: TypeAlias = Obj
Gate: TypeAlias = Obj

_M64 = (1 << 64) - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _M64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _M64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _M64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _M64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def stable_hash(s: str) -> int:
    """``hash(s)`` of CPython >= 3.11 with ``PYTHONHASHSEED=0`` (SipHash-1-3, zero key).

    For Latin-1 strings (all ids here). The first version used the built-in
    ``hash``, which is salted per process, so its output varied from run to run;
    this gives what it wrote under ``PYTHONHASHSEED=0``, in every process.
    """
    data = s.encode("latin-1")
    if not data:
        return 0
    v0, v1, v2, v3 = 0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573
    n = len(data)
    tail = n - n % 8
    for i in range(0, tail, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
        v0 ^= m
    b = (n & 0xFF) << 56 | int.from_bytes(data[tail:], "little")
    v3 ^= b
    v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    v0 ^= b
    v2 ^= 0xFF
    for _ in range(3):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    x = v0 ^ v1 ^ v2 ^ v3
    x = x - (1 << 64) if x >= 1 << 63 else x
    return -2 if x == -1 else x


# --------------------------------------------------------------------------- time format
_DATE_CACHE: dict[int, str] = {}


def fmt_ts(ts: float, style: str) -> str:
    """RFC 3339 in several producer styles."""
    if style in ("utcZ", "utcZs"):
        off, suffix = 0, "Z"
    else:
        off, suffix = 8 * HOUR, "+08:00"
    x = ts + off
    whole = math.floor(x)
    frac = x - whole
    days, sod = divmod(int(whole), DAY)
    ds = _DATE_CACHE.get(days)
    if ds is None:
        ds = _DATE_CACHE[days] = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    h, rem = divmod(sod, 3600)
    m, s = divmod(rem, 60)
    base = f"{ds}T{h:02d}:{m:02d}:{s:02d}"
    if style in ("plain", "utcZs"):
        return base + suffix
    if style in ("ms", "utcZ"):
        return f"{base}.{min(999, int(frac * 1000)):03d}{suffix}"
    if style == "us":
        return f"{base}.{min(999999, int(frac * 1e6)):06d}{suffix}"
    if style == "ns":
        return f"{base}.{min(999999999, int(frac * 1e9)):09d}{suffix}"
    raise ValueError(style)


def iso(ts: float) -> str:
    return fmt_ts(ts, "plain")


def _write_csv(path: str, header: list[str], rows: list[list[Any]] | list[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow(row)


# --------------------------------------------------------------------------- the city
class City:
    """The whole simulation; all times inside are seconds after the start (00:00 +08:00)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.r = np.random.default_rng(args.seed)
        self.start = date.fromisoformat(args.start)
        self.t0 = datetime(self.start.year, self.start.month, self.start.day,
                           tzinfo=TZ8).timestamp()
        self.nd = args.days
        self.nmin = self.nd * 1440
        self.T = self.nd * DAY
        # (rel_ts, gate, dir, method, pid, conf, plate)
        self.access: list[tuple] = []
        # (rel_ts, device, metric, value, unit, battery, style)
        self.iot: list[tuple] = []
        # (rel_ts, grid, cat, source, lat, lon, text, reporter, style)
        self.reports: list[tuple] = []
        self.truth: list[dict] = []
        self.controls: list[dict] = []
        self.used_pids: set[int] = set()
        self.days: list[Obj] = []
        for d in range(-1, self.nd + 1):
            dd = self.start + timedelta(days=d)
            wk = dd.weekday() >= 5
            tag = _OFF.get(dd)
            work = (not wk and tag != "holiday") or tag == "workday"
            vac = any(a <= dd <= b for a, b in _VACATION)
            self.days.append(Obj(date=dd, work=work, school=work and not vac,
                                 holiday=tag == "holiday", festival=dd in _FESTIVAL,
                                 weekday=dd.weekday()))

    def day(self, d: int) -> Obj:
        """Calendar facts of day d (-1 = the day before the start)."""
        return self.days[d + 1]

    # ------------------------------------------------------------------ ids
    def anon(self, prefix: str = "FX") -> str:
        """A stable anonymous id of someone not in the registry."""
        return f"{prefix}-{int(self.r.integers(16**7, 16**8)):08x}"

    def new_pid(self) -> str:
        while True:
            n = int(self.r.integers(1, 9999999))
            if n not in self.used_pids:
                self.used_pids.add(n)
                return f"P{n:07d}"

    # ------------------------------------------------------------------ geography
    def build(self) -> None:
        """Grids with their gates, then households with members, doors and devices."""
        target = self.a.persons
        ngrids = max(4, round(target / 110))
        self.grids: list[Grid] = []
        self.gates: list[Gate] = []
        self.houses: list[House] = []
        self.persons: list[Person] = []
        self.devices: list[tuple[str, str, str]] = []
        self.gate_n = 0
        self._build_grids(ngrids)
        self._build_houses(target, ngrids)
        for h in self.houses:
            self.add_devices(h)

    def _build_grids(self, ngrids: int) -> None:
        r = self.r
        lat0, lon0 = 30.62, 104.02
        side = math.ceil(math.sqrt(ngrids))
        for gi in range(ngrids):
            dist, street, comm = 1 + gi // 12, 1 + (gi // 6) % 2, 1 + (gi // 3) % 2
            g = Obj(idx=gi + 1, gid=f"GRD{dist}{street}{comm:02d}{gi + 1:02d}",
                    community=f"COM-{dist}-{street}-{comm:02d}", street=f"ST-{dist}-{street}",
                    district=f"DS-{dist}", city="chengdu-sim", worker=f"GW-{gi + 7:04d}",
                    police=f"PS-{1 + gi // 4:02d}", name=f"锦城网格{gi + 1}",
                    lat=lat0 + (gi // side) * 0.009, lon=lon0 + (gi % side) * 0.010,
                    side_exit=r.random() < 0.4, buildings=[], houses=[], cgates=[],
                    car_gate=None,
                    door_share=float(r.choice([0.0, 0.15, 0.35, 0.6, 0.8])),
                    bgate_share=float(r.choice([0.0, 0.3, 0.7, 1.0])),
                    report_rate=U(r, 0.5, 4.0), patrol=r.random() < 0.3,
                    courier_rate=U(r, 0.35, 0.8))
            self.grids.append(g)
            for _ in range(int(r.choice([1, 1, 2, 2, 3]))):
                face = r.random() < 0.7
                g.cgates.append(self.new_gate(g, "community", "face" if face else "card",
                                              g.lat + U(r, -.003, .003),
                                              g.lon + U(r, -.003, .003)))
            if r.random() < 0.5:
                g.car_gate = self.new_gate(g, "car", "plate", g.lat, g.lon + 0.003)

    def _build_houses(self, target: int, ngrids: int) -> None:
        r = self.r
        kinds = ["elderly_alone", "elderly_couple", "family", "big_family", "couple", "single",
                 "shared", "vacant", "empty"]
        w = np.array([0.11, 0.12, 0.27, 0.04, 0.14, 0.13, 0.06, 0.05, 0.03])
        npers = 0
        hn = 0
        while npers < target:
            g = self.grids[hn % ngrids]
            hn += 1
            kind = str(r.choice(kinds, p=w / w.sum()))
            if not g.buildings or len(g.buildings[-1].houses) >= g.buildings[-1].cap:
                self._new_building(g)
            b = g.buildings[-1]
            k = len(b.houses)
            floor, unit = 1 + k // 3, 1 + k % 3
            h = Obj(hid=f"HSE-{g.idx}-{b.no}-{floor}{unit:02d}", grid=g, building=b, kind=kind,
                    lat=b.lat + U(r, -.0002, .0002), lon=b.lon + U(r, -.0002, .0002),
                    members=[], door=None, door_sensor=False, door_dev=None, water=None,
                    power=None, motion=None, smoke=None, carer=None, meter_off=[], leak=0.0,
                    remark=str(r.choice(["", "", "出租", "自住", "空置"])))
            b.houses.append(h)
            g.houses.append(h)
            self.houses.append(h)
            self.make_members(h)
            npers += len(h.members)
            if r.random() < g.door_share:
                self.add_door(h)
            elif r.random() < 0.2:
                h.door_sensor = True

    def _new_building(self, g: Grid) -> None:
        r = self.r
        bno = len(g.buildings) + 1
        b = Obj(bid=f"BLD-{g.idx}-{bno}", no=bno, grid=g, houses=[],
                cap=int(r.choice([12, 18, 24])),
                lat=g.lat + U(r, -.003, .003), lon=g.lon + U(r, -.003, .003), gate=None)
        if r.random() < g.bgate_share:
            b.gate = self.new_gate(g, "building", "face", b.lat, b.lon)
        g.buildings.append(b)

    def new_gate(self, g: Grid, kind: str, method: str, lat: float, lon: float,
                 house: House | None = None) -> Gate:
        """A gate of kind community / building / car / door (a home's smart lock)."""
        r = self.r
        self.gate_n += 1
        gate = Obj(gid=f"G-{self.gate_n}", kind=kind, grid=g, house=house, method=method,
                   mode="both", miss=U(r, 0.01, 0.06),
                   null_p=U(r, 0.02, 0.12) if method == "face" else 0.0,
                   style=str(r.choice(["plain", "ms", "us", "plain"])), omit=r.random() < 0.3,
                   lat=lat, lon=lon)
        if kind == "door":
            gate.mode = "in_only" if r.random() < 0.45 else "both"
            gate.method = "lock_in" if gate.mode == "in_only" else "face_lock"
            gate.miss = U(r, 0.005, 0.03)
            gate.null_p = U(r, 0.01, 0.05)
            gate.style = str(r.choice(["ms", "plain"]))
        self.gates.append(gate)
        return gate

    def add_door(self, h: House, mode: str | None = None) -> None:
        if h.door is None:
            h.door = self.new_gate(h.grid, "door", "face_lock", h.lat, h.lon, house=h)
        if mode:
            h.door.mode = mode
            h.door.method = "lock_in" if mode == "in_only" else "face_lock"

    def make_members(self, h: House) -> None:
        self._register_household(h)
        self._member_traits(h)

    def _add_person(self, h: House, tags: list[str], role: str, age: str) -> Person:
        p = Obj(pid=self.new_pid(), house=h, tags=list(tags), role=role, age=age, present=True,
                trips=[], over=[], driver=False, plate=None, unusual_from=None, side_p=0.0,
                evening_p=U(self.r, 0.0, 0.3), nightdays=None)
        h.members.append(p)
        self.persons.append(p)
        return p

    def _adult_role(self) -> str:
        x = self.r.random()
        if x < 0.74:
            return "worker"
        return "nightshift" if x < 0.79 else ("late" if x < 0.85 else "homemaker")

    def _elder_role(self) -> str:
        x = self.r.random()
        return "retiree" if x < 0.75 else "homebody"

    def _register_household(self, h: House) -> None:
        """The registered members of a household of h.kind ('empty': nobody)."""
        r = self.r
        k = h.kind
        if k == "elderly_alone":
            tags = ["elderly_alone"]
            if r.random() < 0.12:
                tags.append("dementia")
            role = self._elder_role()
            if r.random() < 0.05:
                tags.append("disabled")
                role = "disabled"
            self._add_person(h, tags, role, "old")
        elif k == "elderly_couple":
            for i in range(2):
                tags = ["elderly"]
                if i == 0 and r.random() < 0.10:
                    tags.append("dementia")
                self._add_person(h, tags, self._elder_role(), "old")
        elif k in ("family", "big_family"):
            nad = 2 if k == "family" else int(r.integers(2, 4))
            nmin = int(r.integers(1, 3)) if k == "family" else int(r.integers(2, 4))
            nold = (1 if r.random() < 0.3 else 0) if k == "family" else 2
            for _ in range(nad):
                self._add_person(h, [], self._adult_role(), "adult")
            for _ in range(nmin):
                self._add_person(h, ["minor"], "student" if r.random() < 0.7 else "child",
                                 "minor")
            for i in range(nold):
                tags = ["elderly"]
                if i == 0 and r.random() < 0.08:
                    tags.append("dementia")
                self._add_person(h, tags, self._elder_role(), "old")
        elif k == "couple":
            for _ in range(2):
                self._add_person(h, [], self._adult_role(), "adult")
        elif k == "single":
            self._add_person(h, ["tenant"] if r.random() < 0.3 else [], self._adult_role(),
                             "adult")
        elif k == "shared":
            for _ in range(int(r.integers(2, 5))):
                self._add_person(h, ["tenant"], self._adult_role(), "adult")
        elif k == "vacant":
            for _ in range(int(r.integers(1, 4))):
                p = self._add_person(h, ["elderly"] if r.random() < 0.5 else [], "retiree", "old")
                p.present = False

    def _member_traits(self, h: House) -> None:
        """Extra tags, gate habits, cars, schedules; absent members; a carer."""
        r = self.r
        g = h.grid
        for p in h.members:
            if p.age == "adult" and r.random() < 0.012:
                p.tags.append("key_person")
            if p.age != "old" and "disabled" not in p.tags and r.random() < 0.008:
                p.tags.append("disabled")
            if g.side_exit:
                p.side_p = 0.6 if r.random() < 0.05 else U(r, 0.0, 0.2)
            p.gate_w = r.dirichlet(np.ones(len(g.cgates)) * 0.7)
            if (p.role in ("worker", "nightshift") and g.car_gate is not None
                    and r.random() < 0.15):
                p.driver = True
                p.plate = "川A" + "".join(r.choice(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"), 5))
            p.leave_mu = U(r, 7.0, 9.0) * HOUR
            p.ret_mu = U(r, 17.5, 19.5) * HOUR
            if p.role == "nightshift":
                p.nightdays = {int(x) for x in r.choice(7, 5, replace=False)}
        # registered but living elsewhere (人户分离)
        for p in h.members:
            if p.present and p.age == "adult" and len(h.members) > 1 and r.random() < 0.025:
                p.present = False
        if "disabled" in [t for p in h.members for t in p.tags] or (
                h.kind == "elderly_alone" and r.random() < 0.3):
            h.carer = self.anon("FC")

    def add_devices(self, h: House) -> None:
        """Water meter (one of four vendors), maybe power, motion, door contact, smoke."""
        r = self.r
        g = h.grid
        dn = len(self.devices)
        vendor = str(r.choice(["A", "A", "B", "C", "D"]))
        if vendor == "A":
            did, cad, res, mode, style = f"WTR-A-{dn:06d}", 15, 0.001, "periodic", "plain"
        elif vendor == "B":
            did, cad, res, mode, style = f"SWM{dn:08d}", 60, 0.01, "periodic", "utcZ"
        elif vendor == "C":
            did = f"w.{int(r.integers(16**9, 16**10)):010x}"
            cad, res, mode, style = 30, 0.001, "periodic", "ns"
        else:
            did, cad, res, mode, style = f"WM-D-{dn:05d}", 15, 0.001, "on_use", "ms"
        h.water = Obj(did=did, cad=cad, res=res, mode=mode, style=style,
                      phase=int(r.integers(0, cad)),
                      hb=(mode == "on_use" and r.random() < 0.5),
                      unit=str(r.choice(["m3", "m³", ""])))
        self.devices.append((did, h.hid, g.gid))
        if r.random() < 0.6:
            h.power = Obj(did=f"EM-{g.idx:02d}-{dn:06d}", style=str(r.choice(["plain", "ms"])))
            self.devices.append((h.power.did, h.hid, g.gid))
        old_alone = any("elderly_alone" in p.tags or "disabled" in p.tags for p in h.members)
        if old_alone and r.random() < 0.45:
            h.motion = Obj(did=f"PIR-{dn:06d}", style="ms")
            self.devices.append((h.motion.did, h.hid, g.gid))
        if h.door_sensor:
            h.door_dev = f"DS-{dn:06d}"
            self.devices.append((h.door_dev, h.hid, g.gid))
        if r.random() < 0.5:
            h.smoke = Obj(did=f"SMK-{dn:06d}", hour=U(r, 0, 24))
            self.devices.append((h.smoke.did, h.hid, g.gid))
        if r.random() < 0.03:
            h.leak = U(r, 0.5, 3.0)  # L/h running toilet

    # ------------------------------------------------------------------ routines
    def sleep_windows(self, p: Person) -> list[tuple[float, float]]:
        """(fall asleep, wake up) per night, from the night before day 0."""
        r = self.r
        out = []
        for d in range(-1, self.nd):
            base = d * DAY
            di, dn = self.day(d), self.day(d + 1)
            role = p.role
            if p.unusual_from is not None and d >= p.unusual_from - 1:
                if d >= p.unusual_from:
                    out.append((base + DAY + U(r, 6.5, 8) * HOUR,
                                base + DAY + U(r, 13.5, 15.5) * HOUR))
                else:
                    out.append((base + 23.5 * HOUR, base + DAY + 8 * HOUR))
                continue
            if role == "nightshift":
                if dn.weekday in p.nightdays or di.weekday in p.nightdays:
                    out.append((base + DAY + U(r, 8, 9) * HOUR,
                                base + DAY + U(r, 14.5, 15.5) * HOUR))
                else:
                    out.append((base + DAY + U(r, 0, 1.5) * HOUR,
                                base + DAY + U(r, 9, 10.5) * HOUR))
                continue
            if role == "late":
                out.append((base + DAY + U(r, 2, 3.5) * HOUR, base + DAY + U(r, 10, 11.5) * HOUR))
                continue
            if p.age == "old" or role == "disabled":
                bed, wake = 21.5 + r.normal(0, 0.6), 5.8 + r.normal(0, 0.5)
            elif p.age == "minor":
                bed, wake = 21.8 + r.normal(0, 0.4), (6.3 if dn.school else 8.5) + r.normal(0, 0.3)
            else:
                bed = 23.2 + r.normal(0, 0.6)
                wake = (p.leave_mu / HOUR - 0.9 if dn.work else 8.3) + r.normal(0, 0.3)
            out.append((base + bed * HOUR, base + DAY + wake * HOUR))
        return out

    def outings(self, n_choices: list[int], lo: float, hi: float, dmin: float, dmax: float,
                base: float) -> list[RawTrip]:
        """A few outings starting between lo and hi o'clock, dmin-dmax minutes long."""
        r = self.r
        res: list[RawTrip] = []
        for _ in range(int(r.choice(n_choices))):
            s = base + U(r, lo, hi) * HOUR
            res.append((s, s + U(r, dmin, dmax) * MIN, "city"))
        return res

    def day_trips(self, p: Person, d: int) -> list[RawTrip]:
        """p's ordinary outings that start on day d."""
        base = d * DAY
        di = self.day(d)
        if p.unusual_from is not None and d >= p.unusual_from:
            return self._trips_night_life(base)
        by_role: dict[str, Callable[[Person, float, Obj], list[RawTrip]]] = {
            "worker": self._trips_worker, "nightshift": self._trips_nightshift,
            "late": self._trips_late, "homemaker": self._trips_homemaker,
            "student": self._trips_student, "child": self._trips_child,
            "retiree": self._trips_elder, "homebody": self._trips_elder,
            "disabled": self._trips_elder}
        trips = by_role.get(p.role)
        return trips(p, base, di) if trips else []

    def _trips_night_life(self, base: float) -> list[RawTrip]:
        r = self.r
        t: list[RawTrip] = []
        s = base + U(r, 21.8, 25.5) * HOUR
        t.append((s, base + DAY + U(r, 3.5, 6.3) * HOUR, "city"))
        if r.random() < 0.4:
            a = base + U(r, 15.5, 18) * HOUR
            t.append((a, a + U(r, 30, 120) * MIN, "city"))
        return t

    def _trips_worker(self, p: Person, base: float, di: Obj) -> list[RawTrip]:
        r = self.r
        t: list[RawTrip] = []
        if di.work:
            car = p.driver and r.random() < 0.9
            lo = base + p.leave_mu + r.normal(0, 900)
            back = (base + p.ret_mu + r.normal(0, 1500)
                    + (U(r, 1, 3) * HOUR if r.random() < 0.15 else 0))
            t.append((lo, back, "car" if car else "city"))
            if r.random() < p.evening_p:
                e = back + U(r, 0.8, 2) * HOUR
                t.append((e, e + U(r, 40, 150) * MIN, "city"))
        else:
            if r.random() > 0.15:
                t += self.outings([1, 1, 2, 2, 3], 9, 20, 60, 300, base)
        return t

    def _trips_nightshift(self, p: Person, base: float, di: Obj) -> list[RawTrip]:
        r = self.r
        t: list[RawTrip] = []
        if di.weekday in p.nightdays:
            s = base + U(r, 21.5, 22.5) * HOUR
            t.append((s, base + DAY + U(r, 6.5, 8) * HOUR, "car" if p.driver else "city"))
            if r.random() < 0.3:
                a = base + U(r, 15.5, 17.5) * HOUR
                t.append((a, a + U(r, 40, 120) * MIN, "city"))
        else:
            if r.random() < 0.7:
                t += self.outings([1, 2], 11, 20, 60, 240, base)
        return t

    def _trips_late(self, p: Person, base: float, di: Obj) -> list[RawTrip]:
        r = self.r
        s = base + U(r, 11, 14) * HOUR
        return [(s, base + U(r, 23.3, 26.5) * HOUR, "city")]

    def _trips_homemaker(self, p: Person, base: float, di: Obj) -> list[RawTrip]:
        r = self.r
        t: list[RawTrip] = []
        if r.random() < 0.75:
            s = base + U(r, 8, 10) * HOUR
            t.append((s, s + U(r, 50, 130) * MIN, "city"))
        if r.random() < 0.5:
            s = base + U(r, 14.5, 17) * HOUR
            t.append((s, s + U(r, 40, 150) * MIN, "city"))
        return t

    def _trips_student(self, p: Person, base: float, di: Obj) -> list[RawTrip]:
        r = self.r
        t: list[RawTrip] = []
        if di.school:
            s = base + U(r, 6.75, 7.5) * HOUR
            e = base + (U(r, 16.5, 18) if r.random() < 0.8 else U(r, 20.8, 21.6)) * HOUR
            t.append((s, e, "city"))
        elif r.random() < 0.55:
            t += self.outings([1, 1, 2], 9, 19, 60, 300, base)
        return t

    def _trips_child(self, p: Person, base: float, di: Obj) -> list[RawTrip]:
        r = self.r
        t: list[RawTrip] = []
        if di.school:
            s = base + U(r, 7.5, 8.25) * HOUR
            t.append((s, base + U(r, 16, 17.5) * HOUR, "city"))
        elif r.random() < 0.5:
            t += self.outings([1], 9.5, 17, 90, 300, base)
        return t

    def _trips_elder(self, p: Person, base: float, di: Obj) -> list[RawTrip]:
        """Retirees, homebodies, disabled: morning and afternoon outings, compound walks."""
        r = self.r
        role = p.role
        t: list[RawTrip] = []
        f = {"retiree": 1.0, "homebody": 0.35, "disabled": 0.2}[role]
        if di.holiday:
            f *= 0.8
        if r.random() < 0.7 * f:
            s = base + U(r, 6.0, 9.0) * HOUR
            t.append((s, s + U(r, 40, 150) * MIN, "city"))
        if r.random() < 0.45 * f:
            s = base + U(r, 14.5, 17.0) * HOUR
            t.append((s, s + U(r, 60, 180) * MIN, "city"))
        if r.random() < (0.4 if role == "retiree" else 0.3):
            s = base + (U(r, 9.5, 11) if r.random() < 0.5 else U(r, 18.5, 20)) * HOUR
            t.append((s, s + U(r, 20, 90) * MIN, "compound"))
        return t

    def person_trips(self, p: Person) -> list[RawTrip]:
        if not p.present:
            return []
        trips: list[RawTrip] = []
        # night shift that started the evening before day 0
        if p.role == "nightshift" and self.day(-1).weekday in p.nightdays:
            trips.append((None, U(self.r, 6.5, 8) * HOUR, "car" if p.driver else "city"))
        for d in range(self.nd):
            trips += self.day_trips(p, d)
        return trips

    def apply_overrides(self, p: Person) -> None:
        """Remove trips that clash with special windows; add their own trips."""
        trips = p.trips
        for (s, e, kind, extra) in p.over:
            lo, hi = s - 20 * MIN, (e if e is not None else self.T + DAY) + 20 * MIN
            trips = [tr for tr in trips if not (
                (tr[0] if tr[0] is not None else -DAY) < hi
                and (tr[1] if tr[1] is not None else self.T + DAY) > lo)]
            if kind == "away":
                trips.append((s, e, extra.get("scope", "city"), extra))
        trips = [tr if len(tr) == 4 else (tr[0], tr[1], tr[2], {}) for tr in trips]
        trips.sort(key=lambda x: x[0] if x[0] is not None else -DAY)
        clean: list[Trip] = []
        last_in = -DAY
        for tr in trips:
            s, e = tr[0], tr[1]
            if s is not None and s < last_in + 5 * MIN:
                if tr[3]:  # special trip wins: shorten or drop the previous one
                    prev = clean.pop()
                    if prev[0] is None or prev[0] < s - 30 * MIN:
                        clean.append((prev[0], s - 15 * MIN, prev[2], prev[3]))
                else:
                    continue
            if s is not None and e is not None and e < s + 5 * MIN:
                e = s + 5 * MIN
                tr = (s, e, tr[2], tr[3])
            if s is not None and s >= self.T:
                continue
            clean.append(tr)
            last_in = e if e is not None else self.T + 10 * DAY
        p.trips = clean

    # ------------------------------------------------------------------ passes
    def pass_(self, gate: Gate, t: float, direction: str, pid: str | None,
              stranger: bool = False, plate: str | None = None,
              force_null: bool = False) -> str | None:
        """Record a pass unless the gate misses it; returns the person id recorded."""
        if t < 0 or t >= self.T:
            return None
        if gate.kind == "door" and gate.mode == "in_only" and direction == "out":
            return None
        if self.r.random() < gate.miss:
            return None
        method, who, conf = self._identify(gate, pid, stranger, force_null)
        self.access.append((t, gate, direction, method, who, conf, plate))
        return who

    def _identify(self, gate: Gate, pid: str | None, stranger: bool,
                  force_null: bool) -> tuple[str, str | None, float | None]:
        """(method, person id recorded, confidence) of one pass at gate."""
        r = self.r
        conf = None
        if gate.method == "plate":
            method, who = "plate", None
        elif gate.method == "face":
            method = "face"
            if force_null or r.random() < gate.null_p:
                who, conf = None, round(U(r, 0.2, 0.6), 2)
            else:
                who, conf = pid, round(U(r, 0.78, 0.995), 3)
        elif gate.method == "card":
            if stranger:
                method, who = str(r.choice(["qr", "other", "password"])), None
            else:
                method, who = "card", pid
        elif gate.method == "face_lock":
            x = r.random()
            if stranger:
                method, who = "face", None
                conf = round(U(r, 0.2, 0.5), 2)
            elif force_null or x < gate.null_p:
                method, who = "face", None
            elif x < gate.null_p + 0.08:
                method, who = "password", None
            else:
                method, who, conf = "face", pid, round(U(r, 0.8, 0.99), 3)
        else:  # lock_in
            x = r.random()
            if stranger:
                method, who = str(r.choice(["password", "qr"])), None
            elif force_null or x < 0.15:
                method, who = "password", None
            elif x < 0.75:
                method, who = "other", pid
            else:
                method, who = "card", pid
        return method, who, conf

    def pick_gate(self, p: Person) -> Gate:
        g = p.house.grid
        return g.cgates[int(self.r.choice(len(g.cgates), p=p.gate_w))]

    def out_passes(self, p: Person, t: float, scope: str, ex: Extra) -> bool:
        """Passes of leaving home at t; returns True if an identified pass was written."""
        r = self.r
        h, b, g = p.house, p.house.building, p.house.grid
        ident = False
        fn = ex.get("force_null", False)
        if h.door is not None:
            ident |= self.pass_(h.door, t, "out", p.pid, force_null=fn) == p.pid
        if h.door_dev:
            self.iot.append((t + U(r, 0, 3), h.door_dev, "door", 1, None, None, "ms"))
        if b.gate is not None:
            ident |= self.pass_(b.gate, t + U(r, 20, 90), "out", p.pid, force_null=fn) == p.pid
        if scope in ("city", "car"):
            side = ex.get("side_out", r.random() < p.side_p)
            if scope == "car" and g.car_gate is not None:
                if p.plate:  # passengers leave no trace at a plate gate
                    self.pass_(g.car_gate, t + U(r, 120, 300), "out", None, plate=p.plate)
            elif not side:
                ident |= self.pass_(self.pick_gate(p), t + U(r, 60, 360), "out", p.pid,
                                    force_null=fn) == p.pid
        return ident

    def in_passes(self, p: Person, t: float, scope: str, ex: Extra) -> bool:
        """Passes of coming home at t; returns True if an identified pass was written."""
        r = self.r
        h, b, g = p.house, p.house.building, p.house.grid
        ident = False
        fn = ex.get("force_null", False)
        if scope in ("city", "car"):
            side = ex.get("side_in", r.random() < p.side_p)
            if scope == "car" and g.car_gate is not None:
                if p.plate:
                    self.pass_(g.car_gate, t - U(r, 120, 300), "in", None, plate=p.plate)
            elif not side:
                ident |= self.pass_(self.pick_gate(p), t - U(r, 60, 360), "in", p.pid,
                                    force_null=fn) == p.pid
        if b.gate is not None:
            ident |= self.pass_(b.gate, t - U(r, 20, 90), "in", p.pid, force_null=fn) == p.pid
        if h.door is not None:
            ident |= self.pass_(h.door, t, "in", p.pid, force_null=fn) == p.pid
        if h.door_dev:
            self.iot.append((t + U(r, 0, 3), h.door_dev, "door", 1, None, None, "ms"))
        return ident

    def visit(self, h: House, vid: str | None, t_in: float, t_out: float, door: bool = True,
              building: bool = True, gate: Gate | None = None) -> None:
        """A non-resident (stable anonymous id or None) visiting house h."""
        r = self.r
        g, b = h.grid, h.building
        gate = gate or g.cgates[int(r.integers(len(g.cgates)))]
        self.pass_(gate, t_in - U(r, 60, 300), "in", vid, stranger=True)
        if building and b.gate is not None:
            self.pass_(b.gate, t_in - U(r, 10, 60), "in", vid, stranger=True)
        if door and h.door is not None:
            self.pass_(h.door, t_in, "in", vid, stranger=True)
        if door and h.door_dev:
            self.iot.append((t_in, h.door_dev, "door", 1, None, None, "ms"))
            self.iot.append((t_out, h.door_dev, "door", 1, None, None, "ms"))
        if door and h.door is not None:
            self.pass_(h.door, t_out, "out", vid, stranger=True)
        if building and b.gate is not None:
            self.pass_(b.gate, t_out + U(r, 10, 60), "out", vid, stranger=True)
        self.pass_(gate, t_out + U(r, 60, 300), "out", vid, stranger=True)

    def tenant_pass(self, h: House, tid: str, t: float, direction: str) -> None:
        """A group-rental tenant: the lock knows them (stable unregistered id)."""
        r = self.r
        g, b = h.grid, h.building
        gate = g.cgates[stable_hash(tid) % len(g.cgates)]
        sign = 1 if direction == "out" else -1
        if h.door is not None and not (h.door.mode == "in_only" and direction == "out"):
            if r.random() >= h.door.miss:
                if r.random() < 0.2:
                    self.access.append((t, h.door, direction, "password", None, None, None))
                else:
                    self.access.append((t, h.door, direction, "face", tid,
                                        round(U(r, 0.8, 0.99), 3), None))
        if b.gate is not None:
            self.pass_(b.gate, t + sign * U(r, 20, 90), direction, tid)
        if not (g.side_exit and r.random() < 0.1):
            self.pass_(gate, t + sign * U(r, 60, 360), direction, tid)

    # ------------------------------------------------------------------ planning
    def _rn(self, x: float) -> int:
        """How many of an incident with x per 2000 persons (at least one)."""
        return max(1, int(round(x * self._scale)))

    def _pick(self, cands: list[Obj], n: int) -> list[Obj]:
        """n random candidates, never a person or house picked before (or a picked one's home)."""
        used = self._used
        cands = [c for c in cands if id(c) not in used
                 and id(c.house if hasattr(c, "house") else c) not in used]
        n = max(0, min(n, len(cands)))
        idx = self.r.choice(len(cands), n, replace=False) if n else []
        out = [cands[i] for i in idx]
        for c in out:
            used.add(id(c))
            if hasattr(c, "house"):
                used.add(id(c.house))
        return out

    def plan(self) -> None:
        """Choose the subjects of incidents and of negative controls."""
        self._scale = self.a.persons / 2000 * self.a.incident_scale
        self._used: set[int] = set()
        pres = [p for p in self.persons if p.present]
        self._plan_incidents(pres)
        self._plan_controls(pres)
        # unusual hours: night life from a day in the second week
        nd = self.nd
        for p in self.plan_unusual:
            p.unusual_from = int(self.r.integers(max(5, nd // 3), max(6, nd - 5)))

    def _plan_incidents(self, pres: list[Person]) -> None:
        r = self.r
        pick, rn = self._pick, self._rn
        ea = [p for p in pres if "elderly_alone" in p.tags and "dementia" not in p.tags
              and "disabled" not in p.tags and p.house.carer is None and p.house.leak == 0]
        self.plan_falls = pick(ea, rn(8))
        self.plan_sick = pick(ea, rn(6))
        dem = [p for p in pres if "dementia" in p.tags]
        self.plan_wander = pick(dem, rn(8))
        ka = [p for p in pres if "key_person" in p.tags]
        van = pick([p for p in pres if "elderly_alone" in p.tags], rn(2)) + pick(ka, rn(2))
        van += pick([p for p in pres if ("elderly" in p.tags or "tenant" in p.tags)
                     and "dementia" not in p.tags], rn(6) - len(van))
        self.plan_vanish = van
        un_c = [p for p in pres if p.role in ("worker", "homemaker", "student")
                and ("key_person" in p.tags or "tenant" in p.tags or p.role == "student"
                     or r.random() < 0.05)]
        self.plan_unusual = pick(un_c, rn(5))
        # group rental: vacant/empty flats, given a face lock if they lack one
        gr_c = [h for h in self.houses if h.kind in ("vacant", "empty")]
        gr_c.sort(key=lambda h: h.door is None)
        self.plan_rental = pick(gr_c[: max(rn(5) * 2, 8)], rn(5))
        for h in self.plan_rental:
            if h.door is None or r.random() < 0.8:
                self.add_door(h, "both")

    def _plan_controls(self, pres: list[Person]) -> None:
        pick, rn = self._pick, self._rn
        hh: dict[int, House] = {}
        for p in pres:
            hh.setdefault(id(p.house), p.house)
        fam = [h for h in hh.values() if id(h) not in self._used
               and all(p.present for p in h.members)
               and h.kind in ("family", "couple", "big_family", "elderly_couple", "single")]
        self.plan_travel = pick(fam, rn(30))
        self.plan_travel_ea = pick([p for p in pres if "elderly_alone" in p.tags
                                    and "dementia" not in p.tags], rn(5))
        self.plan_homebody = pick([p for p in pres if "elderly_alone" in p.tags
                                   and "dementia" not in p.tags], rn(5))
        self.plan_meteroff = pick([h for h in hh.values()
                                   if any("elderly_alone" in p.tags for p in h.members)
                                   and h.water.mode == "periodic"], rn(4))
        self.plan_gather = pick([h for h in hh.values()
                                 if h.door is not None and h.door.mode == "both"
                                 and h.kind in ("family", "big_family", "elderly_couple")], rn(3))

    def overrides(self) -> None:
        """Turn the plan into per-person windows (before trips are built)."""
        self._override_incidents()
        self._override_controls()

    def _override_incidents(self) -> None:
        r = self.r
        nd, T = self.nd, self.T
        for p in self.plan_falls:
            d = int(r.integers(5, nd - 3))
            x = r.random()
            hr = U(r, 7, 11) if x < 0.4 else (U(r, 14, 21) if x < 0.8 else U(r, 25, 29))
            F = d * DAY + hr * HOUR
            R = F + U(r, 18, 60) * HOUR
            ret = min(R + U(r, 24, 72) * HOUR, T + DAY)
            p.over.append((F, R, "immobile", {}))
            p.over.append((R + 45 * MIN, ret if ret < T else None, "away",
                           {"scope": "city", "rescue": True, "force_null": r.random() < 0.5}))
            p.fall = (F, R, ret)
        for p in self.plan_sick:
            d = int(r.integers(5, nd - 3))
            S = d * DAY + (U(r, 19, 22) if r.random() < 0.6 else U(r, 8, 11)) * HOUR
            E = S + U(r, 20, 48) * HOUR
            p.over.append((S, E, "sick", {}))
            p.sick = (S, E)
        for p in self.plan_wander:
            d = int(r.integers(4, nd - 2))
            if r.random() < 0.35:
                W = d * DAY + U(r, 25, 28.5) * HOUR
                dur = U(r, 4, 10)
            else:
                W = d * DAY + U(r, 9, 17) * HOUR
                dur = U(r, 8, 30)
            E = W + dur * HOUR
            p.over.append((W, E, "away", {"scope": "city", "wander": True,
                                          "side_out": r.random() < max(p.side_p, 0.15)}))
            p.wander = (W, E)
        for i, p in enumerate(self.plan_vanish):
            d = int(r.integers(4, nd - 4))
            V = d * DAY + U(r, 8, 18) * HOUR
            back = V + U(r, 3.5, 5) * DAY if i % 3 == 2 else None
            if back is not None and back >= T:
                back = None
            p.over.append((V, back, "away", {"scope": "city", "vanish": True,
                                             "side_out": r.random() < 0.3}))
            p.vanish = (V, back)

    def _override_controls(self) -> None:
        r = self.r
        nd = self.nd
        self.travel_windows: list[tuple[House, float, float]] = []
        hol = [d for d in range(nd) if self.day(d).holiday]
        for h in self.plan_travel:
            if hol and r.random() < 0.7:
                d = int(r.choice(hol))
            else:
                d = int(r.integers(1, nd - 2))
            L = d * DAY + U(r, 7, 11) * HOUR
            B = L + U(r, 2, 6) * DAY + U(r, -3, 6) * HOUR
            car = any(p.driver for p in h.members) and r.random() < 0.7
            for p in h.members:
                p.over.append((L + U(r, 0, 90), B + U(r, 0, 120), "away",
                               {"scope": "car" if car else "city", "travel": True}))
            self.travel_windows.append((h, L, B))
        for p in self.plan_travel_ea:
            d = int(r.choice(hol)) if hol else int(r.integers(1, nd - 4))
            L = d * DAY + U(r, 8, 11) * HOUR
            B = L + U(r, 3, 6) * DAY
            p.over.append((L, B, "away", {"scope": "city", "travel": True}))
            p.travel_ea = (L, B)
        for p in self.plan_homebody:
            d = int(r.integers(2, nd - 5))
            S = d * DAY + 20 * HOUR
            E = S + U(r, 2, 4) * DAY
            p.over.append((S, E, "home", {}))
            p.homebody = (S, E)

    # ------------------------------------------------------------------ simulate people
    def run_people(self) -> None:
        """Every person's trips and the passes they leave; rescues of the fallen."""
        r = self.r
        for p in self.persons:
            p.trips = self.person_trips(p)
            self.apply_overrides(p)
            p.sleep = self.sleep_windows(p) if p.present else []
            p.ident_out = {}
            for (s, e, scope, ex) in p.trips:
                if s is not None:
                    ok = self.out_passes(p, s, scope, ex)
                    p.ident_out[s] = ok
                if e is not None and e < self.T:
                    if ex.get("wander") or ex.get("rescue"):
                        # escorted back by police / family
                        self.visit_escort(p, e)
                    self.in_passes(p, e, scope, ex)
            if getattr(p, "fall", None):
                F, R, ret = p.fall
                h = p.house
                rescuer = self.anon("FR")
                self.pass_(self.pick_gate(p), R - U(r, 8, 14) * MIN, "in", rescuer, stranger=True)
                if h.building.gate is not None:
                    self.pass_(h.building.gate, R - 5 * MIN, "in", rescuer, stranger=True)
                if h.door is not None:
                    self.pass_(h.door, R - 3 * MIN, "in", rescuer, stranger=True)
                for _ in range(2):  # paramedics, faces unknown
                    self.pass_(self.pick_gate(p), R + U(r, 15, 25) * MIN, "in", None,
                               stranger=True)
                    self.pass_(self.pick_gate(p), R + U(r, 46, 55) * MIN, "out", None,
                               stranger=True)

    def visit_escort(self, p: Person, t: float) -> None:
        g = p.house.grid
        self.pass_(g.cgates[0], t - U(self.r, 60, 300), "in", self.anon("FP"), stranger=True)

    def masks(self, p: Person) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """home, asleep, immobile, sick boolean minute masks."""
        n = self.nmin
        home = np.zeros(n, bool)
        if not p.present:
            return home, home, home, home
        home[:] = True
        for (s, e, _, _) in p.trips:
            a = 0 if s is None else int(s // 60)
            b = n if e is None else int(e // 60)
            home[max(0, a):max(0, min(n, b))] = False
        asleep = np.zeros(n, bool)
        for (s, e) in p.sleep:
            a, b = int(s // 60), int(e // 60)
            asleep[max(0, a):max(0, min(n, b))] = True
        asleep &= home
        imm = np.zeros(n, bool)
        sick = np.zeros(n, bool)
        for (s, e, kind, _) in p.over:
            a, b = int(s // 60), int((e if e is not None else self.T) // 60)
            if kind == "immobile":
                imm[max(0, a):min(n, b)] = True
            elif kind == "sick":
                sick[max(0, a):min(n, b)] = True
        return home, asleep, imm, sick

    def person_water(self, p: Person, home: np.ndarray, asleep: np.ndarray, imm: np.ndarray,
                     sick: np.ndarray, L: np.ndarray, motion_min: np.ndarray) -> None:
        """Add litres per minute used by p to L; mark minutes with motion."""
        r = self.r
        awake = home & ~asleep & ~imm & ~sick
        idx = np.flatnonzero(awake)
        if idx.size:
            m = r.random(idx.size)
            small = idx[m < 1 / 110]
            L[small] += r.uniform(0.5, 3.0, small.size)
            toil = idx[(m >= 1 / 110) & (m < 1 / 110 + 1 / 210)]
            L[toil] += r.choice([3.0, 4.5, 6.0, 9.0], toil.size)
            motion_min[idx] += 1
        nd = self.nd
        old = p.age == "old"
        for d in range(nd):
            base = d * 1440
            for meal in (7.5, 12.0, 18.5):
                mm = base + int((meal + r.normal(0, 0.4)) * 60)
                if 0 <= mm < self.nmin and awake[mm]:
                    L[mm] += U(r, 2, 6)
                    L[min(self.nmin - 1, mm + 40)] += U(r, 3, 8)
            if r.random() < (0.35 if old else 0.65):
                lo = base + (18 if r.random() < 0.7 else 6) * 60
                win = idx[(idx >= lo) & (idx < base + 23 * 60)]
                if win.size:
                    mm = int(r.choice(win))
                    L[mm:mm + 8] += U(r, 35, 70) / 8
            # night toilet
            if r.random() < (0.8 if old else 0.35):
                a = base + 60 + int(r.integers(0, 240))
                if a < self.nmin and asleep[a] and not imm[a] and not sick[a]:
                    L[a] += 6.0
                    motion_min[a] += 1

    def run_houses(self) -> None:
        """Water, power, motion and smoke heartbeats of every house."""
        r = self.r
        n = self.nmin
        for h in self.houses:
            L = np.zeros(n, np.float64)
            motion_min = np.zeros(n, np.int16)
            awake_cnt = np.zeros(n, np.int16)
            sick_min = np.zeros(n, bool)
            for p in h.members:
                home, asleep, imm, sick = self.masks(p)
                self.person_water(p, home, asleep, imm, sick, L, motion_min)
                awake_cnt += (home & ~asleep & ~imm & ~sick)
                sick_min |= sick
            # group-rental tenants
            if h.tenant_home is not None:
                th = h.tenant_home
                idx = np.flatnonzero(th)
                m = r.random(idx.size)
                add = idx[m < th[idx] / 80.0]
                L[add] += r.choice([3.0, 6.0, 1.5, 40.0], add.size, p=[0.4, 0.35, 0.2, 0.05])
                awake_cnt += np.minimum(th, 5).astype(np.int16)
                motion_min += (th > 0)
            # visitors use a little water
            if h.members and any(p.present for p in h.members):
                for d in range(self.nd):
                    if r.random() < 0.35:
                        a = d * 1440 + int(r.integers(9 * 60, 21 * 60))
                        if awake_cnt[a] > 0:
                            L[a:a + 30] += 50 / 30  # laundry
            if h.leak:
                L += h.leak / 60
            self.emit_water(h, L)
            self.emit_power(h, awake_cnt)
            if h.motion is not None:
                self.emit_motion(h, motion_min, sick_min)
            if h.smoke is not None:
                for d in range(self.nd):
                    t = d * DAY + h.smoke.hour * HOUR + U(r, 0, 60)
                    self.iot.append((t, h.smoke.did, "heartbeat", 1, None,
                                     round(0.95 - 0.002 * d, 3), "plain"))

    def emit_water(self, h: House, L: np.ndarray) -> None:
        """Meter readings from litres per minute: periodic or report-on-use."""
        r = self.r
        w = h.water
        cum = np.cumsum(L) / 1000.0
        marks = np.arange(w.phase + w.cad, self.nmin + 1, w.cad)
        off = np.zeros(marks.size, bool)
        for (a, b) in h.meter_off:
            off |= (marks * 60 >= a) & (marks * 60 < b)
        prev = 0.0
        last_emit = 0
        for i, mk in enumerate(marks):
            if off[i]:
                continue
            c = math.floor(cum[mk - 1] / w.res + 1e-9) * w.res
            delta = round(c - prev, 3)
            t = mk * 60 + U(r, 0, 25)
            if w.mode == "on_use" and delta <= 0:
                if w.hb and t - last_emit >= 6 * HOUR:
                    self.iot.append((t, w.did, "heartbeat", 1, None, None, w.style))
                    last_emit = t
                continue
            prev = c
            last_emit = t
            self.iot.append((t, w.did, "water", delta, w.unit or None, None, w.style))

    def emit_power(self, h: House, awake_cnt: np.ndarray) -> None:
        if h.power is None:
            return
        r = self.r
        base = U(r, 0.04, 0.12)
        per = np.add.reduceat(awake_cnt.astype(np.float64), np.arange(0, self.nmin, 60)) / 60.0
        kwh = base + per * U(r, 0.12, 0.3) + r.gamma(1.0, 0.03, per.size)
        cum = np.cumsum(kwh)
        prev = 0.0
        for i in range(per.size):
            c = math.floor(cum[i] * 100) / 100
            self.iot.append(((i + 1) * HOUR + U(r, 0, 40), h.power.did, "power",
                             round(c - prev, 2), "kWh", None, h.power.style))
            prev = c

    def emit_motion(self, h: House, motion_min: np.ndarray, sick_min: np.ndarray) -> None:
        r = self.r
        nb = self.nmin // 5
        act = motion_min[: nb * 5].reshape(nb, 5).sum(1) > 0
        sk = sick_min[: nb * 5].reshape(nb, 5).any(1)
        u = r.random(nb)
        emit = (act & (u < 0.55)) | (sk & ~act & (u < 0.03))
        bat = U(r, 0.5, 1.0)
        for b in np.flatnonzero(emit):
            self.iot.append((b * 300 + U(r, 0, 299), h.motion.did, "motion", 1, None,
                             round(bat, 2), "ms"))

    # ------------------------------------------------------------------ visitors, couriers, carers
    def run_visitors(self) -> None:
        r = self.r
        couriers: dict[str, list[str]] = {}
        for g in self.grids:
            pool = couriers.setdefault(g.street, [self.anon("FD") for _ in range(12)])
            occupied = [h for h in g.houses if any(p.present for p in h.members)]
            for d in range(self.nd):
                di = self.day(d)
                f = 0.3 if di.holiday else 1.0
                n = r.poisson(len(occupied) * g.courier_rate * f)
                for _ in range(n):
                    x = r.random()
                    hr = (r.normal(12, 0.6) if x < 0.35
                          else (r.normal(18.3, 0.8) if x < 0.7 else U(r, 9, 21)))
                    t = d * DAY + float(hr) * HOUR
                    cid = pool[int(r.integers(len(pool)))] if r.random() < 0.8 else self.anon("FD")
                    gate = g.cgates[int(r.integers(len(g.cgates)))]
                    self.pass_(gate, t, "in", cid, stranger=True)
                    self.pass_(gate, t + U(r, 3, 12) * MIN, "out", cid, stranger=True)
                for h in occupied:
                    self._home_visits(h, d, di)

    def _home_visits(self, h: House, d: int, di: Obj) -> None:
        """Relatives and friends (more on holidays), and the carer, on day d."""
        r = self.r
        pv = 0.35 if di.holiday else 0.08
        if r.random() < pv:
            k = int(r.integers(1, 5 if di.holiday else 3))
            t = d * DAY + U(r, 9.5, 19) * HOUR
            dur = U(r, 1, 5) * HOUR
            home = self.someone_home(h, t + 60)
            for _ in range(k):
                vid = self.anon("FV") if r.random() < 0.85 else None
                if home:
                    self.visit(h, vid, t + U(r, 0, 120), t + dur + U(r, 0, 120))
                else:  # nobody answers: they leave again
                    self.visit(h, vid, t, t + U(r, 3, 10) * MIN, door=False)
        if h.carer and r.random() < 0.85 and any(p.present for p in h.members):
            t = d * DAY + U(r, 8.5, 10.5) * HOUR
            if self.someone_home(h, t + 60):
                self.visit(h, h.carer, t, t + U(r, 1, 2.5) * HOUR)
            else:
                self.visit(h, h.carer, t, t + U(r, 3, 10) * MIN, door=False)

    def someone_home(self, h: House, t: float) -> bool:
        """Someone able to open the door is at home at t."""
        for p in h.members:
            if not p.present:
                continue
            if any((s is None or s <= t) and (e is None or t < e) for (s, e, _, _) in p.trips):
                continue
            if any(k in ("immobile", "sick") and s <= t < (e if e is not None else self.T)
                   for (s, e, k, _) in p.over):
                continue
            return True
        return False

    # ------------------------------------------------------------ incidents not about residents
    def run_crowds(self) -> None:
        r = self.r
        n = max(1, int(round(5 * self.a.persons / 2000 * self.a.incident_scale)))
        grids = [self.grids[i] for i in r.choice(len(self.grids), n, replace=False)]
        for g in grids:
            gate = g.cgates[int(r.integers(len(g.cgates)))]
            d = int(r.integers(5, self.nd - 1))
            S = d * DAY + U(r, 9, 20.5) * HOUR
            size = int(r.integers(30, 121))
            spread = U(r, 10, 40) * MIN
            stay = U(r, 40, 150) * MIN
            last = S
            kind = str(r.choice(["health_product_sales", "wage_protest", "wedding_banquet",
                                 "dispute"]))
            for _ in range(size):
                vid = self.anon("FX") if r.random() < 0.85 else None
                t = S + U(r, 0, spread)
                self.pass_(gate, t, "in", vid, stranger=True)
                to = t + stay + U(r, -15, 30) * MIN
                self.pass_(gate, to, "out", vid, stranger=True)
                last = max(last, to)
            self.truth.append(dict(kind="crowd", subject_type="gate", subject_id=gate.gid,
                                   grid_id=g.gid, start=iso(self.t0 + S), end=iso(self.t0 + last),
                                   detail={"scenario": kind, "people": size,
                                           "arrival_minutes": round(spread / 60, 1)}))

    def run_rentals(self) -> None:
        """Sublets: 8-14 tenants move in, go to work and come back every day."""
        r = self.r
        for h in self.plan_rental:
            h.tenant_home = np.zeros(self.nmin, np.int16)
            d0 = int(r.integers(min(4, self.nd // 3),
                                max(min(4, self.nd // 3) + 1, self.nd - 7)))
            K = int(r.integers(8, 15))
            first = None
            for _ in range(K):
                arrive = self._rental_tenant(h, d0)
                first = arrive if first is None else min(first, arrive)
            # remove sleep (00:00-06:00) from water use weight
            tod = np.arange(self.nmin) % 1440
            h.tenant_home = np.where((tod >= 60) & (tod < 360), 0, h.tenant_home).astype(np.int16)
            self.truth.append(dict(kind="group_rental", subject_type="house", subject_id=h.hid,
                                   grid_id=h.grid.gid, start=iso(self.t0 + first),
                                   end=iso(self.t0 + self.T),
                                   detail={"scenario": "sublet_to_many", "tenants": K,
                                           "registered_occupants": len(h.members),
                                           "door_mode": h.door.mode}))

    def _rental_tenant(self, h: House, d0: int) -> float:
        """One tenant's passes and minutes at home (h.tenant_home); returns the arrival."""
        r = self.r
        tid = self.anon("FT")
        arrive = d0 * DAY + U(r, 10, 21) * HOUR + (DAY if r.random() < 0.4 else 0)
        self.tenant_pass(h, tid, arrive, "in")
        night = r.random() < 0.2
        t_home = arrive
        d = int(arrive // DAY) + 1
        while d < self.nd:
            if night:
                out = d * DAY + U(r, 19, 21) * HOUR
                back = (d + 1) * DAY + U(r, 6, 8) * HOUR
            else:
                out = d * DAY + U(r, 6.3, 9.5) * HOUR
                back = d * DAY + U(r, 18, 23.5) * HOUR
            if r.random() < 0.12:  # day off
                d += 1
                continue
            self.tenant_pass(h, tid, out, "out")
            a, b = int(t_home // 60), int(out // 60)
            h.tenant_home[a:b] += 1
            if back < self.T:
                self.tenant_pass(h, tid, back, "in")
            t_home = back
            d += 1
        a = int(t_home // 60)
        if a < self.nmin:
            h.tenant_home[a:] += 1
        return arrive

    def run_gatherings(self) -> None:
        r = self.r
        fest = ([d for d in range(self.nd) if self.day(d).festival]
                or [int(r.integers(1, self.nd - 1))])
        for h in self.plan_gather:
            d = int(r.choice(fest))
            S = d * DAY + U(r, 10, 16) * HOUR
            E = S + U(r, 4, 8) * HOUR
            k = int(r.integers(8, 15))
            for _ in range(k):
                self.visit(h, self.anon("FV") if r.random() < 0.9 else None, S + U(r, 0, 5400),
                           E + U(r, 0, 3600))
            self.controls.append(dict(kind="control:family_gathering", subject_type="house",
                                      subject_id=h.hid, grid_id=h.grid.gid,
                                      start=iso(self.t0 + S), end=iso(self.t0 + E + 2 * HOUR),
                                      detail={"visitors": k}))

    def run_reports(self) -> None:
        """Everyday reports and patrol batches per grid, then the report clusters."""
        self._routine_reports()
        self._report_clusters()

    def _routine_reports(self) -> None:
        r = self.r
        for g in self.grids:
            for d in range(self.nd):
                for _ in range(r.poisson(g.report_rate)):
                    hr = U(r, 8, 20) if r.random() < 0.9 else U(r, 0, 24)
                    self.report(g, d * DAY + hr * HOUR, str(r.choice(CATEGORIES)),
                                str(r.choice(["grid_worker", "citizen", "police", "system"],
                                             p=[.5, .35, .05, .1])),
                                g.lat + U(r, -.004, .004), g.lon + U(r, -.004, .004))
                if g.patrol and self.day(d).work:
                    k = int(r.integers(3, 9))
                    t = d * DAY + U(r, 8.8, 9.5) * HOUR
                    la, lo = g.lat + U(r, -.003, .003), g.lon + U(r, -.003, .003)
                    t_first = t
                    for _ in range(k):
                        t += U(r, 8, 30) * MIN
                        la += U(r, -.0012, .0012)
                        lo += U(r, -.0012, .0012)
                        self.report(g, t, str(r.choice(CATEGORIES)), "grid_worker", la, lo,
                                    reporter=g.worker)
                    self.controls.append(dict(kind="control:patrol_batch", subject_type="grid",
                                              subject_id=g.gid, grid_id=g.gid,
                                              start=iso(self.t0 + t_first),
                                              end=iso(self.t0 + t), detail={"reports": k}))

    def _report_clusters(self) -> None:
        r = self.r
        n = max(1, int(round(8 * self.a.persons / 2000 * self.a.incident_scale)))
        for _ in range(n):
            g = self.grids[int(r.integers(len(self.grids)))]
            d = int(r.integers(3, self.nd))
            S = d * DAY + U(r, 7, 22.5) * HOUR
            k = int(r.integers(5, 13))
            dur = U(r, 20, 90) * MIN
            la, lo = g.lat + U(r, -.003, .003), g.lon + U(r, -.003, .003)
            kind = str(r.choice(["water_main_burst", "fire", "dispute", "gas_smell"]))
            cat = {"water_main_burst": "water_leak", "fire": "fire_hazard", "dispute": "dispute",
                   "gas_smell": "fire_hazard"}[kind]
            times = np.sort(r.uniform(0, dur, k))
            times[0] = 0
            for tt in times:
                src = str(r.choice(["citizen", "grid_worker", "police", "system"],
                                   p=[.6, .2, .1, .1]))
                c = cat if r.random() < 0.8 else str(r.choice(CATEGORIES))
                self.report(g, S + tt, c, src, la + U(r, -.0007, .0007), lo + U(r, -.0007, .0007),
                            text=TEXTS["smoke"] if kind == "fire" else None)
            if kind == "fire":
                smk = [h.smoke for h in g.houses if h.smoke is not None]
                if smk:
                    self.iot.append((S - 120, smk[0].did, "smoke", 1, None, 0.9, "plain"))
                    self.iot.append((S + dur, smk[0].did, "smoke", 0, None, 0.9, "plain"))
            self.truth.append(dict(kind="event_cluster", subject_type="grid", subject_id=g.gid,
                                   grid_id=g.gid, start=iso(self.t0 + S),
                                   end=iso(self.t0 + S + dur),
                                   detail={"scenario": kind, "reports": k}))

    def report(self, g: Grid, t: float, cat: str, src: str, lat: float | None,
               lon: float | None, reporter: str | None = None, text: str | None = None) -> None:
        r = self.r
        if r.random() < 0.15:
            lat = lon = None
        style = "utcZs" if src == "system" else str(r.choice(["plain", "ms"]))
        if reporter is None and src in ("grid_worker",):
            reporter = g.worker
        self.reports.append((t, g.gid, cat, src, lat, lon, text or TEXTS.get(cat, ""), reporter,
                             style))

    # ------------------------------------------------------------------ truth & controls
    def _iso_clipped(self, x: float) -> str:
        """iso() of relative time x, clipped at the end of the run."""
        return iso(self.t0 + min(x, self.T))

    def write_truth(self) -> None:
        self._truth_presence()
        self._controls_planned()
        self._controls_standing()

    def _truth_presence(self) -> None:
        """Falls, sickness, wandering, vanishing and unusual hours."""
        T = self.T
        e = self._iso_clipped

        def seen_out(p: Person, s: float) -> bool:
            return bool(p.ident_out.get(s, False))

        for p in self.plan_falls:
            F, R, ret = p.fall
            self.truth.append(dict(kind="stay_in", subject_type="person", subject_id=p.pid,
                                   grid_id=p.house.grid.gid, start=e(F), end=e(ret),
                                   detail={"scenario": "fall_at_home", "house_id": p.house.hid,
                                           "person_id": p.pid, "rescued_at": e(R),
                                           "door": p.house.door.mode if p.house.door else None,
                                           "also": ["no_usage", "out_no_return", "long_absent"]}))
        for p in self.plan_sick:
            S, E = p.sick
            self.truth.append(dict(kind="no_usage", subject_type="house", subject_id=p.house.hid,
                                   grid_id=p.house.grid.gid, start=e(S), end=e(E),
                                   detail={"scenario": "sick_in_bed", "person_id": p.pid,
                                           "meter": p.house.water.mode,
                                           "cadence_min": p.house.water.cad,
                                           "also": ["stay_in"]}))
        for p in self.plan_wander:
            W, E = p.wander
            so = seen_out(p, W)
            self.truth.append(dict(kind="out_no_return", subject_type="person", subject_id=p.pid,
                                   grid_id=p.house.grid.gid, start=e(W), end=e(E),
                                   detail={"scenario": "dementia_wandering", "out_recorded": so,
                                           "hours": round((E - W) / HOUR, 1),
                                           "alone": "elderly_alone" in p.tags,
                                           "also": ["long_absent"] + ([] if so else ["stay_in"])}))
        for p in self.plan_vanish:
            V, B = p.vanish
            so = seen_out(p, V)
            self.truth.append(dict(kind="long_absent", subject_type="person", subject_id=p.pid,
                                   grid_id=p.house.grid.gid, start=e(V), end=e(B if B else T),
                                   detail={"scenario": "vanished", "out_recorded": so,
                                           "tags": ";".join(p.tags), "returned": B is not None,
                                           "also": ["out_no_return"] if so else ["stay_in"]}))
        for p in self.plan_unusual:
            d = p.unusual_from
            first = min(s for (s, _, _, _) in p.trips
                        if s is not None and s >= d * DAY + 21 * HOUR)
            self.truth.append(dict(kind="unusual_hours", subject_type="person", subject_id=p.pid,
                                   grid_id=p.house.grid.gid, start=e(first), end=e(T),
                                   detail={"scenario": "night_shift_in_habits", "role": p.role,
                                           "tags": ";".join(p.tags)}))

    def _controls_planned(self) -> None:
        """Travellers, homebodies and offline meters chosen by plan()."""
        e = self._iso_clipped
        for (h, L, B) in self.travel_windows:
            for p in h.members:
                self.controls.append(dict(kind="control:healthy_traveller", subject_type="person",
                                          subject_id=p.pid, grid_id=h.grid.gid, start=e(L),
                                          end=e(B + 3 * HOUR),
                                          detail={"tags": ";".join(p.tags), "house_id": h.hid,
                                                  "days": round((B - L) / DAY, 1)}))
            self.controls.append(dict(kind="control:vacant_while_travelling",
                                      subject_type="house", subject_id=h.hid, grid_id=h.grid.gid,
                                      start=e(L), end=e(B + 3 * HOUR), detail={}))
        for p in self.plan_travel_ea:
            L, B = p.travel_ea
            self.controls.append(dict(kind="control:traveller_elderly_alone",
                                      subject_type="person", subject_id=p.pid,
                                      grid_id=p.house.grid.gid, start=e(L), end=e(B),
                                      detail={"house_id": p.house.hid,
                                              "days": round((B - L) / DAY, 1),
                                              "note": "indistinguishable from a vanishing by "
                                                      "passes"}))
        for p in self.plan_homebody:
            S, E = p.homebody
            self.controls.append(dict(kind="control:homebody", subject_type="person",
                                      subject_id=p.pid, grid_id=p.house.grid.gid, start=e(S),
                                      end=e(E), detail={"house_id": p.house.hid,
                                                        "water": "normal"}))
        for h in self.plan_meteroff:
            for (a, b) in h.meter_off:
                self.controls.append(dict(kind="control:meter_offline", subject_type="house",
                                          subject_id=h.hid, grid_id=h.grid.gid, start=e(a),
                                          end=e(b), detail={"device_id": h.water.did}))

    def _controls_standing(self) -> None:
        """Whole-run controls: shift workers, absentees, drivers, side exits, big or empty homes."""
        T = self.T
        e = self._iso_clipped
        for p in self.persons:
            grid_id = p.house.grid.gid
            if p.present and p.unusual_from is None and p.role in ("late", "nightshift"):
                kind = "late_sleeper" if p.role == "late" else "night_shift"
                self.controls.append(dict(kind=f"control:{kind}", subject_type="person",
                                          subject_id=p.pid, grid_id=grid_id, start=e(0), end=e(T),
                                          detail={"tags": ";".join(p.tags)}))
            if not p.present:
                self.controls.append(dict(kind="control:registered_not_resident",
                                          subject_type="person", subject_id=p.pid,
                                          grid_id=grid_id, start=e(0), end=e(T),
                                          detail={"house_kind": p.house.kind,
                                                  "tags": ";".join(p.tags)}))
            elif p.driver:
                self.controls.append(dict(kind="control:driver", subject_type="person",
                                          subject_id=p.pid, grid_id=grid_id, start=e(0), end=e(T),
                                          detail={"door": p.house.door.mode if p.house.door
                                                  else None}))
            elif p.side_p >= 0.5:
                self.controls.append(dict(kind="control:side_exit_habit", subject_type="person",
                                          subject_id=p.pid, grid_id=grid_id, start=e(0), end=e(T),
                                          detail={"side_p": p.side_p}))
        for h in self.houses:
            if len(h.members) >= 6:
                self.controls.append(dict(kind="control:large_family", subject_type="house",
                                          subject_id=h.hid, grid_id=h.grid.gid, start=e(0),
                                          end=e(T),
                                          detail={"members": len(h.members),
                                                  "door": h.door.mode if h.door else None}))
            if h.kind in ("vacant", "empty") and h not in self.plan_rental:
                self.controls.append(dict(kind="control:vacant_home", subject_type="house",
                                          subject_id=h.hid, grid_id=h.grid.gid, start=e(0),
                                          end=e(T), detail={"registered": len(h.members)}))

    # ------------------------------------------------------------------ output
    def write(self, out: str) -> dict[str, Any]:
        """Write registry, feed, truth, controls and meta.json; returns the meta."""
        os.makedirs(os.path.join(out, "registry"), exist_ok=True)
        self._write_registry(os.path.join(out, "registry"))
        lines, keys, real = self._feed_lines()
        self._write_feed(os.path.join(out, "feed.jsonl"), lines, keys, real)
        with open(os.path.join(out, "truth.jsonl"), "w", encoding="utf-8") as f:
            for t in sorted(self.truth, key=lambda x: x["start"]):
                f.write(dumps(t) + "\n")
        with open(os.path.join(out, "controls.jsonl"), "w", encoding="utf-8") as f:
            for t in self.controls:
                f.write(dumps(t) + "\n")
        meta = dict(seed=self.a.seed, persons=len(self.persons),
                    present=sum(p.present for p in self.persons),
                    houses=len(self.houses), grids=len(self.grids), gates=len(self.gates),
                    devices=len(self.devices), start=self.a.start, days=self.nd,
                    access=len(self.access), iot=len(self.iot), reports=len(self.reports),
                    lines=len(lines), truth=len(self.truth), controls=len(self.controls))
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        return meta

    def _write_registry(self, reg: str) -> None:
        _write_csv(os.path.join(reg, "grids.csv"),
                   ["grid_id", "community_id", "street_id", "district_id", "city_id",
                    "worker_id", "police_id", "name"],
                   [[g.gid, g.community, g.street, g.district, g.city, g.worker, g.police, g.name]
                    for g in self.grids])
        _write_csv(os.path.join(reg, "houses.csv"),
                   ["house_id", "grid_id", "building_id", "registered_occupants", "lat", "lon",
                    "remark"],
                   [[h.hid, h.grid.gid, h.building.bid, len(h.members), f"{h.lat:.6f}",
                     f"{h.lon:.6f}", h.remark] for h in self.houses])
        _write_csv(os.path.join(reg, "persons.csv"),
                   ["tags", "person_id", "house_id"],  # column order differs on purpose
                   [[";".join(p.tags), p.pid, p.house.hid] for p in self.persons])
        _write_csv(os.path.join(reg, "gates.csv"),
                   ["gate_id", "grid_id", "house_id", "lat", "lon"],
                   [[gt.gid, gt.grid.gid, gt.house.hid if gt.house else "", f"{gt.lat:.6f}",
                     f"{gt.lon:.6f}"] for gt in self.gates])
        _write_csv(os.path.join(reg, "devices.csv"), ["device_id", "house_id", "grid_id"],
                   self.devices)

    def _feed_lines(self) -> tuple[list[dict], list[float], list[float]]:
        """Feed objects with their send time (key) and event time (real); IoT resends."""
        r = self.r
        t0 = self.t0
        lines: list[dict] = []
        keys: list[float] = []
        real: list[float] = []
        n = 0
        for (t, gate, dr, method, who, conf, plate) in self.access:
            o = {"event_id": f"ac{n:08x}{int(r.integers(0, 65536)):04x}",
                 "ts": fmt_ts(t0 + t, gate.style), "gate_id": gate.gid, "direction": dr,
                 "method": method}
            if who is not None or not gate.omit:
                o["person_id"] = who
            if conf is not None:
                o["confidence"] = conf
            if plate:
                o["plate"] = plate
            o["stream"] = "access"
            lines.append(o)
            keys.append(t)
            real.append(t)
            n += 1
        for (t, did, metric, value, unit, bat, style) in self.iot:
            o = {"event_id": f"iot-{n}", "ts": fmt_ts(t0 + t, style), "device_id": did,
                 "metric": metric, "value": value}
            if unit:
                o["unit"] = unit
            if bat is not None:
                o["battery"] = bat
            o["stream"] = "iot"
            lines.append(o)
            keys.append(t)
            real.append(t)
            n += 1
            if r.random() < 0.001:  # gateway resend
                lines.append(o)
                keys.append(t + U(r, 5, 200))
                real.append(t)
        for (t, gid, cat, src, lat, lon, text, reporter, style) in self.reports:
            o = {"event_id": f"RPT{n:09d}", "ts": fmt_ts(t0 + t, style), "grid_id": gid,
                 "category": cat, "source": src}
            if lat is not None:
                o["lat"], o["lon"] = round(lat, 6), round(lon, 6)
            if text:
                o["text"] = text
            if reporter:
                o["reporter_id"] = reporter
            o["stream"] = "report"
            lines.append(o)
            keys.append(t)
            real.append(t)
            n += 1
        return lines, keys, real

    def _write_feed(self, path: str, lines: list[dict], keys_: list[float],
                    real: list[float]) -> None:
        """Lines in arrival order: 8 % late by up to 280 s (never more than 285 s)."""
        r = self.r
        keys = np.array(keys_)
        late = r.random(keys.size) < 0.08
        arrival = np.minimum(keys + np.where(late, r.uniform(0, 280, keys.size), 0.0),
                             np.array(real) + 285)
        order = np.argsort(arrival, kind="stable")
        with open(path, "w", encoding="utf-8") as f:
            buf = []
            for i in order:
                buf.append(dumps(lines[i]))
                if len(buf) >= 20000:
                    f.write("\n".join(buf) + "\n")
                    buf = []
            if buf:
                f.write("\n".join(buf) + "\n")

    def _dump_trips(self, path: str) -> None:
        def at(x: float | None) -> str | None:
            return iso(self.t0 + x) if x is not None else None

        with open(path, "w") as f:
            for p in self.persons:
                f.write(dumps({"pid": p.pid, "house": p.house.hid, "role": p.role,
                               "tags": p.tags, "present": p.present,
                               "side_p": round(p.side_p, 2),
                               "trips": [[at(s), at(e), sc, sorted(k for k in ex)]
                                         for (s, e, sc, ex) in p.trips]}) + "\n")

    def run(self, out: str) -> dict[str, Any]:
        """Simulate the whole city and write it to out; returns the meta."""
        os.makedirs(out, exist_ok=True)
        self.build()
        for h in self.houses:
            h.tenant_home = None
        self.plan()
        self.overrides()
        r = self.r
        for h in self.plan_meteroff:
            d = int(r.integers(2, self.nd - 2))
            a = d * DAY + U(r, 0, 20) * HOUR
            h.meter_off.append((a, a + U(r, 12, 30) * HOUR))
        self.run_people()
        self.run_rentals()
        self.run_houses()
        self.run_visitors()
        self.run_gatherings()
        self.run_crowds()
        self.run_reports()
        self.write_truth()
        if self.a.dump_trips:
            self._dump_trips(os.path.join(out, "trips.jsonl"))
        return self.write(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--persons", type=int, default=2000)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2027-01-25")
    ap.add_argument("--incident-scale", type=float, default=1.0)
    ap.add_argument("--dump-trips", action="store_true",
                    help="also write trips.jsonl (for diagnosis)")
    a = ap.parse_args()
    if a.days < MIN_DAYS:
        ap.error(f"--days must be at least {MIN_DAYS}")
    meta = City(a).run(a.out)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
