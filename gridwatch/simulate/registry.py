"""City layout: districts, streets, communities, grids, buildings, houses, gates, devices.

A grid holds 100–260 households in buildings of 24–60 flats; a community has
one to three grids and one to three gates. Devices follow what a northern
city's smart-community programme installs: every flat a water and a power
meter, most a smoke detector, flats with piped gas often a gas detector, and
elderly-alone homes a door contact and a motion sensor (独居老人看护).
"""

from __future__ import annotations

import random

from gridwatch.simulate.households import Member, compose
from gridwatch.simulate.model import (
    Building,
    City,
    Community,
    Device,
    Gate,
    Grid,
    House,
    Person,
)

NAME_HEAD = ("松鹤", "翠湖", "锦绣", "东升", "安康", "丰泽", "海棠", "金桂", "朝晖", "星河",
             "梧桐", "怡园", "青禾", "明湖", "瑞雪", "银杏", "兰亭", "长乐", "鹿鸣", "秋实",
             "芳草", "云杉", "晨曦", "枫林", "静湖", "嘉禾", "春晖", "润泽", "绿洲", "恒康")
NAME_TAIL = ("苑", "里", "新村", "花园", "家园", "小区")
NUMERALS = ("一", "二", "三", "四", "五", "六")
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LAT0, LON0, GRID_DLAT, GRID_DLON = 45.600, 126.600, 0.0050, 0.0065


class _Layout:
    """Counters for the hierarchy while households are placed one by one."""

    def __init__(self, city: City, rng: random.Random) -> None:
        self.city, self.rng = city, rng
        self.names = [h + t for h in NAME_HEAD for t in NAME_TAIL]
        rng.shuffle(self.names)
        self.street, self.district = 0, 0
        self.left_in = {"building": 0, "grid": 0, "community": 0, "street": 0, "district": 0}

    def place(self) -> Building:
        """The building the next household lives in, opening new units as they fill."""
        left = self.left_in
        if left["building"] <= 0:
            if left["grid"] <= 0:
                self._new_grid()
            self._new_building()
        left["building"] -= 1
        left["grid"] -= 1
        return self.city.buildings[-1]

    def _new_grid(self) -> None:
        rng, city, left = self.rng, self.city, self.left_in
        if left["community"] <= 0:
            if left["street"] <= 0:
                if left["district"] <= 0:
                    self.district += 1
                    left["district"] = rng.randint(1, 2)
                self.street += 1
                left["street"], left["district"] = rng.randint(1, 3), left["district"] - 1
            left["community"], left["street"] = rng.choice((1, 2, 2, 3)), left["street"] - 1
            c = len(city.communities)
            city.communities.append(Community(c, f"c-{c + 1:02d}", self.names[c % len(self.names)]))
        comm = city.communities[-1]
        left["community"] -= 1
        g = len(city.grids)
        row, col = divmod(g, 4)
        lat0, lon0 = LAT0 + row * GRID_DLAT, LON0 + col * GRID_DLON
        name = f"{comm.name}{NUMERALS[len(comm.grids) % 6]}网格"
        gid = f"grid-{comm.idx + 1:02d}{len(comm.grids) + 1:02d}"
        city.grids.append(Grid(g, gid, comm.idx, f"s-{self.street}", f"d-{self.district}",
                               f"w-{gid[5:]}", f"pol-{comm.idx + 1:02d}", name,
                               (lat0, lon0, lat0 + GRID_DLAT * 0.9, lon0 + GRID_DLON * 0.9)))
        comm.grids.append(g)
        left["grid"] = rng.randint(100, 260)

    def _new_building(self) -> None:
        rng, city = self.rng, self.city
        grid = city.grids[-1]
        lat0, lon0, lat1, lon1 = grid.box
        b = len(city.buildings)
        lat, lon = round(rng.uniform(lat0, lat1), 6), round(rng.uniform(lon0, lon1), 6)
        city.buildings.append(Building(b, f"b-{b + 1:04d}", grid.idx, lat, lon))
        self.left_in["building"] = rng.randint(24, 60)


def build_city(n_persons: int, rng: random.Random) -> City:
    """A deterministic city for ``rng``; person ids are shuffled so they reveal no household."""
    city = City("sim")
    layout = _Layout(city, rng)
    households = compose(n_persons, rng)
    numbers = list(range(1, n_persons + 1))
    rng.shuffle(numbers)
    for kind, members in households:
        _add_house(city, layout.place(), kind, members, numbers, rng)
    _add_gates(city, rng)
    _add_devices(city, rng)
    return city


def _add_house(city: City, building: Building, kind: str, members: list[Member],
               numbers: list[int], rng: random.Random) -> None:
    h = len(city.houses)
    house = House(h, f"h-{h + 1:06d}", building.grid, building.idx,
                  round(building.lat + rng.uniform(-2e-5, 2e-5), 6),
                  round(building.lon + rng.uniform(-2e-5, 2e-5), 6), kind,
                  heater=rng.random() < 0.15, baseload=rng.uniform(0.03, 0.12))
    city.houses.append(house)
    building.houses.append(h)
    for m in members:
        p = len(city.persons)
        person = Person(p, f"p-{numbers[p]:06d}", h, m.age, m.role, m.tags)
        person.ref = city.ids.add(person.person_id)
        city.persons.append(person)
        house.members.append(p)
        if m.role in ("worker", "night_worker") and rng.random() < 0.25:
            plate = "模" + rng.choice("ABCDE") + "·" + "".join(rng.choices(PLATE_CHARS, k=5))
            city.car[p] = len(city.plates)
            city.plates.append(plate)


