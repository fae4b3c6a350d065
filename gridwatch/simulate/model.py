"""The simulated city as plain records, shared by every stage of the simulation.

Indexes (``house``, ``grid``…) point into the lists of :class:`City`; the
string ids are what the registry CSVs and the feed carry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

METRICS = ("water", "power", "smoke", "gas", "temperature", "door", "motion", "heartbeat")
METRIC = {m: i for i, m in enumerate(METRICS)}
METHODS = ("card", "face", "qr", "plate", "password", "other")
METHOD = {m: i for i, m in enumerate(METHODS)}
IN, OUT = 0, 1
DIRECTIONS = ("in", "out")

# person states on the minute grid
ASLEEP, AWAKE, AWAY, SILENT, SICK = 0, 1, 2, 3, 4


@dataclass
class Grid:
    idx: int
    grid_id: str
    community: int
    street_id: str
    district_id: str
    worker_id: str
    police_id: str
    name: str
    box: tuple[float, float, float, float]  # lat0, lon0, lat1, lon1


@dataclass
class Community:
    idx: int
    community_id: str
    name: str
    grids: list[int] = field(default_factory=list)
    gates: list[int] = field(default_factory=list)


@dataclass
class Building:
    idx: int
    building_id: str
    grid: int
    lat: float
    lon: float
    gate: int = -1
    houses: list[int] = field(default_factory=list)


@dataclass
class House:
    idx: int
    house_id: str
    grid: int
    building: int
    lat: float
    lon: float
    kind: str  # household template
    members: list[int] = field(default_factory=list)
    lock: int = -1
    lock_ids_exit: bool = False
    devices: dict[str, int] = field(default_factory=dict)
    heater: bool = False
    baseload: float = 0.06

    def registered(self, persons: list[Person]) -> int:
        return sum(persons[p].registered for p in self.members)


@dataclass
class Person:
    idx: int
    person_id: str
    house: int
    age: str  # adult | elderly | minor
    role: str
    tags: list[str] = field(default_factory=list)
    registered: bool = True
    move_in: int = 0  # minute from origin from which the person lives here
    ref: int = -1  # index in City.ids


@dataclass
class Gate:
    idx: int
    gate_id: str
    grid: int
    house: int  # -1 for community and building gates
    lat: float
    lon: float
    kind: str  # community | building | house
    community: int = -1


@dataclass
class Device:
    idx: int
    device_id: str
    kind: str  # water | power | smoke | gas | door | motion | temperature
    house: int  # -1 for public devices
    grid: int
    interval_s: int = 0  # periodic readings; 0 = event-driven
    heartbeat_s: int = 0
    phase_s: int = 0
    battery: float = -1.0  # start level; < 0 for mains-powered devices
    place: str = ""


@dataclass
class City:
    city_id: str
    grids: list[Grid] = field(default_factory=list)
    communities: list[Community] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    houses: list[House] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    ids: IdTable = field(default_factory=lambda: IdTable())
    plates: list[str] = field(default_factory=list)
    car: dict[int, int] = field(default_factory=dict)  # person → plate index

    def community_of_house(self, house: int) -> Community:
        return self.communities[self.grids[self.houses[house].grid].community]


class IdTable:
    """Ids that can appear as ``person_id`` at a gate, registered or not."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, name: str) -> int:
        idx = self._index.get(name)
        if idx is None:
            idx = self._index[name] = len(self.names)
            self.names.append(name)
        return idx

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def fresh(self, rng: random.Random, prefix: str = "v-") -> int:
        """A new stable anonymous id (a face the system knows, the registry does not)."""
        while True:
            name = f"{prefix}{rng.getrandbits(28):07x}"
            if name not in self._index:
                return self.add(name)
