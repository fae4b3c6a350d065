#!/usr/bin/env python3
"""other_city — a second, independently written city simulator for gridwatch.

Purpose
-------
Produce a recorded feed (``feed.jsonl``), a registry and a ground truth of incidents
(``truth.jsonl``) plus negative controls (``controls.jsonl``) so that the detectors can
be checked on data whose author never saw them.  Only the integration contract was used.

Usage::

    .venv/bin/python bench/other_city.py --out DIR [--persons 2000] [--days 21]
        [--seed 1] [--start 2027-09-06] [--dump-trips]

Same arguments -> same bytes (one numpy Generator + one ``random.Random`` per concern,
every dict/set iterated in sorted order).

The model (and why)
-------------------
*Geography.*  A fictional prefecture city (admin-code style ids: district ``130102``,
street ``130102007``, community ``130102007012``, grid ``130102007012-G03``).  Compounds
(小区) come in three kinds, cycled until enough homes exist:

* ``old``   1990s walk-ups (6 floors, no lift): one guarded gate with face+IC-card reader
  that records exits poorly (gate often propped open by day), a plate barrier, and an
  *unmonitored side exit* (a gap in the fence used by ~35 % of residents); only a third
  of the buildings got unit-door card readers; many elderly use IC cards, some share one
  card in the household; smart locks are rare.
* ``new``   2010s high-rises: two face gates (both directions), an underground-garage plate
  gate (drivers never touch the pedestrian gates; passengers are never recorded), face
  readers on every unit door (entry only: exit is a push button), ~25 % smart locks.
* ``resettle`` 安置房: face main gate, a card-only side gate, half the units with readers,
  many tenants.

Grids (网格) are filled building by building with ~200–280 households, 2–3 grids form a
community, two communities a street.

*People.*  Households are sampled from an urban-China mix (elderly alone 9 %, elderly
couples, young couples, 1–2 child families, three-generation, shared rentals, ...).
Archetypes drive routines: commuters (some by car), gig riders, night-shift workers,
late sleepers, homemakers, active / home-bound / frail retirees, people with dementia
(only go out accompanied), pupils escorted by grandparents or parents, high-school
students with evening self-study.  Weekends, the Mid-Autumn holiday (lookup table), rain
days and daylight (wake / morning walk times follow sunrise) modulate routines.  Many
elderly spend days inside the compound garden only (no gate pass at all).  Registry
realism: some registered people live elsewhere (人户分离), some residents are not
registered (their faces get stable anonymous ids), grid workers tag elderly-alone people
differently per grid (with or without ``elderly``).

*Access control.*  Every trip is walked through the gates: smart lock (inside opening
logged without a person), unit door (entry only), community gate or garage.  Each pass is
recorded with a per-gate/direction probability (tailgating, gate held open, family members
following one another), and a recorded face is matched with a per-person x per-gate
probability (hats, masks, night IR), else ``person_id`` is null; 0.3 % are matched to the
wrong (look-alike) person; cards and plates report their *owner*.  Visitors (QR codes or
stranger captures), couriers and food riders (stable anonymous rider ids), carers,
ambulances, police cars and fire engines appear too.

*Home devices.*  Occupancy is computed per minute (away / asleep / awake / incapacitated)
and drives water (Poisson draws + showers, cooking, laundry, night toilet trips), power
(base, activity, light after sunset, cooking, air conditioning when hot, electric water
heaters) and PIR motion.  Meter models: hourly (1 L or 10 L register resolution), 15-min
power, daily single values, report-on-use water meters (one reading per flow episode,
capped at one hour, plus 12 h heartbeats).  Values are deltas of a *quantised register*
since the previous transmitted reading: a reading lost in the network loses its delta,
a reading the device could not send is folded into the next one (so outages end with a
catch-up "spike").  Devices have clock skew (mostly ~2 s, 10 % up to 1 min, 2 % up to
2 min: ``ts`` is the device clock), background outages (NB-IoT coverage, Zigbee gateway
unplugged, a power-line concentrator silencing a whole building's power meters) and
batteries.  Smoke detectors heartbeat daily (NB-IoT) or hourly (Zigbee), gas detectors
report %LEL hourly, door contacts report open (1) and close (0), PIRs report motion with
a 3-5 min hardware blind time.  Feed order = stamped ``ts`` + transport delay: seconds
of jitter everywhere, 0.5 % of IoT lines and 3 % of gate lines (a gate that buffered)
arrive 10-110 s late; 0.05 % of IoT messages are delivered twice (same ``event_id``).
Public devices: manhole tilt, hydrant pressure, garage water level, e-bike charging-shed
temperature, stairwell smoke.

*Incidents* (ground truth) — rates per 2,000 persons x 21 days, scaled: 8 falls at home
(elderly alone and with family away / asleep, any hour, found by a relative, grid worker
or neighbour 3-30 h later, then carried to an ambulance without any recorded exit),
8 out-no-return (dementia wandering day and night, elderly lost outside), 8 long absences
(key person vanishing, sometimes via the unmonitored exit; elderly alone taken away by
ambulance at night; tenants leaving without notice), 8 no-usage (elderly alone ill in bed,
some with a rare toilet flush), 8 unusual-hours shifts (key persons / tenants), 3 crowds,
3 group rentals (fingerprint lock, shared-password lock, no lock), 3 report clusters
(fire, flood, dispute), 5 sensor anomalies (running toilet, burst pipe, heater stuck on),
5 sensor thresholds (kitchen fire, cooking smoke, gas leak, e-bike shed), 6 device
offline (battery death, module failure, gateway unplugged).  ``end`` is when a rescuer /
family truly arrives or the fault is repaired (``detail.unresolved`` when never).

*Controls* are look-alikes: travelling adults, elderly visiting children, people
registered elsewhere, vacant homes, late sleepers, elderly staying home for days with
normal water use, compound-only walkers, stable night-shift workers, accompanied
dementia day trips, family gatherings, renovation crews, daily carers, bath/laundry
spikes, daily-reporting meters, school-rush and holiday-visitor peaks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TZ = dt.timezone(dt.timedelta(hours=8))
HOUR = 3600
DAY = 86400
CITY_LAT, CITY_LON = 38.04, 114.51
MID_AUTUMN = {2025: (10, 6), 2026: (9, 25), 2027: (9, 15), 2028: (10, 3), 2029: (9, 22),
              2030: (9, 12), 2031: (10, 1), 2032: (9, 19)}
PROVINCE_PLATE = "冀A"
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

# (household type, weight) per compound kind; weights are percentages.
HH_MIX = {
    "old": [("elderly_alone", 13), ("elderly_couple", 18), ("single", 8), ("couple", 8),
            ("family1", 18), ("family2", 5), ("three_gen", 12), ("shared_rent", 8),
            ("single_parent", 4), ("adult_with_parent", 6)],
    "new": [("elderly_alone", 5), ("elderly_couple", 9), ("single", 12), ("couple", 13),
            ("family1", 29), ("family2", 10), ("three_gen", 12), ("shared_rent", 5),
            ("single_parent", 3), ("adult_with_parent", 2)],
    "resettle": [("elderly_alone", 11), ("elderly_couple", 15), ("single", 9), ("couple", 8),
                 ("family1", 20), ("family2", 6), ("three_gen", 13), ("shared_rent", 12),
                 ("single_parent", 3), ("adult_with_parent", 3)],
}
RENT_RATE = {"old": 0.2, "new": 0.15, "resettle": 0.3}
VACANT_RATE = {"old": 0.06, "new": 0.11, "resettle": 0.05}

# sleep (bed hour, wake hour) by archetype; bed > 24 means after midnight
SLEEP = {"commuter": (23.2, 6.8), "gig": (24.6, 8.4), "night_shift": (8.6, 15.3),
         "irregular": (24.8, 9.4), "late_sleeper": (26.0, 11.6), "homemaker": (22.8, 6.4),
         "retired_active": (21.6, 5.5), "retired_home": (21.8, 6.1), "frail": (21.0, 6.6),
         "dementia": (20.6, 6.0), "secondary": (22.8, 6.2), "primary": (21.2, 6.7),
         "preschool": (20.8, 7.0), "infant": (20.4, 6.6), "nocturnal": (7.2, 14.8)}

# water use: per-minute rate of small draws per awake person, by hour of day
WATER_PROFILE = np.array([0.5, 0.3, 0.3, 0.3, 0.4, 0.9, 2.0, 2.2, 1.5, 1.0, 0.9, 1.3,
                          1.4, 0.9, 0.7, 0.7, 0.8, 1.2, 1.6, 1.6, 1.4, 1.2, 1.0, 0.7])

REPORT_KINDS = {
    "grid_worker": [("fire_hazard", "楼道堆放杂物", 4), ("fire_hazard", "电动车楼道充电", 3),
                    ("sanitation", "垃圾桶满溢", 4), ("sanitation", "楼道小广告", 3),
                    ("illegal_parking", "消防通道被占用", 3), ("facility", "路灯损坏", 2),
                    ("visit", "走访独居老人，情况正常", 5), ("safety_check", "燃气安全检查", 2),
                    ("facility", "单元门禁故障", 1)],
    "citizen": [("noise", "装修噪音扰民", 3), ("sanitation", "垃圾未及时清运", 3),
                ("pet", "犬只未拴绳", 2), ("water_leak", "楼上漏水", 1),
                ("illegal_parking", "车辆乱停堵门", 3), ("fire_hazard", "楼道有人充电", 1),
                ("facility", "电梯故障", 2)],
    "police": [("dispute", "家庭纠纷调解", 2), ("public_order", "醉酒滋事", 1),
               ("traffic", "小区门口剐蹭", 1)],
    "system": [("device_alarm", "设备低电量告警", 2), ("device_alarm", "门禁通信中断", 1)],
}


# --------------------------------------------------------------------------- model types

def _maybe(out: list, r: random.Random, share: float, start: tuple[float, float],
           length: tuple[float, float], purpose: str, route: str) -> None:
    """On ``share`` of days, an outing starting within ``start`` (local hours) that lasts
    within ``length`` hours: the shape of most routine trips."""
    if r.random() < share:
        s = r.uniform(*start)
        out.append((s, s + r.uniform(*length), purpose, route))

@dataclass
class Grid:
    grid_id: str
    community_id: str
    street_id: str
    district_id: str
    city_id: str
    worker_id: str
    police_id: str
    name: str
    tag_both: bool = True  # grid's habit: tag elderly-alone people also "elderly"
    buildings: list = field(default_factory=list)


@dataclass
class Gate:
    gate_id: str
    grid_id: str
    kind: str  # ped | vehicle | unit | lock
    lat: float
    lon: float
    house_id: str = ""
    methods: tuple = ("face",)
    rec_in: float = 0.95
    rec_out: float = 0.9
    recog: float = 0.95
    lock_method: str = "other"
    lock_inside_log: bool = True
    shared_password: bool = False


@dataclass
class Compound:
    code: str
    name: str
    kind: str
    lat: float
    lon: float
    ped_gates: list = field(default_factory=list)  # Gate objects; None = unmonitored exit
    gate_weights: list = field(default_factory=list)
    vehicle_gate: Gate | None = None
    buildings: list = field(default_factory=list)
    public_devices: list = field(default_factory=list)


@dataclass
class Building:
    bid: str
    compound: Compound
    grid: Grid | None
    lat: float
    lon: float
    floors: int
    units: int
    unit_doors: dict = field(default_factory=dict)  # unit -> Gate | None
    walk_s: float = 120.0
    houses: list = field(default_factory=list)


@dataclass
class House:
    house_id: str
    building: Building
    unit: int
    floor: int
    lat: float
    lon: float
    rented: bool = False
    vacant: bool = False
    hh_type: str = ""
    lock: Gate | None = None
    members: list = field(default_factory=list)  # everyone living here (incl. unregistered)
    registered: list = field(default_factory=list)  # registry persons of this address
    devices: dict = field(default_factory=dict)  # kind -> Device
    plate: str | None = None
    plate_owner: str | None = None
    visits: list = field(default_factory=list)
    leaks: list = field(default_factory=list)  # (t0, t1, litres per minute)
    power_extra: list = field(default_factory=list)  # (t0, t1, kW)
    door_extra: list = field(default_factory=list)  # door openings without a trip
    base_kw: float = 0.05
    act_kw: float = 0.1
    ac_temp: float = 27.5
    eheater: bool = False
    electric_cooking: bool = False


@dataclass
class Trip:
    t_out: float  # home door times (seconds since start midnight)
    t_in: float
    purpose: str
    route_out: str  # ped | car | compound | none
    route_in: str
    group: int = 0  # >0: joint outing id
    lead: bool = True
    gate_out: str | None = "?"  # "?" = choose at pass time
    gate_in: str | None = "?"
    prio: int = 0  # higher survives overlaps (incident > escort > joint > routine)
    passes: list = field(default_factory=list)


@dataclass
class Person:
    pid: str
    house: House
    age: int
    sex: str
    tags: list
    arch: str
    registered: bool = True
    lives_here: bool = True
    face_id: str | None = None
    face_p: float = 0.93
    card_pid: str | None = None  # person id the IC card reports (owner), None = no card
    drive_p: float = 0.0
    side_pref: float = 0.0
    lock_id: str | None = None
    leave_h: float = 7.5
    ret_h: float = 18.5
    bed_h: float = 23.0
    wake_h: float = 6.5
    shift_from: int | None = None  # day index when arch switches to "nocturnal"
    shift_to: int | None = None
    moved_in: float = 0.0
    work_days: tuple = (0, 1, 2, 3, 4)
    trips: list = field(default_factory=list)
    sleeps: list = field(default_factory=list)
    incap: list = field(default_factory=list)  # (t0, t1, "fallen"|"ill")
    away: list = field(default_factory=list)  # (t0, t1) not living here (moved out, hospital)

    def arch_on(self, d: int) -> str:
        """Archetype in force on day d (a night shift overrides the usual one)."""
        if self.shift_from is not None and d >= self.shift_from and (
                self.shift_to is None or d < self.shift_to):
            return "nocturnal"
        return self.arch


@dataclass
class Device:
    device_id: str
    kind: str  # water power smoke gas door pir tilt pressure level temp
    model: str
    grid_id: str
    house: House | None = None
    interval: int = 3600
    phase: int = 0
    res: float = 0.001
    skew: float = 0.0
    battery: float | None = None
    battery_rate: float = 0.0004
    outages: list = field(default_factory=list)  # (t0, t1) silent, data folded forward
    loss: float = 0.01
    dead: tuple | None = None  # (t0, t1|None) long silence (incident)
    events: list = field(default_factory=list)  # (t, metric, value) extra readings
    low_battery_from: float | None = None


@dataclass
class Visit:
    house: House
    t_in: float
    t_out: float
    ids: list  # per visitor: face id (anon) or None
    purpose: str
    lock_pid: str | None = None
    lock_method: str = "password"
    route: str = "ped"
    plate: str | None = None
    presence: bool = True


# --------------------------------------------------------------------------- calendar
class Calendar:
    """Dates, off days, rain and daylight for the simulated window."""

    def __init__(self, start: dt.date, days: int, rng: random.Random) -> None:
        self.start = start
        self.days = days
        self.dates = [start + dt.timedelta(days=d) for d in range(days)]
        self.holidays = self._holidays()
        self.off = [x.weekday() >= 5 or x in self.holidays for x in self.dates]
        self.rain = [rng.random() < 0.18 for _ in self.dates]
        self.t0 = dt.datetime(start.year, start.month, start.day, tzinfo=TZ)

    def _holidays(self) -> set:
        """Mid-Autumn day and the National Day week (no 调休 make-up days modelled)."""
        out = set()
        for y in sorted({x.year for x in self.dates}):
            if y in MID_AUTUMN:
                out.add(dt.date(y, *MID_AUTUMN[y]))
            out.update(dt.date(y, 10, k) for k in range(1, 8))
        return out

    def doy(self, d: int) -> int:
        return self.dates[min(max(d, 0), self.days - 1)].timetuple().tm_yday

    def sun(self, d: int) -> tuple[float, float]:
        """Approximate sunrise/sunset (local clock hours) at the city's latitude."""
        decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + self.doy(d)) / 365)
        x = -math.tan(math.radians(CITY_LAT)) * math.tan(decl)
        ha = math.degrees(math.acos(max(-1.0, min(1.0, x)))) / 15
        noon = 12 + (120 - CITY_LON) / 15
        return noon - ha, noon + ha

    def temp(self, minutes: np.ndarray) -> np.ndarray:
        """Outdoor temperature per minute: seasonal mean plus a diurnal swing."""
        days = minutes // 1440
        doy = np.array([self.doy(int(d)) for d in range(self.days)])[np.minimum(days,
                                                                               self.days - 1)]
        hour = (minutes % 1440) / 60
        return 13.5 + 14.5 * np.cos(2 * np.pi * (doy - 200) / 365) + 5 * np.cos(
            2 * np.pi * (hour - 15) / 24)

    def ts(self, sec: float) -> str:
        return (self.t0 + dt.timedelta(seconds=int(round(sec)))).isoformat()