def _add_gates(city: City, rng: random.Random) -> None:
    def gate(gid: str, grid: int, house: int, lat: float, lon: float, kind: str) -> int:
        g = len(city.gates)
        city.gates.append(Gate(g, gid, grid, house, round(lat, 6), round(lon, 6), kind))
        return g

    for comm in city.communities:
        for k in range(rng.choice((1, 2, 2, 3))):
            grid = city.grids[comm.grids[k % len(comm.grids)]]
            lat0, lon0, lat1, lon1 = grid.box
            if k % 2 == 0:
                lat, lon = lat0, rng.uniform(lon0, lon1)
            else:
                lat, lon = rng.uniform(lat0, lat1), lon1
            g = gate(f"gate-c{comm.idx + 1:02d}-{k + 1}", grid.idx, -1, lat, lon, "community")
            city.gates[g].community = comm.idx
            comm.gates.append(g)
    for b in city.buildings:
        if rng.random() < 0.4:
            b.gate = gate(f"gate-b{b.idx + 1:04d}", b.grid, -1, b.lat, b.lon, "building")
    for house in city.houses:
        if house.kind in ("large", "shared") or rng.random() < 0.7:
            house.lock = gate(f"gate-d{house.idx + 1:06d}", house.grid, house.idx,
                              house.lat, house.lon, "house")
            house.lock_ids_exit = rng.random() < 0.5


def _wants_sensors(city: City, house: House, rng: random.Random) -> bool:
    tags = {t for p in house.members for t in city.persons[p].tags}
    if "elderly_alone" in tags:
        return rng.random() < 0.95
    return rng.random() < (0.6 if "dementia" in tags else 0.03)


class _Devices:
    """Numbers devices per prefix (``wm-000001``…) and files them under their home."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.counters: dict[str, int] = {}

    def add(self, prefix: str, kind: str, house: int, grid: int, **kw: float | str) -> None:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        d = len(self.city.devices)
        self.city.devices.append(Device(d, f"{prefix}-{self.counters[prefix]:06d}", kind, house,
                                        grid, **kw))  # type: ignore[arg-type]
        if house >= 0:
            self.city.houses[house].devices[kind] = d


def _home_devices(add: _Devices, city: City, h: House, rng: random.Random) -> None:
    """Meters in every flat (mostly hourly), smoke in most, gas where piped, care sensors."""
    add.add("wm", "water", h.idx, h.grid, interval_s=3600 if rng.random() < 0.9 else 7200,
            phase_s=rng.randrange(600))
    add.add("pm", "power", h.idx, h.grid, interval_s=3600 if rng.random() < 0.93 else 900,
            phase_s=rng.randrange(300))
    if rng.random() < 0.85:
        add.add("sm", "smoke", h.idx, h.grid, heartbeat_s=21600, phase_s=rng.randrange(21600),
                battery=rng.uniform(0.5, 1.0))
    if rng.random() < (0.5 if h.kind.startswith("elderly") else 0.3):
        add.add("gs", "gas", h.idx, h.grid, interval_s=1800, heartbeat_s=21600,
                phase_s=rng.randrange(1800))
    if _wants_sensors(city, h, rng):
        for prefix, kind in (("dr", "door"), ("mo", "motion")):
            add.add(prefix, kind, h.idx, h.grid, heartbeat_s=10800,
                    phase_s=rng.randrange(10800), battery=rng.uniform(0.4, 1.0))


def _add_devices(city: City, rng: random.Random) -> None:
    add = _Devices(city)
    for h in city.houses:
        _home_devices(add, city, h, rng)
    for grid in city.grids:  # a substation (配电房) per grid, a boiler room per community
        add.add("tm", "temperature", -1, grid.idx, interval_s=900, phase_s=rng.randrange(900),
                place="substation")
    for comm in city.communities:
        add.add("tm", "temperature", -1, comm.grids[0], interval_s=900,
                phase_s=rng.randrange(900), place="boiler")
        add.add("gs", "gas", -1, comm.grids[0], interval_s=1800, heartbeat_s=21600,
                phase_s=rng.randrange(1800), place="boiler")


def add_live_ins(city: City, rng: random.Random) -> list[int]:
    """Unregistered residents (a partner, a nanny) in ~3 % of homes; returns those homes."""
    homes = []
    for house in city.houses:
        if house.kind != "elderly_alone" and rng.random() < 0.03:
            p = len(city.persons)
            person = Person(p, "", house.idx, "adult", rng.choice(("worker", "homemaker")),
                            registered=False)
            person.ref = city.ids.fresh(rng)
            person.person_id = city.ids.names[person.ref]
            city.persons.append(person)
            house.members.append(p)
            homes.append(house.idx)
    return homes