# --------------------------------------------------------------------------- the city
class City:
    """Holds the world, the people's timelines and the emitted feed."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        seed = int(args.seed)
        self.rw = random.Random(seed * 1000 + 1)  # world building
        self.rr = random.Random(seed * 1000 + 2)  # routines
        self.ri = random.Random(seed * 1000 + 3)  # incidents and controls
        self.rp = random.Random(seed * 1000 + 4)  # passes and recognition
        self.rd = random.Random(seed * 1000 + 5)  # devices and reports
        self.np = np.random.default_rng(seed)
        self.D = int(args.days)
        self.M = self.D * 1440
        self.T = float(self.D * DAY)
        start = dt.date.fromisoformat(args.start)
        self.cal = Calendar(start, self.D, self.rw)
        self.grids: list[Grid] = []
        self.compounds: list[Compound] = []
        self.houses: list[House] = []
        self.persons: list[Person] = []  # every simulated person (registered or not)
        self.gates: list[Gate] = []
        self.devices: list[Device] = []
        self.lines: list[tuple[float, int, str]] = []
        self.seq = {"access": 0, "iot": 0, "report": 0}
        self.truth: list[dict] = []
        self.controls: list[dict] = []
        self.used: set[str] = set()
        self.ids: set[str] = set()
        self.group_seq = 0
        self.extra_access: list[tuple] = []
        self.reports: list[tuple] = []
        self.post: list[tuple] = []
        self.shifted: list[Person] = []
        self.night_controls: list[Person] = []
        self.group_rentals: list[tuple] = []
        self.t_start = time.time()

    # ------------------------------------------------------------------ ids
    def uid(self, prefix: str, digits: int, rng: random.Random | None = None) -> str:
        """A unique random-looking id (serial numbers are not sequential in real life)."""
        rng = rng or self.rw
        while True:
            s = prefix + "".join(rng.choice("0123456789") for _ in range(digits))
            if s not in self.ids:
                self.ids.add(s)
                return s

    def anon_id(self, rng: random.Random) -> str:
        """Stable stranger-library face id: recognised but not in the registry."""
        while True:
            s = "face-anon-" + "".join(rng.choice("0123456789abcdef") for _ in range(8))
            if s not in self.ids:
                self.ids.add(s)
                return s

    def new_plate(self, rng: random.Random) -> str:
        return PROVINCE_PLATE + "".join(rng.choice(PLATE_CHARS) for _ in range(5))

    # ------------------------------------------------------------------ world
    def build_world(self) -> None:
        """Compounds -> buildings -> homes -> households until the person target is met."""
        kinds = ["new", "old", "resettle"]
        n_reg = 0
        k = 0
        while n_reg < self.args.persons:
            comp = self._make_compound(kinds[k % 3], k)
            k += 1
            for b in comp.buildings:
                if n_reg >= self.args.persons:
                    break
                for h in self._building_homes(b):
                    n_reg += self._populate(h)
                    if n_reg >= self.args.persons:
                        break
            comp.buildings = [b for b in comp.buildings if b.houses]
        self._assign_grids()
        self._make_devices()
        self._finish_people()
        self.gate_by_id = {g.gate_id: g for g in self.gates}
        self.grid_by_id = {g.grid_id: g for g in self.grids}

    def _make_compound(self, kind: str, k: int) -> Compound:
        """A compound with its gates; size and gate equipment depend on its era."""
        r = self.rw
        code = ["HPL", "XYY", "JSX", "LHY", "BYQ", "DFH", "MZJ", "QHC", "TYL", "WJL",
                "YFG", "ZSJ"][k % 12] + (str(k // 12) if k >= 12 else "")
        names = {"new": "花园", "old": "宿舍", "resettle": "家园"}
        lat = CITY_LAT + 0.006 * (k % 4) + r.uniform(-0.001, 0.001)
        lon = CITY_LON + 0.007 * (k // 4) + r.uniform(-0.001, 0.001)
        comp = Compound(code, code + names[kind], kind, lat, lon)
        if kind == "new":
            comp.ped_gates = [self._gate(f"MJ-{code}-N", "ped", lat + .0012, lon, ("face",),
                                         .96, .92, r.uniform(.93, .97)),
                              self._gate(f"MJ-{code}-E", "ped", lat, lon + .0015, ("face",),
                                         .95, .9, r.uniform(.9, .96))]
            comp.gate_weights = [0.65, 0.35]
            comp.vehicle_gate = self._gate(f"CK-{code}-B1", "vehicle", lat - .0005, lon,
                                           ("plate",), .985, .985, .97)
            nb, floors, units = r.randint(2, 4), r.randint(11, 18), 2
        elif kind == "old":
            comp.ped_gates = [self._gate(f"MJ-{code}-S", "ped", lat - .001, lon,
                                         ("face", "card"), .9, .72, r.uniform(.85, .92)),
                              None]
            comp.gate_weights = [0.65, 0.35]
            comp.vehicle_gate = self._gate(f"CL-{code}-S", "vehicle", lat - .0011, lon + .0002,
                                           ("plate",), .97, .95, .95)
            nb, floors, units = r.randint(3, 6), 6, 3
        else:
            comp.ped_gates = [self._gate(f"MJ-{code}-W", "ped", lat, lon - .0012, ("face",),
                                         .93, .85, r.uniform(.88, .95)),
                              self._gate(f"MJ-{code}-X", "ped", lat + .001, lon, ("card",),
                                         .85, .55, 1.0)]
            comp.gate_weights = [0.75, 0.25]
            comp.vehicle_gate = self._gate(f"CL-{code}-W", "vehicle", lat, lon - .0013,
                                           ("plate",), .98, .97, .96)
            nb, floors, units = r.randint(2, 4), 11, 2
        for i in range(nb):
            b = Building(f"{code}-{i + 1:02d}", comp, None, lat + r.uniform(-.001, .001),
                         lon + r.uniform(-.0012, .0012), floors, units,
                         walk_s=r.uniform(60, 330))
            has_reader = {"new": 1.0, "old": 0.33, "resettle": 0.5}[kind]
            for u in range(1, units + 1):
                g = None
                if r.random() < has_reader:
                    methods = ("face", "card") if kind == "new" else ("card",)
                    g = self._gate(f"DY-{b.bid}-{u}", "unit", b.lat, b.lon, methods,
                                   r.uniform(.82, .92), 0.0, r.uniform(.9, .96))
                b.unit_doors[u] = g
            comp.buildings.append(b)
        self.compounds.append(comp)
        return comp

    def _gate(self, gid: str, kind: str, lat: float, lon: float, methods: tuple,
              rec_in: float, rec_out: float, recog: float) -> Gate:
        g = Gate(gid, "", kind, round(lat, 6), round(lon, 6), methods=methods, rec_in=rec_in,
                 rec_out=rec_out, recog=recog)
        self.gates.append(g)
        return g

    def _building_homes(self, b: Building):
        """Yield the homes of a building one by one (so the person target can stop early)."""
        per_floor = {"new": 2, "old": 2, "resettle": 3}[b.compound.kind]
        for u in range(1, b.units + 1):
            for f in range(1, b.floors + 1):
                for rm in range(1, per_floor + 1):
                    h = House(f"{b.bid}-{u}-{f:02d}{rm:02d}", b, u, f,
                              round(b.lat + self.rw.uniform(-5e-5, 5e-5), 6),
                              round(b.lon + self.rw.uniform(-5e-5, 5e-5), 6))
                    b.houses.append(h)
                    self.houses.append(h)
                    yield h

    def _populate(self, h: House) -> int:
        """Fill one home with a household; returns the number of registry persons added."""
        r = self.rw
        kind = h.building.compound.kind
        if r.random() < VACANT_RATE[kind]:
            h.vacant = True
            h.hh_type = "vacant"
            return 0
        types, weights = zip(*HH_MIX[kind], strict=True)
        h.hh_type = r.choices(types, weights)[0]
        h.rented = h.hh_type == "shared_rent" or (
            h.hh_type in ("single", "couple", "family1") and r.random() < RENT_RATE[kind])
        ages = self._ages(h.hh_type)
        for age in ages:
            self._add_person(h, age, len(ages))
        if h.rented and r.random() < 0.07:  # an unregistered partner lives here too
            self._add_person(h, r.randint(22, 35), len(ages) + 1, registered=False)
        return sum(1 for p in h.registered)

    def _ages(self, t: str) -> list[int]:
        r = self.rw

        def old() -> int:
            return int(r.triangular(61, 94, 70))

        def adult() -> int:
            return r.randint(24, 56)

        def kid() -> int:
            return r.randint(0, 17)
        if t == "elderly_alone":
            return [old()]
        if t == "elderly_couple":
            a = old()
            return [a, max(60, min(95, a + r.randint(-5, 5)))]
        if t == "single":
            return [r.randint(21, 45)]
        if t == "couple":
            return [r.randint(23, 40)] * 2
        if t == "family1":
            a = r.randint(27, 50)
            return [a, a + r.randint(-3, 3), max(0, min(17, a - 27 + r.randint(-4, 3)))]
        if t == "family2":
            a = r.randint(30, 48)
            return [a, a + r.randint(-3, 3), min(17, a - 26), r.randint(0, 9)]
        if t == "three_gen":
            a = r.randint(30, 45)
            out = [a, a + r.randint(-3, 3), r.randint(0, 12), old()]
            if r.random() < 0.5:
                out.append(old())
            return out
        if t == "shared_rent":
            return [r.randint(19, 35) for _ in range(r.randint(2, 4))]
        if t == "single_parent":
            return [adult(), kid()]
        return [r.randint(45, 62), max(75, old() + 10)]  # adult_with_parent


    def _add_person(self, h: House, age: int, hh_size: int, registered: bool = True) -> Person:
        """Create one person with tags and an archetype fitting age and household."""
        r = self.rw
        tags = []
        if age < 18:
            tags.append("minor")
        if age >= 60:
            tags.append("elderly_alone" if hh_size == 1 else "elderly")
        if age >= 75 and hh_size > 1 and r.random() < 0.10:
            tags.append("dementia")
        elif age >= 78 and hh_size == 1 and r.random() < 0.03:
            tags.append("dementia")
        if age >= 18 and r.random() < 0.02:
            tags.append("disabled")
        if 20 <= age <= 58 and r.random() < (0.035 if h.rented or hh_size == 1 else 0.008):
            tags.append("key_person")
        if h.rented and age >= 16:
            tags.append("tenant")
        pid = self.uid("RY", 10) if registered else self.anon_id(r)
        p = Person(pid, h, age, r.choice("MF"), tags, self._arch(age, tags, h), registered)
        p.face_id = pid if age >= 6 else None
        p.face_p = r.uniform(0.86, 0.99) if age < 70 else r.uniform(0.75, 0.95)
        kind = h.building.compound.kind
        if kind == "old" and (age >= 55 or r.random() < 0.3):
            p.card_pid = pid
        p.side_pref = r.uniform(0.0, 0.7) if r.random() < 0.5 else 0.0
        p.leave_h = r.uniform(6.7, 8.9)
        p.ret_h = r.uniform(17.2, 19.8)
        b, w = SLEEP[p.arch]
        p.bed_h = b + r.gauss(0, 0.4)
        p.wake_h = w + r.gauss(0, 0.3)
        wd = sorted(r.sample(range(7), 5)) if p.arch in ("night_shift", "gig") else [0, 1, 2,
                                                                                   3, 4]
        p.work_days = tuple(wd)
        h.members.append(p)
        if registered:
            h.registered.append(p)
        self.persons.append(p)
        return p

    def _arch(self, age: int, tags: list, h: House) -> str:
        """Archetype from age and tags; tenants skew to gig work and shifts."""
        r = self.rw
        if age < 3:
            return "infant"
        if age < 6:
            return "preschool"
        if age < 12:
            return "primary"
        if age < 18:
            return "secondary"
        if "dementia" in tags:
            return "dementia"
        if "disabled" in tags:
            return "frail" if age >= 50 or r.random() < 0.6 else "retired_home"
        if age >= 60:
            if age >= 82:
                return r.choices(["retired_home", "frail"], [0.5, 0.5])[0]
            return r.choices(["retired_active", "retired_home", "frail"], [0.6, 0.3, 0.1])[0]
        if age >= 55 and r.random() < 0.5:
            return "retired_active"
        if "key_person" in tags:
            return r.choices(["irregular", "gig", "commuter"], [0.5, 0.25, 0.25])[0]
        if h.rented:
            return r.choices(["commuter", "gig", "night_shift", "late_sleeper", "irregular"],
                             [0.55, 0.22, 0.08, 0.08, 0.07])[0]
        return r.choices(["commuter", "homemaker", "gig", "night_shift", "late_sleeper",
                          "irregular"], [0.7, 0.12, 0.05, 0.04, 0.05, 0.04])[0]

    def _assign_grids(self) -> None:
        """Fill grids building by building; 2-3 grids per community, 2 communities/street."""
        r = self.rw
        district = "130102"
        grid = None
        cap = 0
        n_comm = 0
        grids_in_comm = 99
        comm_target = 0
        street = ""
        comm = ""
        for comp in self.compounds:
            for b in comp.buildings:
                if grid is None or cap <= 0:
                    if grids_in_comm >= comm_target:
                        street = f"{district}{7 + n_comm // 2:03d}"
                        comm = f"{street}{12 + n_comm:03d}"
                        n_comm += 1
                        grids_in_comm = 0
                        comm_target = r.choice([2, 3])
                    grids_in_comm += 1
                    gid = f"{comm}-G{grids_in_comm:02d}"
                    grid = Grid(gid, comm, street, district, "130100",
                                self.uid("WGY", 6), self.uid("JZ", 6),
                                f"{comp.name}片区第{grids_in_comm}网格",
                                tag_both=r.random() < 0.5)
                    self.grids.append(grid)
                    cap = r.randint(200, 280)
                b.grid = grid
                grid.buildings.append(b)
                cap -= len(b.houses)
            main = comp.ped_gates[0]
            for g in comp.ped_gates + [comp.vehicle_gate]:
                if g is not None:
                    g.grid_id = comp.buildings[0].grid.grid_id
            del main
            for b in comp.buildings:
                for g in b.unit_doors.values():
                    if g is not None:
                        g.grid_id = b.grid.grid_id
        self.gates = [g for g in self.gates if g.grid_id]

    def _finish_people(self) -> None:
        """Grid tagging habits, cars, locks, registry mismatches and appliance traits."""
        r = self.rw
        for h in self.houses:
            grid = h.building.grid
            for p in h.members:
                if "elderly_alone" in p.tags and grid.tag_both:
                    p.tags.insert(0, "elderly")
            if h.vacant:
                continue
            kind = h.building.compound.kind
            drivers = [p for p in h.members if 25 <= p.age <= 65 and p.arch == "commuter"]
            if drivers and r.random() < {"new": 0.45, "old": 0.18, "resettle": 0.25}[kind]:
                h.plate = self.new_plate(r)
                h.plate_owner = drivers[0].pid
                drivers[0].drive_p = r.uniform(0.5, 0.95)
                for q in drivers[1:]:
                    q.drive_p = r.uniform(0.0, 0.3)
            if r.random() < {"new": 0.25, "old": 0.04, "resettle": 0.08}[kind]:
                self._add_lock(h)
            cards = [p for p in h.members if p.card_pid]
            if len(cards) >= 2 and r.random() < 0.15:  # the household shares one card
                for p in cards[1:]:
                    p.card_pid = cards[0].pid
            h.base_kw = r.uniform(0.03, 0.09)
            h.act_kw = r.uniform(0.05, 0.16)
            h.ac_temp = r.uniform(26.0, 29.5) if any(p.age < 70 for p in h.members) else 31.0
            h.eheater = r.random() < 0.45
            h.electric_cooking = r.random() < 0.35
            for p in h.registered:
                if r.random() < (0.03 if "elderly_alone" in p.tags else 0.015):
                    p.lives_here = False  # 人户分离: registered here, lives elsewhere

    def _add_lock(self, h: House) -> None:
        r = self.rw
        g = self._gate(f"ZS-{h.house_id}", "lock", h.lat, h.lon, ("lock",), 0.97, 0.0, 1.0)
        g.house_id = h.house_id
        g.grid_id = h.building.grid.grid_id
        g.lock_method = r.choices(["other", "password", "face", "card"], [5, 3, 2, 1])[0]
        g.lock_inside_log = r.random() < 0.6
        g.rec_out = 0.95 if g.lock_inside_log else 0.0
        h.lock = g
        for i, p in enumerate(h.members):
            p.lock_id = p.pid if p.registered else f"{g.gate_id}#u{i + 1:02d}"

    # ------------------------------------------------------------------ devices
    def _make_devices(self) -> None:
        """Meters in (almost) every home, care kits for elderly alone, public sensors."""
        r = self.rw
        water_mix = {"new": [("SB-H1", 55), ("SB-U", 30), ("SB-D", 10), ("", 5)],
                     "old": [("SB-H2", 45), ("SB-D", 40), ("", 15)],
                     "resettle": [("SB-H1", 50), ("SB-H2", 15), ("SB-U", 20), ("", 15)]}
        for h in self.houses:
            kind = h.building.compound.kind
            names, w = zip(*water_mix[kind], strict=True)
            wm = r.choices(names, w)[0]
            if wm:
                self._device(h, "water", wm)
            if r.random() < 0.93:
                self._device(h, "power", r.choices(["DB-15", "DB-H", "DB-D"], [10, 60, 30])[0])
            kit = any("elderly_alone" in p.tags for p in h.registered) and r.random() < 0.55
            if kit:
                for k, m in (("pir", "RT-ZB"), ("door", "MC-ZB"), ("smoke", "YG-ZB")):
                    self._device(h, k, m)
            else:
                if r.random() < {"old": 0.6, "new": 0.2, "resettle": 0.4}[kind]:
                    self._device(h, "smoke", "YG-NB")
                if r.random() < 0.06:
                    self._device(h, "door", "MC-ZB")
                if r.random() < 0.03:
                    self._device(h, "pir", "RT-ZB")
            if r.random() < 0.15:
                self._device(h, "gas", "RQ-NB")
        for comp in self.compounds:
            self._public_devices(comp)
        self._background_outages()

    def _device(self, h: House | None, kind: str, model: str, grid_id: str = "") -> Device:
        r = self.rw
        prefix = {"water": "SB", "power": "DB", "smoke": "YG", "gas": "RQ", "door": "MC",
                  "pir": "RT", "tilt": "JG", "pressure": "XF", "level": "SW", "temp": "CD"}
        did = self.uid(prefix[kind], 12 if kind == "power" else 10)
        interval = {"SB-H1": 3600, "SB-H2": 3600, "SB-D": DAY, "SB-U": 12 * HOUR,
                    "DB-15": 900, "DB-H": 3600, "DB-D": DAY, "YG-NB": DAY, "YG-ZB": HOUR,
                    "RQ-NB": 3600, "MC-ZB": HOUR, "RT-ZB": HOUR, "JG-NB": 6 * HOUR,
                    "XF-NB": 1800, "SW-4G": 600, "CD-4G": 600}[model]
        res = {"SB-H2": 0.01, "SB-D": 0.01}.get(model, 0.001 if kind == "water" else 0.01)
        x = r.random()
        skew = r.gauss(0, 2) if x < 0.9 else (r.choice([-1, 1]) * r.uniform(15, 60)
                                              if x < 0.98 else r.choice([-1, 1]) *
                                              r.uniform(60, 120))
        phase = r.randrange(0, 600) if interval <= HOUR else r.randrange(3600, 5 * 3600)
        battery = None
        if model.endswith(("-NB", "-ZB")) or kind == "water":
            battery = r.uniform(0.25, 1.0)
        dev = Device(did, kind, model, grid_id or h.building.grid.grid_id, h, interval,
                     phase, res, skew, battery)
        dev.battery_rate = r.uniform(0.0002, 0.0009)
        dev.loss = {"NB": 0.015, "ZB": 0.005, "4G": 0.003}.get(model[-2:], 0.005)
        if h is not None:
            h.devices[kind] = dev
        self.devices.append(dev)
        return dev

    def _public_devices(self, comp: Compound) -> None:
        r = self.rw
        gid = comp.buildings[0].grid.grid_id
        for _ in range(r.randint(3, 6)):
            comp.public_devices.append(self._device(None, "tilt", "JG-NB", gid))
        for _ in range(2):
            comp.public_devices.append(self._device(None, "pressure", "XF-NB", gid))
        if comp.kind == "new":
            comp.public_devices.append(self._device(None, "level", "SW-4G", gid))
        for _ in range(r.randint(1, 2)):
            comp.public_devices.append(self._device(None, "temp", "CD-4G", gid))
        for b in comp.buildings:
            if comp.kind == "old" or r.random() < 0.4:
                comp.public_devices.append(self._device(None, "smoke", "YG-NB", b.grid.grid_id))

    def _background_outages(self) -> None:
        """Everyday silences: NB coverage, Zigbee gateways unplugged, HPLC concentrators."""
        r = self.rd
        for dev in self.devices:
            tech = dev.model[-2:]
            if tech == "ZB" or dev.model.startswith("DB"):
                continue  # shared outages below
            rate, lo, hi = {"NB": (1 / 12, 1, 8), "4G": (1 / 25, 0.5, 3)}.get(tech, (1 / 15, 1, 6))
            dev.outages += self._poisson_intervals(r, rate, lo, hi)
        for h in self.houses:
            zb = [d for k, d in sorted(h.devices.items()) if d.model.endswith("-ZB")]
            if zb:
                iv = self._poisson_intervals(r, 1 / 15, 0.5, 4)
                for d in zb:
                    d.outages += iv
        for comp in self.compounds:
            for b in comp.buildings:
                iv = self._poisson_intervals(r, 1 / 20, 1, 6)
                for h in b.houses:
                    if "power" in h.devices:
                        h.devices["power"].outages += iv

    def _poisson_intervals(self, r: random.Random, per_day: float, lo_h: float,
                           hi_h: float) -> list[tuple[float, float]]:
        out = []
        t = r.expovariate(per_day) * DAY
        while t < self.T:
            d = r.uniform(lo_h, hi_h) * HOUR
            out.append((t, t + d))
            t += d + r.expovariate(per_day) * DAY
        return out

    # ------------------------------------------------------------------ routines
    def make_routines(self) -> None:
        """Sleep and trips for everyone living here, then household coordination."""
        for p in self.persons:
            if not p.lives_here:
                continue
            for d in range(-1, self.D):
                p.sleeps += self._sleep(p, d)
            for d in range(self.D):
                for a, b, purpose, route in self._plan(p, d):
                    p.trips.append(Trip(d * DAY + a * HOUR, d * DAY + b * HOUR, purpose,
                                        route, route))
            p.trips = self._clean(p.trips)
        for h in self.houses:
            live = [p for p in h.members if p.lives_here]
            if len(live) < 2:
                continue
            for d in range(self.D):
                self._school_run(live, d)
                self._joint_outing(h, live, d)
            self._accompany(live)
            for p in live:
                p.trips = self._clean(p.trips)

    def _sleep(self, p: Person, d: int) -> list[tuple[float, float]]:
        """Sleep intervals that start on day d (seconds); archetype- and weekend-aware."""
        r = self.rr
        arch = p.arch_on(max(d, 0))
        base = d * DAY
        off = self.cal.off[d] if d >= 0 else False
        off_next = self.cal.off[d + 1] if d + 1 < self.D else False
        if arch == "nocturnal":
            s = base + (r.uniform(6.3, 7.8)) * HOUR
            return [(s, base + r.uniform(13.8, 15.6) * HOUR)]
        if arch == "night_shift":
            out = []
            wd_prev = (self.cal.dates[0].weekday() + d - 1) % 7
            if wd_prev in p.work_days:
                out.append((base + r.uniform(8.2, 9.0) * HOUR, base + r.uniform(14.6, 15.8) * HOUR))
            wd = (self.cal.dates[0].weekday() + d) % 7
            if wd not in p.work_days:
                out.append((base + r.uniform(23.5, 25.0) * HOUR, base + r.uniform(31.5, 33) * HOUR))
            return out
        worker = arch in ("commuter", "secondary", "primary", "preschool", "homemaker")
        bed = p.bed_h + r.gauss(0, 0.35) + (0.6 if off and worker else 0.0)
        wake = p.wake_h + r.gauss(0, 0.25) + (1.1 if off_next and worker else 0.0)
        return [(base + bed * HOUR, base + (24 + wake) * HOUR)]

    def _plan(self, p: Person, d: int) -> list[tuple[float, float, str, str]]:
        """One day's outings (hours from day start) for a person's archetype."""
        r = self.rr
        arch = p.arch_on(d)
        wd = self.cal.dates[d].weekday()
        off = self.cal.off[d]
        fn = getattr(self, "_plan_" + arch, None)
        out = fn(p, d, wd, off, r) if fn else []
        if p.age >= 18 and arch not in ("frail", "dementia") and r.random() < 0.22:
            g = r.uniform(19.3, 21.6)
            out.append((g, g + r.uniform(0.08, 0.2), "garbage", "compound"))
        if self.cal.rain[d]:
            out = [x for x in out if x[2] in ("work", "school") or r.random() < 0.55]
        return out

    def _plan_commuter(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        if not off and r.random() > 0.04:
            lv = p.leave_h + r.gauss(0, 0.2)
            rt = p.ret_h + r.gauss(0, 0.45) + (r.uniform(1.5, 3.5) if r.random() < 0.07 else 0)
            out.append((lv, rt, "work", "car" if r.random() < p.drive_p else "ped"))
            if rt < 19.2 and r.random() < 0.2:
                e = r.uniform(19.5, 21)
                out.append((e, e + r.uniform(0.5, 2), "evening", "ped"))
        else:
            if r.random() < 0.72:
                s = r.uniform(9, 15)
                out.append((s, s + r.uniform(1, 5), "errand",
                            "car" if r.random() < p.drive_p * 0.5 else "ped"))
            if r.random() < 0.3:
                e = r.uniform(18.5, 20.5)
                out.append((e, e + r.uniform(1, 3.2), "social", "ped"))
        return out

    def _plan_gig(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        if wd in p.work_days:
            a = r.uniform(9.3, 11)
            b = r.uniform(13.8, 15)
            c = r.uniform(16.3, 17.6)
            return [(a, b, "work", "ped"), (c, r.uniform(21.3, 24.9), "work", "ped")]
        s = r.uniform(11, 17)
        return [(s, s + r.uniform(1, 5), "leisure", "ped")] if r.random() < 0.7 else []

    def _plan_night_shift(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        if wd in p.work_days:
            out.append((r.gauss(19.4, 0.25), 24 + r.gauss(7.7, 0.3), "work", "ped"))
        elif r.random() < 0.6:
            s = r.uniform(14, 17.5)
            out.append((s, s + r.uniform(1, 4), "leisure", "ped"))
        return out

    def _plan_nocturnal(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        if r.random() < 0.9:
            out.append((r.uniform(21.3, 23.8), 24 + r.uniform(2.8, 5.6), "night", "ped"))
        _maybe(out, r, 0.35, (15.6, 18), (0.5, 2), "errand", "ped")
        return out

    def _plan_irregular(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        _maybe(out, r, 0.75, (11, 18.5), (1, 6), "errand", "ped")
        _maybe(out, r, 0.3, (19.5, 22), (1, 3.5), "social", "ped")
        return out

    def _plan_late_sleeper(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        _maybe(out, r, 0.7, (13, 17), (2, 6), "errand", "ped")
        _maybe(out, r, 0.35, (20, 22.5), (1.5, 4), "social", "ped")
        return out

    def _plan_homemaker(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        _maybe(out, r, 0.85, (8, 9.8), (0.6, 1.6), "market", "ped")
        _maybe(out, r, 0.45, (14.5, 16.5), (1, 2.5), "errand", "ped")
        return out

    def _plan_retired_active(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        sunrise = self.cal.sun(d)[0]
        if r.random() < 0.85:
            s = 6.0 + 0.5 * (sunrise - 5.8) + r.uniform(-0.4, 1.2)
            out.append((s, s + r.uniform(0.8, 2.2), "market", "ped"))
        _maybe(out, r, 0.4, (9.5, 11), (0.5, 1.5), "garden", "compound")
        _maybe(out, r, 0.5, (14.5, 16), (1, 2.5), "park", "ped")
        if p.sex == "F" and r.random() < 0.3:
            s = r.uniform(19, 19.6)
            out.append((s, s + r.uniform(1, 1.7), "square_dance", "ped"))
        return out

    def _plan_retired_home(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        _maybe(out, r, 0.45, (8.5, 10.5), (0.4, 1.5), "market", "ped")
        _maybe(out, r, 0.45, (15, 17), (0.3, 1.2), "garden", "compound")
        return out

    def _plan_frail(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        _maybe(out, r, 0.12, (9, 11), (0.8, 2), "clinic", "ped")
        _maybe(out, r, 0.25, (9.5, 16), (0.3, 0.8), "garden", "compound")
        return out

    def _plan_dementia(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        _maybe(out, r, 0.35, (9, 10.5), (0.8, 1.8), "walk", "ped")
        _maybe(out, r, 0.35, (15, 16.5), (0.4, 1.0), "garden", "compound")
        return out

    def _plan_secondary(self, p: Person, d: int, wd: int, off: bool, r: random.Random) -> list:
        out = []
        if not off:
            back = r.gauss(21.6, 0.15) if p.age >= 15 else r.gauss(17.6, 0.3)
            out.append((r.gauss(6.75, 0.1), back, "school", "ped"))
        else:
            _maybe(out, r, 0.6, (8.5, 14), (2, 3.5), "tutoring", "ped")
            _maybe(out, r, 0.3, (15, 18), (1.5, 3), "friends", "ped")
        return out

    def _clean(self, trips: list[Trip]) -> list[Trip]:
        """Drop overlapping trips (higher priority first, then earlier) and impossible ones."""
        acc: list[Trip] = []
        for t in sorted(trips, key=lambda x: (-x.prio, x.t_out)):
            if t.t_in <= t.t_out + 60 or t.t_out < 60:
                continue
            if any(t.t_out < a.t_in + 300 and a.t_out < t.t_in + 300 for a in acc):
                continue
            acc.append(t)
        return sorted(acc, key=lambda x: x.t_out)

    def _next_group(self) -> int:
        self.group_seq += 1
        return self.group_seq

    def _school_run(self, live: list[Person], d: int) -> None:
        """Pupils are walked to school by a grandparent or dropped by a parent on the way."""
        if self.cal.off[d]:
            return
        r = self.rr
        kids = [p for p in live if p.arch in ("primary", "preschool")]
        if not kids:
            return
        elders = [p for p in live if p.arch in ("retired_active", "retired_home", "homemaker")]
        parents = [p for p in live if p.arch in ("commuter", "gig") and p.age < 60]
        g = self._next_group()
        lv = d * DAY + r.uniform(7.3, 7.9) * HOUR
        back, route_in, route_out = d * DAY + 18.2 * HOUR, "ped", "ped"
        if elders:
            e = elders[0]
            e.trips.append(Trip(lv, lv + r.uniform(0.35, 0.6) * HOUR, "school_run", "ped", "ped",
                                g, True, prio=2))
            back = d * DAY + r.uniform(16.3, 16.9) * HOUR
            e2 = elders[-1]
            e2.trips.append(Trip(back - r.uniform(0.35, 0.6) * HOUR, back, "school_run", "ped",
                                 "ped", g, True, prio=2))
        elif parents:
            work = [t for t in parents[0].trips if t.purpose == "work" and
                    d * DAY <= t.t_out < (d + 1) * DAY]
            if work:
                work[0].t_out = lv
                work[0].group, work[0].prio = g, 2
                back, route_in = work[0].t_in, work[0].route_in
                route_out = work[0].route_out
        for k in kids:
            k.trips.append(Trip(lv + r.uniform(0, 8), back + r.uniform(0, 8), "school",
                                route_out, route_in, g, False, prio=2))

    def _joint_outing(self, h: House, live: list[Person], d: int) -> None:
        """Weekend family outings: everybody leaves together, drivers take the car."""
        r = self.rr
        if not self.cal.off[d] or not any(18 <= p.age < 60 for p in live) or r.random() > 0.4:
            return
        g = self._next_group()
        s = d * DAY + r.uniform(9.5, 14.5) * HOUR
        e = s + r.uniform(2, 6.5) * HOUR
        who = [p for p in live if p.arch not in ("night_shift", "gig", "nocturnal") and
               (p.arch not in ("secondary", "frail", "dementia") or r.random() < 0.5)]
        if len(who) < 2:
            return
        car = bool(h.plate) and r.random() < 0.65 and any(p.pid == h.plate_owner for p in who)
        lead = h.plate_owner if car else sorted(who, key=lambda p: -p.age * (p.age < 60))[0].pid
        for p in who:
            route = "car" if car else "ped"
            p.trips.append(Trip(s + r.uniform(0, 25), e + r.uniform(0, 25), "family", route,
                                route, g, p.pid == lead, prio=1))

    def _accompany(self, live: list[Person]) -> None:
        """People with dementia and small children never go out alone; someone joins them."""
        r = self.rr
        for p in live:
            if p.arch not in ("dementia", "infant", "preschool", "frail"):
                continue
            keep = []
            for t in p.trips:
                if t.group or t.prio:
                    keep.append(t)
                    continue
                mates = [m for m in live if m is not p and m.age >= 18 and
                         m.arch not in ("dementia", "infant") and
                         not any(x.t_out < t.t_in and t.t_out < x.t_in for x in m.trips)]
                if not mates:
                    if p.arch == "frail":
                        keep.append(t)
                    continue
                m = mates[0]
                g = self._next_group()
                m.trips.append(Trip(t.t_out, t.t_in, "escort", t.route_out, t.route_in, g, True,
                                    prio=1))
                t.group, t.lead, t.prio = g, False, 1
                keep.append(t)
            if p.arch == "infant":
                for m in live:
                    for t in m.trips:
                        if t.purpose in ("market", "garden") and not t.group and r.random() < .35:
                            g = self._next_group()
                            t.group, t.prio = g, 1
                            keep.append(Trip(t.t_out, t.t_in, "stroll", t.route_out, t.route_in,
                                             g, False, prio=1))
            p.trips = keep

    # ------------------------------------------------------------------ incident helpers
    def n_of(self, base: float) -> int:
        """Scale a per-(2,000 persons x 21 days) count to this run, at least one."""
        return max(1, round(base * self.args.persons / 2000 * self.D / 21))

    def rday(self, r: random.Random, lo: int, hi: int) -> int:
        """A random day index in [lo, hi], squeezed into short runs instead of failing."""
        lo = min(lo, self.D - 1)
        return r.randint(lo, max(lo, min(hi, self.D - 1)))

    def pool(self, pred, rng: random.Random | None = None) -> list[Person]:
        """Unused living, registered persons matching pred, in a deterministic shuffled order."""
        rng = rng or self.ri
        out = [p for p in self.persons if p.registered and p.lives_here and
               p.pid not in self.used and pred(p)]
        out.sort(key=lambda p: p.pid)
        rng.shuffle(out)
        return out

    def live(self, h: House) -> list[Person]:
        return [p for p in h.members if p.lives_here]

    def home_at(self, p: Person, t: float) -> bool:
        return not any(x.t_out - 600 <= t <= x.t_in + 600 for x in p.trips) and not any(
            a <= t < b for a, b in p.away)

    def someone_home(self, h: House, t: float) -> bool:
        """Someone able to open the door: at home and not lying helpless."""
        return any(self.home_at(p, t) and not any(a <= t < b for a, b, _k in p.incap)
                   for p in self.live(h))

    def asleep_at(self, p: Person, t: float) -> bool:
        return any(a <= t < b for a, b in p.sleeps)

    def cut(self, p: Person, t0: float, t1: float) -> None:
        """Remove the person's trips touching [t0, t1) (an incident overrides the routine)."""
        p.trips = [x for x in p.trips if x.t_in < t0 - 300 or x.t_out > t1 + 300]

    def add_trip(self, p: Person, trip: Trip) -> Trip:
        trip.prio = 9
        self.cut(p, trip.t_out, trip.t_in)
        p.trips.append(trip)
        p.trips.sort(key=lambda x: x.t_out)
        return trip

    def day_time(self, t: float, lo: float = 7.5, hi: float = 20.5) -> float:
        """Move a time into waking hours (people are found when someone comes by)."""
        h = (t % DAY) / HOUR
        if h < lo:
            return t - h * HOUR + self.ri.uniform(lo, lo + 2) * HOUR
        if h > hi:
            return t - h * HOUR + DAY + self.ri.uniform(lo, lo + 2.5) * HOUR
        return t

    def record(self, kind: str, stype: str, sid: str, grid: str, start: float, end: float | None,
               detail: dict, control: bool = False) -> dict:
        """One truth or control line; an end past the window means unresolved."""
        if end is None or end >= self.T:
            detail["unresolved"] = True
            end = self.T
        row = {"kind": ("control:" if control else "") + kind, "subject_type": stype,
               "subject_id": sid, "grid_id": grid, "start": start, "end": end, "detail": detail}
        (self.controls if control else self.truth).append(row)
        return row

    def ambulance(self, h: House, t_in: float, t_out: float, what: str = "120") -> None:
        """Ambulance / police / fire vehicles pass the plate gate as strangers."""
        comp = h.building.compound
        plate = self.new_plate(self.ri) if what != "fire" else "冀A" + "119" + str(
            self.ri.randint(10, 99))
        self.extra_access.append((t_in, comp.vehicle_gate, "in", "plate", None, plate))
        self.extra_access.append((t_out, comp.vehicle_gate, "out", "plate", None, plate))

    def hospital(self, p: Person, t_found: float, days: tuple[float, float]) -> float:
        """Carried out on a stretcher (no exit recorded), back some days later with family."""
        r = self.ri
        t_out = t_found + r.uniform(35, 75) * 60
        back = self.day_time(t_out + r.uniform(*days) * DAY, 9, 18)
        self.ambulance(p.house, t_found + r.uniform(8, 25) * 60, t_out + 90)
        self.add_trip(p, Trip(t_out, back, "hospital", "none", "ped", gate_out=None))
        if back < self.T:
            self.house_visit(p.house, back, back + r.uniform(1, 4) * HOUR, 1, "bring_home")
        return back

    def house_visit(self, h: House, t_in: float, t_out: float, n: int, purpose: str,
                    lock_pid: str | None = None, ids: list | None = None) -> Visit:
        """A visit by people who are not registered here (relatives, rescuers, carers)."""
        r = self.ri
        if ids is None:
            ids = [self.rel_id(h, r) if r.random() < 0.6 else None for _ in range(n)]
        v = Visit(h, t_in, t_out, ids, purpose, lock_pid=lock_pid)
        h.visits.append(v)
        return v

    def rel_id(self, h: House, r: random.Random) -> str:
        """Relatives are a small stable set per home (the stranger library re-finds them)."""
        rel = getattr(h, "_relatives", None)
        if rel is None:
            rel = [self.anon_id(self.rw) for _ in range(3)]
            h._relatives = rel  # type: ignore[attr-defined]
        return r.choice(rel)

    def report(self, t: float, grid_id: str, category: str, source: str, text: str,
               near: House | Building | None = None) -> None:
        lat = near.lat if near is not None else CITY_LAT
        lon = near.lon if near is not None else CITY_LON
        r = self.rd
        self.reports.append((t, grid_id, category, source, text,
                             round(lat + r.uniform(-2e-4, 2e-4), 6),
                             round(lon + r.uniform(-2e-4, 2e-4), 6)))

    def pick_time(self, p: Person, d: int, lo: float, hi: float, ok=None) -> float | None:
        """A moment on day d (hours lo..hi, may exceed 24) when p is at home (and ok())."""
        r = self.ri
        for _ in range(60):
            t = d * DAY + r.uniform(lo, hi) * HOUR
            if t < self.T - 2 * HOUR and self.home_at(p, t) and (ok is None or ok(t)):
                return t
        return None

    # ------------------------------------------------------------------ presence incidents
    def incidents_presence(self) -> None:
        """Falls, wandering, long absences, illness without water use (after routines)."""
        n = self.n_of(8)
        n_alone = max(1, round(n * 0.6))
        alone = self.pool(lambda p: "elderly_alone" in p.tags and len(self.live(p.house)) == 1
                          and "dementia" not in p.tags)
        fam = self.pool(lambda p: p.age >= 65 and len(self.live(p.house)) >= 2 and
                        "dementia" not in p.tags and p.arch != "infant")
        for p in alone[:n_alone]:
            self._fall_alone(p)
        done = 0
        for p in fam:
            if done >= n - n_alone:
                break
            done += self._fall_family(p, night=done % 3 == 2)
        self._wanderings(self.n_of(8))
        self._long_absences(self.n_of(8))
        self._illnesses(self.n_of(8))

    def _fall_alone(self, p: Person) -> None:
        """Elderly person living alone falls; found by a relative, grid worker or neighbour."""
        r = self.ri
        for _ in range(40):
            d = self.rday(r, 2, self.D - 3)
            lo, hi = r.choice([(0.5, 5), (6, 10), (6, 10), (10, 17), (17, 22.5)])
            t = self.pick_time(p, d, lo, hi)
            if t is not None:
                break
        else:
            return
        self.used.add(p.pid)
        who = r.choices(["daughter", "grid_worker", "neighbour"], [0.5, 0.25, 0.25])[0]
        delay = {"daughter": r.uniform(5, 30), "grid_worker": r.uniform(8, 30),
                 "neighbour": r.uniform(10, 28)}[who]
        found = self.day_time(t + delay * HOUR, 8 if who != "neighbour" else 7, 20)
        if who == "grid_worker":
            while self.cal.off[int(found // DAY) % self.D] and found < self.T:
                found += DAY
            found = self.day_time(found, 9, 16.5)
        found = min(found, self.T - 3 * HOUR)
        if found - t < 2 * HOUR:
            found = t + r.uniform(2.5, 4) * HOUR
        p.incap.append((t, found, "fallen" if r.random() < 0.7 else "fallen_moving"))
        self.cut(p, t, found)
        v = self.house_visit(p.house, found, found + 1.2 * HOUR, 1, "rescue")
        if who == "daughter":
            v.ids = [self.rel_id(p.house, r)]
            v.lock_pid = p.house.lock and f"{p.house.lock.gate_id}#u09"
        elif who == "grid_worker":
            v.ids = [p.house.building.grid.worker_id]
        back = self.hospital(p, found, (2, 6))
        self.report(found + r.uniform(15, 40) * 60, p.house.building.grid.grid_id,
                    "medical_emergency", "grid_worker" if who == "grid_worker" else "citizen",
                    "独居老人在家摔倒，已送医", p.house)
        also = ["no_usage"] if "water" in p.house.devices else []
        if found - t >= 20 * HOUR:
            also.append("long_absent")
        self.record("stay_in", "person", p.pid, p.house.building.grid.grid_id, t, found,
                    {"scenario": "fall_alone", "found_by": who, "house_id": p.house.house_id,
                     "hospital_until": self.cal.ts(back) if back < self.T else None,
                     "hours": round((found - t) / HOUR, 1), "also": also})

    def _fall_family(self, p: Person, night: bool) -> int:
        """Elderly person falls while the rest of the family is at work, away or asleep."""
        r = self.ri
        others = [m for m in self.live(p.house) if m is not p]
        for _ in range(80):
            d = self.rday(r, 2, self.D - 3)
            lo, hi = (0.5, 5) if night else r.choice([(8.5, 16), (8.5, 16), (17, 22.5)])
            t = self.pick_time(p, d, lo, hi)
            if t is None:
                continue
            found = self._first_back(others, t)
            if found is not None and 2.5 * HOUR <= found - t <= 30 * HOUR:
                break
        else:
            return 0
        self.used.add(p.pid)
        p.incap.append((t, found, "fallen"))
        self.cut(p, t, found)
        back = self.hospital(p, found, (2, 7))
        night = (t % DAY) / HOUR < 5.5
        self.record("stay_in", "person", p.pid, p.house.building.grid.grid_id, t, found,
                    {"scenario": "fall_family_asleep" if night else "fall_family_away",
                     "house_id": p.house.house_id, "household": len(others) + 1,
                     "hospital_until": self.cal.ts(back) if back < self.T else None,
                     "hours": round((found - t) / HOUR, 1), "also": []})
        return 1

    def _first_back(self, others: list[Person], t: float) -> float | None:
        """When the first other household member notices: returns home or wakes up."""
        best = None
        for m in others:
            if m.age < 10:
                continue
            if self.home_at(m, t):
                if not self.asleep_at(m, t):
                    return None
                when = min(b for a, b in m.sleeps if a <= t < b) + self.ri.uniform(5, 30) * 60
            else:
                nxt = [x.t_in for x in m.trips if x.t_out - 600 <= t <= x.t_in + 600]
                when = nxt[0] if nxt else None
            if when is not None and (best is None or when < best):
                best = when
        return best

    def _exit_gate(self, p: Person) -> Gate | None:
        comp = p.house.building.compound
        if None in comp.ped_gates and self.ri.random() < 0.3:
            return None
        return comp.ped_gates[0]

    def _wanderings(self, n: int) -> None:
        """Dementia wandering by day and at night, plus elderly people lost outside."""
        r = self.ri
        dem = self.pool(lambda p: "dementia" in p.tags)
        k = 0
        for p in (dem * 2)[:max(0, n - 2)]:
            k += self._wander(p, night=r.random() < 0.35)
        lost = self.pool(lambda p: "elderly_alone" in p.tags and p.arch == "retired_active")
        for p in lost[:n - k]:
            self._lost(p)

    def _wander(self, p: Person, night: bool) -> int:
        r = self.ri
        others = [m for m in self.live(p.house) if m is not p and m.age >= 18]
        for _ in range(60):
            d = self.rday(r, 2, self.D - 2)
            t = self.pick_time(p, d, 0.5, 4) if night else self.pick_time(p, d, 9, 17)
            if t is None or any(x.t_out - DAY < t < x.t_in + DAY for x in p.trips
                                if x.purpose == "wander"):
                continue
            if night:
                wake = [min(b for a, b in m.sleeps if a <= t < b) for m in others
                        if self.asleep_at(m, t) and self.home_at(m, t)]
                if not wake and others:
                    continue
                t_rep = (min(wake) if wake else t + 4 * HOUR) + r.uniform(0.5, 1.5) * HOUR
                back = t_rep + r.uniform(0.5, 5) * HOUR
            else:
                t_rep = t + r.uniform(1, 3) * HOUR
                back = t + r.uniform(2.5, 10) * HOUR
            if back < self.T - HOUR:
                break
        else:
            return 0
        self.used.add(p.pid)
        how = r.choices(["family_walk", "police_car", "family_car"], [5, 3, 2])[0]
        if how == "family_car" and not p.house.plate:
            how = "police_car"
        if not others:
            how = "police_car"
        route_in = {"family_walk": "ped", "police_car": "none", "family_car": "car"}[how]
        gate = self._exit_gate(p)
        trip = self.add_trip(p, Trip(t, back, "wander", "ped", route_in,
                                     gate_out=gate.gate_id if gate else None))
        g = self._next_group()
        if others and how != "police_car":
            m = others[0] if how == "family_walk" else next(
                (x for x in others if x.pid == p.house.plate_owner), others[0])
            self.add_trip(m, Trip(t_rep + 600, back + r.uniform(0, 20), "search", route_in,
                                  route_in, g, True))
            trip.group = g
        elif how == "police_car":
            self.ambulance(p.house, back - 240, back + 900, "police")
        gid = p.house.building.grid.grid_id
        self.report(t_rep, gid, "missing_person", "police", "失智老人走失，家属报警", p.house)
        self.report(back - r.uniform(5, 20) * 60, gid, "missing_person", "police",
                    "走失老人已找到", p.house)
        row = self.record("out_no_return", "person", p.pid, gid, t, back,
                          {"scenario": "dementia_wander_night" if night else
                           "dementia_wander_day", "house_id": p.house.house_id,
                           "exit_gate": gate.gate_id if gate else "unmonitored",
                           "returned_by": how, "hours": round((back - t) / HOUR, 1)})
        self.post.append((row, p, trip))
        return 1

    def _lost(self, p: Person) -> None:
        """An elderly person's usual outing turns into hours lost; police bring them home."""
        r = self.ri
        cands = [x for x in p.trips if x.purpose in ("market", "park") and
                 2 * DAY < x.t_out < self.T - 1.5 * DAY and not x.group]
        if not cands:
            return
        x = r.choice(cands)
        self.used.add(p.pid)
        back = x.t_out + r.uniform(5, 12) * HOUR
        how = r.choice(["police_car", "police_walk"])
        trip = self.add_trip(p, Trip(x.t_out, back, "lost", x.route_out,
                                     "none" if how == "police_car" else "ped"))
        if how == "police_car":
            self.ambulance(p.house, back - 240, back + 900, "police")
        gid = p.house.building.grid.grid_id
        self.report(back - r.uniform(10, 40) * 60, gid, "missing_person", "police",
                    "老人迷路，民警护送回家", p.house)
        row = self.record("out_no_return", "person", p.pid, gid, x.t_out, back,
                          {"scenario": "elderly_lost_outside", "house_id": p.house.house_id,
                           "returned_by": how, "hours": round((back - x.t_out) / HOUR, 1)})
        self.post.append((row, p, trip))

    def _long_absences(self, n: int) -> None:
        """Key persons vanishing, elderly alone taken to hospital at night, tenants gone."""
        r = self.ri
        k3 = max(1, round(n * 3 / 8))
        keys = self.pool(lambda p: "key_person" in p.tags and p.shift_from is None)
        for p in keys[:k3]:
            self._vanish(p)
        olds = self.pool(lambda p: "elderly_alone" in p.tags and len(self.live(p.house)) == 1)
        for p in olds[:k3]:
            d = self.rday(r, 2, self.D - 4)
            t = self.pick_time(p, d, 0.5, 4.5)
            if t is None:
                continue
            self.used.add(p.pid)
            back = self.hospital(p, t - 40 * 60, (4, 10))
            t_gone = [x for x in p.trips if x.purpose == "hospital"][0].t_out
            also = ["stay_in"] + (["no_usage"] if "water" in p.house.devices else [])
            self.record("long_absent", "person", p.pid, p.house.building.grid.grid_id, t_gone,
                        back, {"scenario": "elderly_alone_ambulance_night",
                               "house_id": p.house.house_id, "exit_recorded": False,
                               "also": also})
        tens = self.pool(lambda p: "tenant" in p.tags and "minor" not in p.tags and
                         p.shift_from is None and p.arch != "night_shift")
        for p in tens[:max(1, n - 2 * k3)]:
            d = self.rday(r, 3, self.D - 5)
            t = self.pick_time(p, d, 9, 20)
            if t is None:
                continue
            self.used.add(p.pid)
            trip = self.add_trip(p, Trip(t, self.T + 30 * DAY, "moved_out", "ped", "ped"))
            row = self.record("long_absent", "person", p.pid, p.house.building.grid.grid_id, t,
                              None, {"scenario": "tenant_left_without_notice",
                                     "house_id": p.house.house_id, "also": ["out_no_return"]})
            self.post.append((row, p, trip))

    def _vanish(self, p: Person) -> None:
        r = self.ri
        d = self.rday(r, 3, self.D - 6)
        t = self.pick_time(p, d, 18, 23.5)
        if t is None:
            return
        self.used.add(p.pid)
        back = t + r.uniform(3, 8) * DAY if r.random() < 0.6 else self.T + 10 * DAY
        back = self.day_time(back, 10, 22) if back < self.T else back
        sneak = r.random() < 0.5
        trip = self.add_trip(p, Trip(t, back, "vanished", "ped", "ped",
                                     gate_out=None if sneak else "?"))
        row = self.record("long_absent", "person", p.pid, p.house.building.grid.grid_id, t,
                          back if back < self.T else None,
                          {"scenario": "key_person_unreported_exit" if sneak else
                           "key_person_left", "house_id": p.house.house_id, "also": []})
        self.post.append((row, p, trip))

    def _illnesses(self, n: int) -> None:
        """Elderly alone ill in bed: water use stops (or nearly), found by someone who calls."""
        r = self.ri
        pool = self.pool(lambda p: "elderly_alone" in p.tags and len(self.live(p.house)) == 1
                         and "water" in p.house.devices)
        for p in pool[:n]:
            d = self.rday(r, 2, self.D - 3)
            t = self.pick_time(p, d, 21.5, 28.5)
            if t is None:
                continue
            self.used.add(p.pid)
            mode = r.choice(["stroke", "fever"])
            who = r.choice(["grid_worker", "daughter", "neighbour"])
            found = self.day_time(t + r.uniform(16, 40) * HOUR, 8.5, 19)
            found = min(found, self.T - 3 * HOUR)
            p.incap.append((t, found, "fallen" if mode == "stroke" else "ill"))
            self.cut(p, t, found)
            self.house_visit(p.house, found, found + HOUR, 1, "rescue",
                             ids=[p.house.building.grid.worker_id] if who == "grid_worker"
                             else None)
            back = self.hospital(p, found, (3, 8))
            gid = p.house.building.grid.grid_id
            self.report(found + r.uniform(15, 40) * 60, gid, "medical_emergency",
                        "grid_worker" if who == "grid_worker" else "citizen",
                        "独居老人卧床不起，已送医", p.house)
            also = ["stay_in"] + (["long_absent"] if mode == "stroke" and found - t > DAY
                                  else [])
            self.record("no_usage", "house", p.house.house_id, gid, t, found,
                        {"scenario": f"ill_in_bed_{mode}", "person_id": p.pid, "found_by": who,
                         "meter_model": p.house.devices["water"].model,
                         "hospital_until": self.cal.ts(back) if back < self.T else None,
                         "hours": round((found - t) / HOUR, 1), "also": also})

    # ------------------------------------------------------------------ pre-routine changes
    def incidents_pre(self) -> None:
        """Changes that shape routines: night shifts starting, group rentals moving in."""
        r = self.ri
        n = self.n_of(8)
        cands = self.pool(lambda p: ("key_person" in p.tags or "tenant" in p.tags) and
                          18 <= p.age < 60 and p.arch in ("commuter", "gig", "irregular",
                                                           "late_sleeper"))
        keys = [p for p in cands if "key_person" in p.tags][: n // 2]
        chosen = keys + [p for p in cands if p not in keys][: n - len(keys)]
        for p in chosen:
            self.used.add(p.pid)
            p.shift_from = self.rday(r, 4, self.D - 8)
            if r.random() < 0.25 and p.shift_from + 7 < self.D:
                p.shift_to = p.shift_from + r.randint(6, 9)
        self.shifted = chosen
        self._group_rentals(self.n_of(3))
        nights = self.pool(lambda p: p.arch == "night_shift")
        nights.sort(key=lambda p: ("tenant" not in p.tags and "key_person" not in p.tags))
        self.night_controls = nights[: self.n_of(4)]
        for p in self.night_controls:
            self.used.add(p.pid)

    def _group_rentals(self, n: int) -> None:
        """A flat registered for 1-2 tenants that actually sleeps 8-12 workers."""
        r = self.ri
        houses = [h for h in self.houses if h.rented and 1 <= len(h.registered) <= 2 and
                  all(p.lives_here for p in h.members) and
                  h.building.compound.kind in ("new", "resettle")]
        houses.sort(key=lambda h: h.house_id)
        r.shuffle(houses)
        styles = ["fingerprint_lock", "shared_password_lock", "no_lock"]
        self.group_rentals = []
        for i in range(n):
            style = styles[i % 3]
            h = next((x for x in houses if style != "no_lock" or x.lock is None), None)
            if h is None:
                continue
            houses.remove(h)
            if style != "no_lock" and h.lock is None:
                self._add_lock(h)
            if h.lock is not None:
                h.lock.lock_method = "other" if style == "fingerprint_lock" else "password"
                h.lock.shared_password = style == "shared_password_lock"
                h.lock.lock_inside_log = style == "fingerprint_lock"
                h.lock.rec_out = 0.95 if h.lock.lock_inside_log else 0.0
            moved = 0.0 if i % 3 != 1 else self.rday(r, 3, self.D - 7) * DAY + 19.5 * HOUR
            k = r.randint(7, 11)
            for j in range(k):
                q = self._add_person(h, r.randint(19, 45), 2, registered=False)
                q.tags = []
                q.arch = r.choices(["commuter", "gig", "night_shift"], [5, 4, 1])[0]
                q.bed_h, q.wake_h = SLEEP[q.arch]
                q.moved_in = moved
                q.lock_id = f"{h.lock.gate_id}#u{len(h.members):02d}" if h.lock else None
                del j
            for p in h.members:
                self.used.add(p.pid)
            self.group_rentals.append((h, style, moved, k))

    def truth_pre(self) -> None:
        """Truth rows for the pre-routine incidents (needs the trips to date the start)."""
        for p in self.shifted:
            d0 = p.shift_from
            first = [x.t_out for x in p.trips if x.t_out >= d0 * DAY and x.purpose == "night"]
            start = first[0] if first else d0 * DAY + 22 * HOUR
            end = p.shift_to * DAY if p.shift_to else None
            self.record("unusual_hours", "person", p.pid, p.house.building.grid.grid_id, start,
                        end, {"scenario": "shift_to_night", "arch_before": p.arch,
                              "tags": p.tags, "house_id": p.house.house_id})
        for h, style, moved, _k in self.group_rentals:
            for p in h.members:
                if p.moved_in:
                    p.trips = [x for x in p.trips if x.t_out > p.moved_in + 600]
                    p.away.append((0.0, p.moved_in))
            if moved:
                for p in h.members:
                    if p.moved_in:
                        p.trips.insert(0, Trip(-DAY, p.moved_in + self.ri.uniform(0, 1800),
                                               "move_in", "none", "ped", prio=9))
            self.record("group_rental", "house", h.house_id, h.building.grid.grid_id,
                        moved or 0.0, None,
                        {"scenario": "group_rental_" + style, "registered": len(h.registered),
                         "living": len(self.live(h)), "began_before_window": not moved,
                         "lock": h.lock.gate_id if h.lock else None})

    # ------------------------------------------------------------------ crowd, reports, devices
    def incidents_other(self) -> None:
        """Crowds, report clusters, leaks, alarms and dead devices."""
        r = self.ri
        modes = ["wage_protest", "sales_meeting", "pyramid_gathering"]
        comps = sorted(self.compounds, key=lambda c: c.code)
        r.shuffle(comps)
        for i in range(self.n_of(3)):
            self._crowd(comps[i % len(comps)], modes[i % 3])
        kinds = ["fire", "flood", "dispute"]
        for i in range(self.n_of(3)):
            getattr(self, "_cluster_" + kinds[i % 3])()
        self._anomalies(self.n_of(5))
        self._thresholds(self.n_of(5) - 1)
        self._offline(self.n_of(6))

    def _crowd(self, comp: Compound, mode: str) -> None:
        """Dozens of outsiders arrive through one gate within half an hour."""
        r = self.ri
        gate = comp.ped_gates[0]
        d = self.rday(r, 3, self.D - 2)
        lo, hi, n, stay = {"wage_protest": (8.8, 9.6, (50, 90), (1.5, 4)),
                           "sales_meeting": (8.3, 9.0, (40, 60), (2, 3.2)),
                           "pyramid_gathering": (18.8, 19.5, (35, 55), (2.2, 3.5))}[mode]
        t0 = d * DAY + r.uniform(lo, hi) * HOUR
        span = r.uniform(15, 35) * 60
        last = t0
        k = r.randint(*n)
        for _ in range(k):
            ti = t0 + r.uniform(0, span)
            to = ti + r.uniform(*stay) * HOUR + r.uniform(-900, 900)
            fid = self.anon_id(self.rw) if r.random() < 0.35 else None
            self.extra_access.append((ti, gate, "in", "face", fid, None))
            self.extra_access.append((to, gate, "out", "face", fid, None))
            last = max(last, to)
        gid = gate.grid_id
        if mode == "wage_protest":
            self.report(t0 + 40 * 60, gid, "public_order", "grid_worker", "农民工聚集讨薪",
                        comp.buildings[0])
        self.record("crowd", "grid", gid, gid, t0, last,
                    {"scenario": mode, "gate_id": gate.gate_id, "people": k})

    def _cluster_fire(self) -> None:
        """A kitchen fire: smoke alarm, several citizens and the grid worker report it."""
        r = self.ri
        hs = [h for h in self.houses if not h.vacant and "smoke" in h.devices and
              self.live(h) and h.devices["smoke"].dead is None]
        hs.sort(key=lambda h: h.house_id)
        h = r.choice(hs)
        p = self.live(h)[0]
        d = self.rday(r, 2, self.D - 2)
        t = self.pick_time(p, d, 17.5, 20.5) or d * DAY + 18 * HOUR
        end = t + r.uniform(35, 60) * 60
        dev = h.devices["smoke"]
        for dt_s in (90, 240, 420):
            dev.events.append((t + dt_s, "smoke", 1))
        dev.events.append((end, "smoke", 0))
        gid = h.building.grid.grid_id
        for _ in range(r.randint(3, 6)):
            self.report(t + r.uniform(3, 20) * 60, gid, "fire", "citizen",
                        f"{h.building.bid}号楼有浓烟", h.building)
        self.report(t + r.uniform(10, 25) * 60, gid, "fire", "grid_worker", "楼内厨房起火",
                    h.building)
        self.report(t + r.uniform(5, 15) * 60, gid, "fire", "police", "接警：居民楼火情", h)
        self.report(t + 150, gid, "fire", "system", "烟感报警联动", h)
        self.ambulance(h, t + 12 * 60, end + 600, "fire")
        self.record("event_cluster", "grid", gid, gid, t, end,
                    {"scenario": "kitchen_fire", "house_id": h.house_id,
                     "also": ["sensor_threshold"]})
        self.record("sensor_threshold", "device", dev.device_id, gid, t + 90, end,
                    {"scenario": "kitchen_fire", "house_id": h.house_id, "metric": "smoke",
                     "also": ["event_cluster"]})

    def _cluster_flood(self) -> None:
        """Rainstorm: waterlogged roads and garages reported across one grid in two hours."""
        r = self.ri
        days = [d for d in range(2, self.D) if self.cal.rain[d]] or [self.D // 2]
        d = r.choice(days)
        self.cal.rain[d] = True
        comps = [c for c in sorted(self.compounds, key=lambda c: c.code) if c.kind == "new"]
        comp = r.choice(comps or self.compounds)
        gid = comp.buildings[0].grid.grid_id
        t = d * DAY + r.uniform(14, 19) * HOUR
        end = t + r.uniform(3, 5) * HOUR
        for _ in range(r.randint(5, 9)):
            b = r.choice(comp.buildings)
            src = r.choice(["citizen", "citizen", "grid_worker", "system"])
            self.report(t + r.uniform(10, 120) * 60, gid, "waterlogging", src,
                        r.choice(["地下车库进水", "路面积水", "楼道进水"]), b)
        for dev in comp.public_devices:
            if dev.kind == "level":
                peak = r.uniform(30, 60)
                for k in range(int((end - t) / 600)):
                    x = k * 600 / (end - t)
                    dev.events.append((t + k * 600 + 30, "water_level",
                                       round(2 + peak * math.sin(math.pi * x), 1)))
        self.record("event_cluster", "grid", gid, gid, t, end, {"scenario": "rainstorm_flood"})

    def _cluster_dispute(self) -> None:
        """A late-evening neighbour dispute: repeated noise and dispute reports, police."""
        r = self.ri
        b = r.choice(sorted((b for c in self.compounds for b in c.buildings),
                            key=lambda b: b.bid))
        gid = b.grid.grid_id
        d = self.rday(r, 2, self.D - 1)
        t = d * DAY + r.uniform(21, 22.5) * HOUR
        end = t + r.uniform(1, 2) * HOUR
        for _ in range(r.randint(4, 6)):
            self.report(t + r.uniform(5, 70) * 60, gid, r.choice(["noise", "dispute"]),
                        "citizen", "邻里纠纷，争吵打闹", b)
        for _ in range(2):
            self.report(t + r.uniform(20, 80) * 60, gid, "dispute", "police", "出警调解邻里纠纷",
                        b)
        self.ambulance(b.houses[0], t + 25 * 60, end, "police")
        self.record("event_cluster", "grid", gid, gid, t, end, {"scenario": "neighbour_dispute",
                                                                 "building": b.bid})

    def _dev_houses(self, kind: str, models: tuple = ()) -> list[House]:
        hs = [h for h in self.houses if kind in h.devices and h.devices[kind].dead is None and
              self.live(h) and
              (not models or h.devices[kind].model in models) and
              h.house_id not in self.used and not any(m.pid in self.used for m in h.members)]
        hs.sort(key=lambda h: h.house_id)
        self.ri.shuffle(hs)
        return hs

    def _anomalies(self, n: int) -> None:
        """Running toilets, burst pipes and a stuck water heater."""
        r = self.ri
        wm = self._dev_houses("water", ("SB-H1", "SB-H2", "SB-U"))
        kinds = ["running_toilet", "burst_pipe", "running_toilet", "burst_pipe", "heater_stuck"]
        for i in range(n):
            kind = kinds[i % 5]
            if kind == "heater_stuck":
                hs = self._dev_houses("power", ("DB-15", "DB-H"))
                h = hs[0]
                t0 = self.rday(r, 2, self.D - 4) * DAY + r.uniform(0, 24) * HOUR
                t1 = t0 + r.uniform(1.5, 4) * DAY
                h.power_extra.append((t0, t1, r.uniform(1.5, 2.2)))
                dev = h.devices["power"]
            else:
                h = wm.pop(0)
                dev = h.devices["water"]
                t0 = self.rday(r, 2, self.D - 3) * DAY + r.uniform(0, 24) * HOUR
                if kind == "running_toilet":
                    t1 = t0 + r.uniform(2, 7) * DAY
                    h.leaks.append((t0, t1, r.uniform(0.5, 1.5)))
                else:
                    t1 = t0 + r.uniform(1.5, 5) * HOUR
                    h.leaks.append((t0, t1, r.uniform(10, 25)))
                    self.report(t1 - 900, h.building.grid.grid_id, "water_leak", "citizen",
                                "楼上漏水，水从天花板滴下", h)
            self.used.add(h.house_id)
            self.record("sensor_anomaly", "device", dev.device_id, h.building.grid.grid_id, t0,
                        t1, {"scenario": kind, "house_id": h.house_id, "model": dev.model})

    def _thresholds(self, n: int) -> None:
        """Cooking smoke, a gas leak and an e-bike battery overheating in the charging shed."""
        r = self.ri
        for i in range(n):
            kind = ["cooking_smoke", "gas_leak", "ebike_overheat", "cooking_smoke"][i % 4]
            if kind == "ebike_overheat":
                devs = sorted((d for c in self.compounds for d in c.public_devices
                               if d.kind == "temp"), key=lambda d: d.device_id)
                dev = r.choice(devs)
                t = self.rday(r, 2, self.D - 1) * DAY + r.uniform(0.5, 4) * HOUR
                end = t + r.uniform(30, 50) * 60
                for k in range(12):
                    dev.events.append((t + k * 60, "temperature", round(30 + k * 8.5, 1)))
                dev.events.append((end, "temperature", 28.0))
                hid = ""
            elif kind == "gas_leak":
                h = self._dev_houses("gas")[0]
                dev = h.devices["gas"]
                t = self.rday(r, 2, self.D - 1) * DAY + r.uniform(7, 20) * HOUR
                peak = r.uniform(25, 45)
                for k in range(40):
                    v = peak * min(1.0, k / 15) if k < 25 else peak * max(0.0, 1 - (k - 25) / 12)
                    dev.events.append((t + k * 90, "gas", round(v + 0.5, 1)))
                end = t + 38 * 90
                hid = h.house_id
            else:
                h = self._dev_houses("smoke")[0]
                dev = h.devices["smoke"]
                p = self.live(h)[0] if self.live(h) else None
                d = self.rday(r, 2, self.D - 1)
                t = (self.pick_time(p, d, 11.3, 12.3) if p else None) or d * DAY + 11.8 * HOUR
                end = t + r.uniform(3, 10) * 60
                dev.events += [(t, "smoke", 1), (end, "smoke", 0)]
                hid = h.house_id
            self.used.add(hid or dev.device_id)
            self.record("sensor_threshold", "device", dev.device_id, dev.grid_id, t, end,
                        {"scenario": kind, "house_id": hid or None})

    def _offline(self, n: int) -> None:
        """Batteries dying, a meter module failing, a gateway unplugged, a crushed sensor."""
        r = self.ri
        plan = ["battery", "module", "gateway", "public", "battery", "module"]
        made = 0
        i = 0
        while made < n and i < 3 * n:
            kind = plan[i % len(plan)]
            i += 1
            t = self.rday(r, 2, self.D - 3) * DAY + r.uniform(0, 24) * HOUR
            fix = t + r.uniform(1.5, 6) * DAY if r.random() < 0.6 else None
            devs: list[Device] = []
            if kind == "battery":
                hs = self._dev_houses("smoke", ("YG-NB",)) + self._dev_houses("door")
                devs = [hs[0].devices["smoke" if "smoke" in hs[0].devices else "door"]]
                devs[0].low_battery_from = t - r.uniform(5, 9) * DAY
            elif kind == "module":
                devs = [self._dev_houses("water", ("SB-H1", "SB-H2"))[0].devices["water"]]
            elif kind == "gateway":
                hs = [h for h in self._dev_houses("pir")]
                devs = [d for k, d in sorted(hs[0].devices.items()) if d.model.endswith("ZB")]
                fix = t + r.uniform(0.5, 3) * DAY
            else:
                devs = [r.choice(sorted((d for c in self.compounds for d in c.public_devices
                                         if d.kind == "tilt"), key=lambda d: d.device_id))]
                devs[0].events.append((t - 20, "tilt", round(r.uniform(25, 60), 1)))
            for dev in devs[: n - made]:
                dev.dead = (t, fix)
                self.used.add(dev.house.house_id if dev.house else dev.device_id)
                self.record("device_offline", "device", dev.device_id, dev.grid_id, t, fix,
                            {"scenario": kind, "model": dev.model,
                             "house_id": dev.house.house_id if dev.house else None})
                made += 1

    # ------------------------------------------------------------------ negative controls
    def make_controls(self) -> None:
        """Look-alikes that are not incidents (run after incidents so subjects do not mix)."""
        r = self.ri
        for p in self.pool(lambda p: not p.tags and 20 <= p.age < 60)[: self.n_of(12)]:
            self._away(p, "travel", r.uniform(2, 6), r.random() < 0.3)
        for p in self.pool(lambda p: "elderly_alone" in p.tags and
                           len(self.live(p.house)) == 1)[: self.n_of(5)]:
            self._away(p, "elderly_visits_children", r.uniform(2, 5), r.random() < 0.5)
        for p in self.pool(lambda p: "elderly" in p.tags and p.arch in (
                "retired_home", "retired_active", "frail"))[: self.n_of(5)]:
            self._homebody(p)
        for p in self.pool(lambda p: "elderly_alone" in p.tags and p.arch in (
                "retired_active", "retired_home"))[: self.n_of(4)]:
            self._compound_only(p)
        self._registry_controls()
        late = self.pool(lambda p: p.arch == "late_sleeper")
        late.sort(key=lambda p: not p.tags)
        for p in late[: self.n_of(5)]:
            self.used.add(p.pid)
            self.record("late_sleeper", "person", p.pid, p.house.building.grid.grid_id, 0, None,
                        {"wake_h": round(p.wake_h, 1), "tags": p.tags}, control=True)
        for p in self.night_controls:
            self.record("night_shift", "person", p.pid, p.house.building.grid.grid_id, 0, None,
                        {"tags": p.tags, "work_days": list(p.work_days)}, control=True)
        for p in self.pool(lambda p: "dementia" in p.tags and len(self.live(p.house)) >= 2)[
                : self.n_of(3)]:
            self._day_trip(p)
        self._gatherings(self.n_of(4))
        self._renovations(self.n_of(2))
        self._carers(self.n_of(3))
        self._meter_controls()

    def _away(self, p: Person, name: str, days: float, by_car: bool) -> None:
        """Days away with recorded (or, when picked up by car, unrecorded) gate passes."""
        r = self.ri
        d = self.rday(r, 1, self.D - int(days) - 2)
        t = self.pick_time(p, d, 8, 18)
        if t is None:
            return
        self.used.add(p.pid)
        back = self.day_time(t + days * DAY, 9, 21)
        route = "none" if by_car else "ped"
        if by_car:
            self.ambulance(p.house, t - 600, t + 60, "relative")
            self.ambulance(p.house, back - 120, back + 900, "relative")
        self.add_trip(p, Trip(t, back, name, route, route))
        self.record(name, "person", p.pid, p.house.building.grid.grid_id, t, back,
                    {"house_id": p.house.house_id, "picked_up_by_car": by_car,
                     "tags": p.tags, "looks_like": ["long_absent", "out_no_return",
                                                    "no_usage"]}, control=True)

    def _homebody(self, p: Person) -> None:
        """Two or three days without going out, but cooking, washing and moving as usual."""
        r = self.ri
        d = self.rday(r, 1, self.D - 4)
        k = r.randint(2, 3)
        self.used.add(p.pid)
        self.cut(p, d * DAY, (d + k) * DAY)
        self.record("home_all_day", "person", p.pid, p.house.building.grid.grid_id, d * DAY,
                    (d + k) * DAY, {"house_id": p.house.house_id, "days": k,
                                    "looks_like": ["stay_in"]}, control=True)

    def _compound_only(self, p: Person) -> None:
        """An elderly person who only walks in the compound garden for days (no gate pass)."""
        r = self.ri
        d = self.rday(r, 1, self.D - 5)
        k = r.randint(3, 4)
        self.used.add(p.pid)
        for x in p.trips:
            if d * DAY <= x.t_out < (d + k) * DAY and x.route_out in ("ped", "car"):
                x.route_out = x.route_in = "compound"
        self.record("compound_only_walks", "person", p.pid, p.house.building.grid.grid_id,
                    d * DAY, (d + k) * DAY, {"house_id": p.house.house_id,
                                             "looks_like": ["stay_in"]}, control=True)

    def _registry_controls(self) -> None:
        """People registered here but living elsewhere; vacant homes with meters."""
        for p in sorted(self.persons, key=lambda p: p.pid):
            if p.registered and not p.lives_here and p.pid not in self.used:
                self.used.add(p.pid)
                self.record("registered_elsewhere", "person", p.pid,
                            p.house.building.grid.grid_id, 0, None,
                            {"house_id": p.house.house_id, "tags": p.tags}, control=True)
                if not self.live(p.house):
                    self.record("nobody_living", "house", p.house.house_id,
                                p.house.building.grid.grid_id, 0, None,
                                {"registered": len(p.house.registered)}, control=True)
        vac = [h for h in self.houses if h.vacant and "water" in h.devices]
        for h in vac[: self.n_of(5)]:
            self.record("vacant_home", "house", h.house_id, h.building.grid.grid_id, 0, None,
                        {"water_model": h.devices["water"].model}, control=True)

    def _day_trip(self, p: Person) -> None:
        """A person with dementia on a long day out with family (leaves and returns together)."""
        r = self.ri
        others = [m for m in self.live(p.house) if m is not p and m.age >= 18]
        d = self.rday(r, 2, self.D - 2)
        t = self.pick_time(p, d, 8.5, 10.5)
        if t is None or not others:
            return
        self.used.add(p.pid)
        back = t + r.uniform(6, 10) * HOUR
        g = self._next_group()
        self.add_trip(others[0], Trip(t, back, "family_day_trip", "ped", "ped", g, True))
        self.add_trip(p, Trip(t + 5, back + 5, "family_day_trip", "ped", "ped", g, False))
        self.record("accompanied_day_trip", "person", p.pid, p.house.building.grid.grid_id, t,
                    back, {"house_id": p.house.house_id, "with": others[0].pid,
                           "looks_like": ["out_no_return"]}, control=True)

    def _gatherings(self, n: int) -> None:
        """Holiday or birthday family dinners: many distinct visitors for one evening."""
        r = self.ri
        hs = [h for h in self.houses if len(self.live(h)) >= 2 and h.house_id not in self.used
              and not any(m.pid in self.used for m in h.members)]
        hs.sort(key=lambda h: (h.lock is None, h.house_id))
        hol = [d for d in range(self.D) if self.cal.dates[d] in self.cal.holidays]
        offs = [d for d in range(self.D) if self.cal.off[d]] or [0]
        for h in hs[:n]:
            d = r.choice(hol or offs)
            t = d * DAY + r.uniform(10.5, 16.5) * HOUR
            end = t + r.uniform(4, 8) * HOUR
            k = r.randint(6, 14)
            ids = [self.anon_id(self.rw) if r.random() < 0.5 else None for _ in range(k)]
            v = self.house_visit(h, t, end, k, "family_gathering", ids=ids)
            if h.lock:
                v.lock_pid = f"{h.lock.gate_id}#u{r.randint(5, 9):02d}"
            self.used.add(h.house_id)
            self.record("family_gathering", "house", h.house_id, h.building.grid.grid_id, t, end,
                        {"visitors": k, "looks_like": ["group_rental", "crowd"]}, control=True)

    def _renovations(self, n: int) -> None:
        """A renovation crew works in a flat for a week: many faces, daytime only."""
        r = self.ri
        hs = [h for h in self.houses if h.vacant and h.house_id not in self.used]
        for h in hs[:n]:
            if h.lock is None:
                self._add_lock(h)
                h.lock.lock_method = "password"
                h.lock.shared_password = True
            d0 = self.rday(r, 1, self.D - 8)
            crew = [self.anon_id(self.rw) for _ in range(r.randint(4, 7))]
            days = [d for d in range(d0, min(self.D, d0 + 9)) if not self.cal.off[d]]
            for d in days:
                who = r.sample(crew, r.randint(2, len(crew)))
                t = d * DAY + r.uniform(7.8, 8.6) * HOUR
                self.house_visit(h, t, d * DAY + r.uniform(16.8, 17.8) * HOUR, len(who),
                                 "renovation", ids=who)
            self.used.add(h.house_id)
            self.record("renovation_crew", "house", h.house_id, h.building.grid.grid_id,
                        d0 * DAY, (days[-1] + 1) * DAY if days else d0 * DAY + DAY,
                        {"crew": len(crew), "looks_like": ["group_rental"]}, control=True)

    def _carers(self, n: int) -> None:
        """Hourly carers (钟点工) visiting frail people every morning."""
        r = self.ri
        for p in self.pool(lambda p: p.arch in ("frail", "dementia"))[:n]:
            h = p.house
            cid = self.anon_id(self.rw)
            lock = f"{h.lock.gate_id}#u08" if h.lock else None
            for d in range(self.D):
                if r.random() < 0.85:
                    t = d * DAY + r.uniform(8.3, 9.2) * HOUR
                    self.house_visit(h, t, t + r.uniform(2, 3.5) * HOUR, 1, "carer",
                                     lock_pid=lock, ids=[cid])
            self.used.add(p.pid)
            self.record("daily_carer", "house", h.house_id, h.building.grid.grid_id, 0, None,
                        {"person_id": p.pid, "carer_face": cid,
                         "looks_like": ["group_rental"]}, control=True)

    def _meter_controls(self) -> None:
        """Bath / big laundry spikes and meters that only report once a day."""
        r = self.ri
        for h in self._dev_houses("water", ("SB-H1", "SB-U"))[: self.n_of(3)]:
            p = self.live(h)[0] if self.live(h) else None
            if p is None:
                continue
            d = self.rday(r, 1, self.D - 1)
            t = self.pick_time(p, d, 19.5, 21.5) or d * DAY + 20 * HOUR
            h.leaks.append((t, t + 25 * 60, r.uniform(7, 10)))
            self.used.add(h.house_id)
            self.record("bath_fill", "device", h.devices["water"].device_id,
                        h.building.grid.grid_id, t, t + 1500,
                        {"house_id": h.house_id, "litres": "175-250",
                         "looks_like": ["sensor_anomaly"]}, control=True)
        daily = [d for d in self.devices if d.model in ("SB-D", "DB-D") and d.dead is None]
        for dev in daily[: self.n_of(3)]:
            self.record("daily_reporting_meter", "device", dev.device_id, dev.grid_id, 0, None,
                        {"model": dev.model, "looks_like": ["device_offline"]}, control=True)

    # ------------------------------------------------------------------ background visitors
    def make_visitors(self) -> None:
        """Relatives and friends visiting, plus the holiday peak and the school-rush control."""
        r = self.rd
        hol = {d for d in range(self.D) if self.cal.dates[d] in self.cal.holidays}
        for h in self.houses:
            live = self.live(h)
            if not live:
                continue
            alone_old = len(live) == 1 and live[0].age >= 60
            for d in range(self.D):
                pv = (0.13 if self.cal.off[d] else 0.05) * (3 if d in hol else 1) * (
                    1.6 if alone_old else 1)
                if r.random() >= pv:
                    continue
                k = r.choices([1, 2, 3, 4], [5, 3, 1.5, 0.5])[0]
                t = d * DAY + r.uniform(9.5, 19) * HOUR
                if not self.someone_home(h, t):
                    continue
                ids = [self.rel_id(h, r) if r.random() < 0.55 else None for _ in range(k)]
                v = Visit(h, t, t + r.uniform(0.8, 4.5) * HOUR, ids, "visit")
                if r.random() < 0.3:
                    v.route = "car"
                    v.plate = self.new_plate(r)
                h.visits.append(v)
        comps = sorted(self.compounds, key=lambda c: -sum(
            1 for b in c.buildings for h in b.houses for p in h.members
            if p.arch in ("primary", "preschool", "secondary")))
        g = comps[0].ped_gates[0]
        self.record("school_rush", "grid", g.grid_id, g.grid_id, 0, None,
                    {"gate_id": g.gate_id, "daily": "06:40-07:50, 16:20-18:30",
                     "looks_like": ["crowd"]}, control=True)
        if hol:
            gid = self.grids[0].grid_id
            d = min(hol)
            self.record("holiday_visitors", "grid", gid, gid, d * DAY, (d + 1) * DAY,
                        {"date": self.cal.dates[d].isoformat(), "looks_like": ["crowd"]},
                        control=True)

    def make_couriers(self) -> None:
        """Food riders, door-to-door parcels and compound staff: frequent unregistered faces."""
        r = self.rd
        for comp in self.compounds:
            riders = [self.anon_id(self.rw) for _ in range(r.randint(20, 40))]
            staff = [self.anon_id(self.rw) for _ in range(r.randint(3, 6))]
            homes = [(h, sum(0.12 if 18 <= p.age <= 40 else 0.04 if p.age < 60 else 0.01
                             for p in self.live(h))) for b in comp.buildings for h in b.houses]
            for d in range(self.D):
                for h, lam in homes:
                    for _ in range(self._poisson(r, lam * (1.3 if self.cal.rain[d] else 1))):
                        slot = r.choices([(11, 13), (17.5, 20), (21, 24)], [45, 40, 15])[0]
                        self._delivery(comp, h, d * DAY + r.uniform(*slot) * HOUR,
                                       r.choice(riders))
                    if lam and r.random() < 0.05:
                        self._delivery(comp, h, d * DAY + r.uniform(9, 18) * HOUR, None)
                for s in staff:
                    if self.cal.off[d] and r.random() < 0.6:
                        continue
                    g = comp.ped_gates[0]
                    self._raw_pass(d * DAY + r.uniform(6.8, 7.7) * HOUR, g, "in", "face", s)
                    self._raw_pass(d * DAY + r.uniform(17, 18.2) * HOUR, g, "out", "face", s)

    def _poisson(self, r: random.Random, lam: float) -> int:
        k, p, lim = 0, 1.0, math.exp(-lam)
        while True:
            p *= r.random()
            if p <= lim:
                return k
            k += 1

    def _delivery(self, comp: Compound, h: House, t: float, rider: str | None) -> None:
        """A rider walks (or rides) in, is buzzed through the unit door, and leaves."""
        r = self.rd
        g = comp.ped_gates[0]
        if comp.kind == "old" and r.random() < 0.5:
            g = None
        back = t + r.uniform(4, 10) * 60
        method = "qr" if r.random() < 0.3 else "face"
        self._raw_pass(t, g, "in", method, rider if method == "face" else None)
        unit = h.building.unit_doors.get(h.unit)
        if unit is not None and r.random() < 0.7:
            self._raw_pass(t + 90, unit, "in", "other", None)
        if self.someone_home(h, t + 150):
            h.door_extra.append(t + 150)
        self._raw_pass(back, g, "out", "face", rider)

    # ------------------------------------------------------------------ access passes
    def make_access(self) -> None:
        """Walk every trip and visit through the gates, then the extra vehicle/crowd passes."""
        for p in self.persons:
            if not p.lives_here:
                continue
            for trip in p.trips:
                self._trip_passes(p, trip)
        for h in self.houses:
            for v in sorted(h.visits, key=lambda v: v.t_in):
                self._visit_passes(v)
        for t, gate, direction, method, pid, plate in sorted(
                self.extra_access, key=lambda x: (x[0], x[1].gate_id if x[1] else "")):
            self._raw_pass(t, gate, direction, method, pid, plate)

    def _walk(self, p: Person | None, h: House) -> float:
        b = h.building
        slow = 1.4 if p is not None and p.age >= 70 else 1.0
        return b.walk_s * slow + h.floor * (6 if b.floors > 6 else 14)

    def _choose_gate(self, p: Person, want: str | None) -> Gate | None:
        """Gate actually used: fixed by the scenario, or habit (some prefer the side exit)."""
        comp = p.house.building.compound
        if want != "?":
            return self.gate_by_id.get(want) if want else None
        if len(comp.ped_gates) == 1:
            return comp.ped_gates[0]
        side = min(0.9, comp.gate_weights[1] * (1 + 2 * p.side_pref))
        return comp.ped_gates[1] if self.rp.random() < side else comp.ped_gates[0]

    def _trip_passes(self, p: Person, trip: Trip) -> None:
        h = p.house
        walk = self._walk(p, h)
        unit = h.building.unit_doors.get(h.unit)
        if 0 <= trip.t_out < self.T:
            if h.lock is not None and trip.lead and h.lock.lock_inside_log:
                self._pass(trip, p, h.lock, "out", trip.t_out)
            if trip.route_out == "ped":
                self._pass(trip, p, self._choose_gate(p, trip.gate_out), "out", trip.t_out + walk)
            elif trip.route_out == "car" and h.plate and trip.lead:
                self._pass(trip, p, h.building.compound.vehicle_gate, "out",
                           trip.t_out + walk * 0.5 + 60)
        if 0 <= trip.t_in < self.T:
            if trip.route_in == "ped":
                self._pass(trip, p, self._choose_gate(p, trip.gate_in), "in", trip.t_in - walk)
            elif trip.route_in == "car" and h.plate and trip.lead:
                self._pass(trip, p, h.building.compound.vehicle_gate, "in",
                           trip.t_in - walk * 0.5 - 60)
            if unit is not None and trip.route_in in ("ped", "car", "compound") and (
                    trip.route_in != "car" or h.building.compound.kind == "new"):
                self._pass(trip, p, unit, "in", trip.t_in - h.floor * 6 - 25)
            if h.lock is not None and (trip.lead or self.rp.random() < 0.2):
                if trip.route_in != "none" or self.rp.random() < 0.5:
                    self._pass(trip, p, h.lock, "in", trip.t_in)

    def _pass(self, trip: Trip, p: Person, gate: Gate | None, direction: str, t: float) -> None:
        """Record (or miss) one person passing one gate; note the outcome on the trip."""
        r = self.rp
        if gate is None:
            trip.passes.append((round(t), None, direction, False, None, None))
            return
        rec = gate.rec_in if direction == "in" else gate.rec_out
        if not trip.lead and gate.kind in ("ped", "unit"):
            rec *= 0.75  # walking behind the one who opened the gate
        ident = self._identify(p, gate, t, direction) if r.random() < rec else None
        if ident is None:
            trip.passes.append((round(t), gate.gate_id, direction, False, None, None))
            return
        method, pid, conf, plate = ident
        self.emit_access(t, gate, direction, method, pid, plate, conf)
        trip.passes.append((round(t), gate.gate_id, direction, True, pid, method))

    def _identify(self, p: Person, gate: Gate, t: float, direction: str):
        """What the reader reports: method, person id (or None), confidence, plate."""
        r = self.rp
        if gate.kind == "lock":
            if direction == "out":
                return ("other", None, None, None)
            m = gate.lock_method
            pid = None if m == "password" and gate.shared_password else p.lock_id
            return (m, pid, round(r.uniform(0.85, 0.99), 2) if m == "face" else None, None)
        if gate.kind == "vehicle":
            return ("plate", p.house.plate_owner, round(r.uniform(0.9, 0.995), 3), p.house.plate)
        if "card" in gate.methods and (p.card_pid or "face" not in gate.methods):
            if p.card_pid and (r.random() < 0.8 or "face" not in gate.methods):
                return ("card", p.card_pid, None, None)
            if "face" not in gate.methods:
                if p.registered and p.age >= 12:
                    return ("card", p.pid, None, None)
                return ("other", None, None, None) if r.random() < 0.4 else None
        return self._face(p, gate, t)

    def _face(self, p: Person, gate: Gate, t: float):
        r = self.rp
        hour = (t % DAY) / HOUR
        night = 0.93 if hour >= 19 or hour < 6 else 1.0
        if p.face_id is None:
            return ("face", None, round(r.uniform(0.2, 0.5), 2), None)
        pr = p.face_p * gate.recog * night * (1.0 if p.registered else 0.85)
        if r.random() < pr:
            pid = p.face_id
            if r.random() < 0.003:
                mates = [m.pid for m in p.house.members if m is not p and m.registered]
                pid = mates[0] if mates else pid
            return ("face", pid, round(r.uniform(0.8, 0.99), 3), None)
        return ("face", None, round(r.uniform(0.3, 0.65), 2), None)

    def _visit_passes(self, v: Visit) -> None:
        """Visitors: QR code or stranger capture at the gate, buzzed in at the unit door."""
        r = self.rp
        h = v.house
        comp = h.building.compound
        walk = self._walk(None, h)
        unit = h.building.unit_doors.get(h.unit)
        for i, fid in enumerate(v.ids):
            lag = i * r.uniform(2, 8)
            if 0 <= v.t_in < self.T:
                if v.route == "car":
                    if i == 0:
                        self._raw_pass(v.t_in - walk * 0.5 - 60, comp.vehicle_gate, "in",
                                       "plate", None, v.plate)
                else:
                    self._raw_pass(v.t_in - walk + lag, comp.ped_gates[0], "in",
                                   "qr" if r.random() < 0.25 else "face", fid, lead=i == 0)
                if unit is not None and i == 0 and r.random() < 0.6:
                    self._raw_pass(v.t_in - 30, unit, "in", "other", None)
                if h.lock is not None and i == 0 and (v.lock_pid or v.purpose in (
                        "rescue", "renovation", "bring_home")):
                    m = h.lock.lock_method
                    pid = None if m == "password" and h.lock.shared_password else v.lock_pid
                    self.emit_access(v.t_in, h.lock, "in", m, pid)
            if 0 <= v.t_out < self.T:
                if h.lock is not None and i == 0 and h.lock.lock_inside_log:
                    self.emit_access(v.t_out, h.lock, "out", "other", None)
                if v.route == "car":
                    if i == 0:
                        self._raw_pass(v.t_out + walk * 0.5 + 60, comp.vehicle_gate, "out",
                                       "plate", None, v.plate)
                else:
                    self._raw_pass(v.t_out + walk + lag, comp.ped_gates[0], "out", "face", fid,
                                   lead=i == 0)

    def _raw_pass(self, t: float, gate: Gate | None, direction: str, method: str,
                  pid: str | None, plate: str | None = None, lead: bool = True) -> None:
        """A pass by someone without a simulated person (visitor, rider, crowd, vehicle)."""
        r = self.rp
        if gate is None or not 0 <= t < self.T:
            return
        rec = gate.rec_in if direction == "in" else gate.rec_out
        if gate.kind == "unit":
            rec = max(rec, 0.8)
        if not lead:
            rec *= 0.75
        if r.random() >= rec:
            return
        conf = None
        if method == "plate":
            conf = round(r.uniform(0.85, 0.99), 3)
        elif method == "face":
            if "face" not in gate.methods:
                method, pid = "other", None
            elif pid is not None and r.random() < 0.8 * gate.recog:
                conf = round(r.uniform(0.75, 0.97), 3)
            else:
                pid, conf = None, round(r.uniform(0.25, 0.6), 2)
        elif method in ("qr", "other"):
            pid = None
        self.emit_access(t, gate, direction, method, pid, plate, conf)

    # ------------------------------------------------------------------ emission
    def emit_access(self, t: float, gate: Gate, direction: str, method: str, pid: str | None,
                    plate: str | None = None, conf: float | None = None) -> None:
        """Gates upload in small batches: arrival lags the pass by up to half a minute."""
        self.seq["access"] += 1
        obj = {"event_id": f"A{self.seq['access']:09d}", "ts": self.cal.ts(t),
               "gate_id": gate.gate_id, "direction": direction, "method": method,
               "person_id": pid}
        if plate:
            obj["plate"] = plate
        if conf is not None:
            obj["confidence"] = conf
        obj["stream"] = "access"
        late = self.rp.random() < 0.03  # a gate that buffered while its uplink was down
        self._line(t + (self.rp.uniform(10, 60) if late else self.rp.uniform(0.3, 3)), obj)

    def _line(self, arrival: float, obj: dict) -> None:
        s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        self.lines.append((arrival, len(self.lines), s))

    # ------------------------------------------------------------------ home devices
    def make_iot(self) -> None:
        """Per-minute occupancy -> water, power, motion, door; then every device's messages."""
        mins = np.arange(self.M)
        self.hour_of = (mins % 1440) // 60
        self.temp = self.cal.temp(mins)
        dark = np.zeros(self.M, dtype=bool)
        for d in range(self.D):
            rise, sset = self.cal.sun(d)
            m = mins[d * 1440:(d + 1) * 1440] % 1440 / 60
            dark[d * 1440:(d + 1) * 1440] = (m < rise + 0.3) | (m > sset - 0.3)
        self.dark = dark
        for h in self.houses:
            if h.devices:
                self._house_iot(h)
        for comp in self.compounds:
            for dev in comp.public_devices:
                self._public_iot(dev)

    def _mi(self, t: float) -> int:
        return min(self.M, max(0, int(t // 60)))

    def _house_state(self, h: House) -> dict:
        """Minute arrays: awake people (+guests), asleep, ill, moving-on-the-floor, toilet rate."""
        M = self.M
        st = {"awake": np.zeros(M, np.float32), "asleep": np.zeros(M, np.int16),
              "ill": np.zeros(M, np.int16), "moving": np.zeros(M, bool),
              "night": np.zeros(M, np.float32), "people": []}
        for p in self.live(h):
            arr = np.full(M, 2, np.int8)
            for a, b in p.sleeps:
                arr[self._mi(a):self._mi(b)] = 1
            for x in p.trips:
                arr[self._mi(x.t_out):self._mi(x.t_in)] = 0
            for a, b in p.away:
                arr[self._mi(a):self._mi(b)] = 0
            for a, b, kind in p.incap:
                arr[self._mi(a):self._mi(b)] = 4 if kind == "ill" else 3
                if kind == "fallen_moving":
                    st["moving"][self._mi(a):self._mi(a + 3 * HOUR)] = True
            st["awake"] += arr == 2
            st["asleep"] += arr == 1
            st["ill"] += arr == 4
            st["night"] += (arr == 1) * ((1.4 if p.age >= 60 else 0.35) / 480)
            st["people"].append((p, arr))
        for v in h.visits:
            if v.presence:
                st["awake"][self._mi(v.t_in):self._mi(v.t_out)] += 0.6 * len(v.ids)
        return st

    def _water(self, h: House, st: dict) -> tuple[np.ndarray, list, list]:
        """Litres per minute, plus shower and cooking minutes (they drive electric loads)."""
        g = self.np
        r = self.rd
        a = st["awake"]
        n = g.poisson(0.02 * WATER_PROFILE[self.hour_of] * a)
        w = np.zeros(self.M)
        idx = n > 0
        w[idx] = g.gamma(1.5 * n[idx], 2.7)
        flush = g.poisson(st["night"] + st["ill"] / 1200.0)
        w += flush * 6.5
        st["flush"] = flush > 0
        showers, meals = [], []
        for p, arr in st["people"]:
            pr = 0.35 if p.age >= 60 else 0.5 if p.age < 12 else 0.65
            for d in range(self.D):
                if r.random() >= pr:
                    continue
                lo, hi = (6.2, 7.6) if r.random() < 0.25 and p.age >= 18 else (19.5, 22.8)
                m = d * 1440 + int(r.uniform(lo, hi) * 60)
                if m < self.M - 15 and arr[m] == 2:
                    k = r.randint(6, 12)
                    w[m:m + k] += r.uniform(35, 70) / k
                    showers.append(m)
        live = len(st["people"])
        for d in range(self.D):
            for hh, lo, hi, pr in ((7.0, 3, 6, 0.6), (11.6, 8, 15, 0.75), (18.2, 10, 20, 0.95)):
                m = d * 1440 + int((hh + r.uniform(-0.3, 0.4)) * 60)
                if m < self.M - 20 and a[m] > 0 and r.random() < pr:
                    w[m:m + 20] += r.uniform(lo, hi) / 20
                    meals.append(m)
            m = d * 1440 + int(r.uniform(8.5, 20.5) * 60)
            if live and m < self.M - 45 and a[m] > 0 and r.random() < 0.08 + 0.06 * live:
                for off in (0, 18, 40):
                    w[m + off] += 15
        for t0, t1, lpm in h.leaks:
            w[self._mi(t0):self._mi(t1)] += lpm
        return w, showers, meals

    def _power(self, h: House, st: dict, showers: list, meals: list) -> np.ndarray:
        """kWh per minute from base load, activity, lights, cooking, AC and water heater."""
        a = st["awake"]
        if h.vacant or not st["people"] and not h.visits:
            kw = np.full(self.M, 0.012 if sum(map(ord, h.house_id)) % 2 else 0.0)
        else:
            kw = np.full(self.M, h.base_kw + 0.035)
        kw = kw + h.act_kw * a + self.dark * np.minimum(a, 3) * 0.045
        hot = self.temp > h.ac_temp
        kw += 0.48 * (hot & ((a > 0) | (st["asleep"] > 0)))
        if h.electric_cooking:
            for m in meals:
                kw[m:m + 22] += 1.3
        if h.eheater:
            kw += 0.02
            for m in showers:
                kw[m + 5:m + 40] += 2.0
        for t0, t1, k in h.power_extra:
            kw[self._mi(t0):self._mi(t1)] += k
        return kw / 60.0

    def _house_iot(self, h: House) -> None:
        st = self._house_state(h)
        w, showers, meals = self._water(h, st)
        devs = h.devices
        if "water" in devs:
            self._meter(devs["water"], w / 1000.0, "water", "m3")
        if "power" in devs:
            self._meter(devs["power"], self._power(h, st, showers, meals), "power", "kWh")
        if "pir" in devs:
            self._pir(devs["pir"], st)
        if "door" in devs:
            self._door(devs["door"], h)
        for k in ("smoke", "gas"):
            if k in devs:
                self._periodic(devs[k])
        for k in ("pir", "door"):
            if k in devs:
                self._periodic(devs[k])

    def _silent(self, dev: Device, t: float) -> bool:
        if dev.dead and dev.dead[0] <= t < (dev.dead[1] or 1e18):
            return True
        return any(a <= t < b for a, b in dev.outages)

    def _battery(self, dev: Device, t: float) -> float | None:
        """Slow drain; a dying battery sinks to a few percent before the device goes quiet."""
        if dev.battery is None:
            return None
        b = dev.battery - dev.battery_rate * t / DAY
        if dev.dead and dev.low_battery_from is not None:
            t0, t1 = dev.low_battery_from, dev.dead[0]
            if t1 is not None and dev.dead[1] is not None and t >= dev.dead[1]:
                return 1.0
            if t >= t0:
                b = min(b, 0.2) - (min(b, 0.2) - 0.03) * min(1.0, (t - t0) / max(1, t1 - t0))
        return round(max(0.01, b), 2)

    def _report_times(self, dev: Device, q: np.ndarray) -> list[float]:
        """When the device transmits: fixed cadence, daily, or at the end of each flow."""
        if dev.model == "SB-U":
            on = np.flatnonzero(q > 0.00005)
            out: list[float] = []
            if on.size == 0:
                return out
            start = prev = int(on[0])
            for m in on[1:].tolist() + [None]:
                if m is not None and m - prev <= 2 and m - start < 60:
                    prev = m
                    continue
                out.append((prev + 1) * 60 + 25.0)
                if m is not None:
                    start = prev = m
            return out
        if dev.interval == DAY:
            return [d * DAY + dev.phase for d in range(self.D)]
        return list(np.arange(dev.phase, self.T, dev.interval, dtype=float))

    def _meter(self, dev: Device, q: np.ndarray, metric: str, unit: str) -> None:
        """Deltas of a quantised register since the last *sent* reading (see docstring)."""
        r = self.rd
        cum = np.concatenate([[0.0], np.cumsum(q)])
        last = 0
        nd = 3 if metric == "water" else 2
        for t in self._report_times(dev, q):
            if t >= self.T or self._silent(dev, t):
                continue
            reg = int(math.floor(cum[min(self.M, int(t // 60))] / dev.res + 1e-9))
            if r.random() < dev.loss:
                last = reg  # sent but lost in the network: that delta never arrives
                continue
            self.emit_iot(t, dev, metric, round((reg - last) * dev.res, nd), unit)
            last = reg
        if dev.model == "SB-U":
            self._periodic(dev)
        self._events(dev)

    def _periodic(self, dev: Device) -> None:
        """Heartbeats (or periodic gas readings) at the model's interval."""
        r = self.rd
        for t in np.arange(dev.phase, self.T, dev.interval, dtype=float).tolist():
            if self._silent(dev, t) or r.random() < dev.loss:
                continue
            if dev.kind == "gas":
                self.emit_iot(t, dev, "gas", round(max(0.0, r.gauss(0.3, 0.25)), 1), "%LEL")
            else:
                self.emit_iot(t, dev, "heartbeat", 1)
        if dev.kind != "water":
            self._events(dev)

    def _events(self, dev: Device) -> None:
        for t, metric, value in sorted(dev.events):
            if 0 <= t < self.T and not self._silent(dev, t):
                self.emit_iot(t, dev, metric, value)

    def _pir(self, dev: Device, st: dict) -> None:
        """Motion with a hardware blind time: at most one report per few minutes."""
        g = self.np
        prob = 1 - np.exp(-0.3 * st["awake"])
        prob = np.maximum(prob, st["flush"] * 0.9)
        prob = np.maximum(prob, st["moving"] * 0.02 + (st["ill"] > 0) * 0.008)
        cand = np.flatnonzero(g.random(self.M) < prob).tolist()
        blind = 3 if int(dev.device_id[-1]) % 2 else 5
        last = -99
        for m in cand:
            if m - last >= blind:
                t = m * 60 + self.rd.uniform(0, 59)
                if not self._silent(dev, t) and self.rd.random() >= dev.loss:
                    self.emit_iot(t, dev, "motion", 1)
                last = m
        self._events(dev)

    def _door(self, dev: Device, h: House) -> None:
        """Door contact: open (1) then close (0) for every leaving, arrival, visit, delivery."""
        r = self.rd
        times = list(h.door_extra)
        for p in self.live(h):
            for x in p.trips:
                if x.lead or not x.group:
                    times += [x.t_out, x.t_in]
        for v in h.visits:
            times += [v.t_in, v.t_out]
        for t in sorted(times):
            if 0 <= t < self.T - 60 and not self._silent(dev, t) and r.random() >= dev.loss:
                self.emit_iot(t, dev, "door", 1)
                self.emit_iot(t + r.uniform(4, 40), dev, "door", 0)

    def _public_iot(self, dev: Device) -> None:
        """Manhole tilt, hydrant pressure, garage water level, charging-shed temperature."""
        r = self.rd
        if dev.kind == "smoke":
            self._periodic(dev)
            return
        for t in np.arange(dev.phase, self.T, dev.interval, dtype=float).tolist():
            if self._silent(dev, t) or r.random() < dev.loss:
                continue
            hour = (t % DAY) / HOUR
            m = self._mi(t) if t < self.T else self.M - 1
            if dev.kind == "tilt":
                metric, v, unit = "tilt", round(abs(r.gauss(0.5, 0.25)), 1), "deg"
            elif dev.kind == "pressure":
                dip = 0.02 if 6.5 <= hour < 8.5 or 18 <= hour < 20.5 else 0.0
                metric, v, unit = "pressure", round(0.32 - dip + r.gauss(0, 0.006), 3), "MPa"
            elif dev.kind == "level":
                rain = 3.0 if self.cal.rain[int(t // DAY)] else 0.0
                metric, v, unit = "water_level", round(abs(r.gauss(1.0 + rain, 0.5)), 1), "cm"
            else:
                load = 6.0 if hour >= 19 or hour < 1 else 1.5
                temp = float(self.temp[min(m, self.M - 1)])
                metric, v, unit = "temperature", round(temp + load + r.gauss(0, 0.4), 1), "°C"
            if not any(abs(t - e[0]) < dev.interval and e[1] == metric for e in dev.events):
                self.emit_iot(t, dev, metric, v, unit)
        self._events(dev)

    def emit_iot(self, t: float, dev: Device, metric: str, value: float,
                 unit: str | None = None) -> None:
        """Device clock skew on ts; network delay (rarely up to two minutes) on arrival."""
        r = self.rd
        self.seq["iot"] += 1
        obj = {"event_id": f"I{self.seq['iot']:010d}",
               "ts": self.cal.ts(max(0.0, min(self.T - 1, t + dev.skew))),
               "device_id": dev.device_id, "metric": metric, "value": value}
        if unit:
            obj["unit"] = unit
        b = self._battery(dev, t)
        if b is not None:
            obj["battery"] = b
        obj["stream"] = "iot"
        tech = dev.model[-2:]
        delay = r.uniform(0.2, 2) if tech == "ZB" else r.uniform(1, 8)
        if r.random() < 0.005:
            delay = r.uniform(20, 110)
        arrival = max(0.0, t + dev.skew) + delay  # ordered by the device's own clock
        self._line(arrival, obj)
        if r.random() < 0.0005:  # at-least-once delivery: the same message twice
            self._line(arrival + r.uniform(1, 30), obj)

    # ------------------------------------------------------------------ reports
    def make_reports(self) -> None:
        """Background grid reports (workers have daily quotas), then emit all reports."""
        r = self.rd
        for grid in self.grids:
            elders = [h for b in grid.buildings for h in b.houses
                      if any("elderly_alone" in p.tags for p in h.registered)]
            for d in range(self.D):
                off = self.cal.off[d]
                for src, lam, lo, hi in (("grid_worker", 1.5 if off else 5.0, 8.5, 17.5),
                                         ("citizen", 1.3, 7, 22.5), ("police", 0.3, 0, 24),
                                         ("system", 0.2, 0, 24)):
                    for _ in range(self._poisson(r, lam)):
                        self._background_report(grid, src, d * DAY + r.uniform(lo, hi) * HOUR,
                                                elders)
        for t, gid, cat, src, text, lat, lon in sorted(self.reports):
            if 0 <= t < self.T:
                self.emit_report(t, gid, cat, src, text, lat, lon)

    def _background_report(self, grid: Grid, src: str, t: float, elders: list) -> None:
        r = self.rd
        cats, texts, w = zip(*REPORT_KINDS[src], strict=True)
        i = r.choices(range(len(cats)), w)[0]
        b = r.choice(grid.buildings)
        near = r.choice(elders) if cats[i] == "visit" and elders else b
        self.report(t, grid.grid_id, cats[i], src, texts[i], near)
        if src == "citizen" and r.random() < 0.15:  # a neighbour reports the same thing
            self.report(t + r.uniform(10, 60) * 60, grid.grid_id, cats[i], src, texts[i], b)

    def emit_report(self, t: float, gid: str, cat: str, src: str, text: str, lat: float,
                    lon: float) -> None:
        r = self.rd
        self.seq["report"] += 1
        grid = self.grid_by_id[gid]
        obj = {"event_id": f"R{self.seq['report']:07d}", "ts": self.cal.ts(t), "grid_id": gid,
               "category": cat, "source": src, "lat": lat, "lon": lon, "text": text}
        if src == "grid_worker":
            obj["reporter_id"] = grid.worker_id
        elif src == "police":
            obj["reporter_id"] = grid.police_id
        obj["stream"] = "report"
        self._line(t + r.uniform(1, 60), obj)

    # ------------------------------------------------------------------ output
    def finish_truth(self) -> None:
        """Fill in what the feed really showed for the trips behind some incidents."""
        for row, _p, trip in self.post:
            outs = [x for x in trip.passes if x[2] == "out" and x[1] and not x[1].startswith("ZS")]
            ins = [x for x in trip.passes if x[2] == "in" and x[1] and not x[1].startswith(("ZS",
                                                                                          "DY"))]
            row["detail"]["exit_recorded"] = any(x[3] for x in outs)
            if trip.t_in < self.T:
                row["detail"]["return_recorded"] = any(x[3] for x in ins)

    def write(self, out: Path, dump_trips: bool) -> dict:
        out.mkdir(parents=True, exist_ok=True)
        self._write_registry(out / "registry")
        self.lines.sort(key=lambda x: (x[0], x[1]))
        with open(out / "feed.jsonl", "w", encoding="utf-8") as f:
            for _a, _s, line in self.lines:
                f.write(line + "\n")
        for name, rows in (("truth", self.truth), ("controls", self.controls)):
            rows.sort(key=lambda x: (x["start"], x["kind"], x["subject_id"]))
            with open(out / f"{name}.jsonl", "w", encoding="utf-8") as f:
                for row in rows:
                    row = dict(row, start=self.cal.ts(row["start"]), end=self.cal.ts(row["end"]))
                    f.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
        if dump_trips:
            self._write_trips(out / "trips.jsonl")
        meta = self._meta()
        (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")
        return meta

    def _write_registry(self, reg: Path) -> None:
        reg.mkdir(parents=True, exist_ok=True)

        def w(name: str, header: list[str], rows: list[list]) -> None:
            with open(reg / name, "w", encoding="utf-8", newline="") as f:
                f.write(",".join(header) + "\n")
                for row in rows:
                    f.write(",".join("" if x is None else str(x) for x in row) + "\n")
        w("grids.csv", ["grid_id", "community_id", "street_id", "district_id", "city_id",
                        "worker_id", "police_id", "name"],
          [[g.grid_id, g.community_id, g.street_id, g.district_id, g.city_id, g.worker_id,
            g.police_id, g.name] for g in self.grids])
        w("houses.csv", ["house_id", "grid_id", "building_id", "registered_occupants", "lat",
                         "lon"],
          [[h.house_id, h.building.grid.grid_id, h.building.bid, len(h.registered), h.lat, h.lon]
           for h in self.houses])
        w("persons.csv", ["person_id", "house_id", "tags", "age"],
          [[p.pid, p.house.house_id, ";".join(p.tags), p.age] for p in
           sorted(self.persons, key=lambda p: p.pid) if p.registered])
        w("gates.csv", ["gate_id", "grid_id", "house_id", "lat", "lon", "kind"],
          [[g.gate_id, g.grid_id, g.house_id, g.lat, g.lon, g.kind] for g in self.gates])
        w("devices.csv", ["device_id", "house_id", "grid_id", "model"],
          [[d.device_id, d.house.house_id if d.house else "", d.grid_id, d.model]
           for d in self.devices])

    def _write_trips(self, path: Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for p in sorted(self.persons, key=lambda p: p.pid):
                for x in p.trips:
                    f.write(json.dumps({
                        "person_id": p.pid, "registered": p.registered,
                        "house_id": p.house.house_id, "purpose": x.purpose,
                        "leave": self.cal.ts(max(0, x.t_out)) if x.t_out < self.T else None,
                        "return": self.cal.ts(x.t_in) if x.t_in < self.T else None,
                        "route_out": x.route_out, "route_in": x.route_in, "group": x.group,
                        "passes": [{"ts": self.cal.ts(t), "gate_id": g, "direction": d,
                                    "recorded": rec, "reported_person_id": pid,
                                    "method": m} for t, g, d, rec, pid, m in x.passes]},
                        ensure_ascii=False) + "\n")
            for h in self.houses:
                for v in h.visits:
                    f.write(json.dumps({"visit_house_id": h.house_id, "purpose": v.purpose,
                                        "arrive": self.cal.ts(v.t_in), "leave":
                                        self.cal.ts(min(v.t_out, self.T)), "visitors": v.ids},
                                       ensure_ascii=False) + "\n")

    def _meta(self) -> dict:
        streams: dict[str, int] = {}
        for _a, _s, line in self.lines:
            k = line[line.rfind('"stream":"') + 10:-2]
            streams[k] = streams.get(k, 0) + 1
        kinds: dict[str, int] = {}
        for row in self.truth + self.controls:
            kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        live = [p for p in self.persons if p.lives_here]
        return {"args": {k: v for k, v in sorted(vars(self.args).items()) if k != "out"},
                "grids": len(self.grids), "compounds": len(self.compounds),
                "houses": len(self.houses), "vacant_houses": sum(h.vacant for h in self.houses),
                "registry_persons": sum(p.registered for p in self.persons),
                "living_persons": len(live),
                "unregistered_residents": sum(not p.registered for p in self.persons),
                "gates": len(self.gates), "devices": len(self.devices),
                "feed_lines": len(self.lines), "feed_by_stream": dict(sorted(streams.items())),
                "truth": len(self.truth), "controls": len(self.controls),
                "by_kind": dict(sorted(kinds.items())),
                "tags": self._tag_counts()}

    def _tag_counts(self) -> dict:
        out: dict[str, int] = {}
        for p in self.persons:
            if p.registered:
                for t in p.tags:
                    out[t] = out.get(t, 0) + 1
        return dict(sorted(out.items()))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--persons", type=int, default=2000)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2027-09-06")
    ap.add_argument("--dump-trips", action="store_true")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    city = City(args)
    city.build_world()
    city.incidents_pre()
    city.make_routines()
    city.truth_pre()
    city.incidents_presence()
    city.incidents_other()
    city.make_controls()
    city.make_visitors()
    city.make_couriers()
    city.make_access()
    city.make_iot()
    city.make_reports()
    city.finish_truth()
    meta = city.write(args.out, args.dump_trips)
    meta["runtime_s"] = round(time.time() - city.t_start, 1)  # printed only: files stay stable
    print(json.dumps(meta, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
