#!/usr/bin/env python3
"""third_city — an independent southern-China city simulator for gridwatch.

Written only from the integration contract (docs of the pipeline were not read).
City: a Guangzhou-style district (admin codes 4401xx) in the May "dragon-boat
water" season: hot humid nights (min 25-27 C), air-conditioning drives power,
one rainstorm red-warning day (schools closed, people stay home, waterlogging).

Areas (share of registered persons):
* urban village (城中村, 42%): 7-storey "handshake" buildings rented room by room
  to migrant workers; rooms are houses.  Village gates use face recognition that
  misses 18% on entry / 30% on exit by day, +15% at night (crowded lanes, masks,
  backlight); unregistered residents get stable anonymous face ids (f-…),
  clustering occasionally splits a face into a new id.  Building doors use a
  shared password (method password, person_id null, entry only); 25% of the
  buildings are "apartmentised" with a face door and fingerprint room locks.
  ~30% of rooms have unregistered extra residents, some of whom move in/out
  during the run (churn).  Room power sub-meters report every 3 h through a 4G
  collector per building; NB-IoT smoke alarms in stairwells heartbeat daily.
* modern gated estate (33%): 18-storey towers, face flap gates recording both
  directions (miss 4%/7%, +4% at night), car gate with plate recognition bound
  to the owner (passengers unrecorded), unit doors by card/face (entry only,
  2% of people use a family member's card), 30% smart locks (cloud sends UTC
  offsets).  Hourly LoRa water meters (1 L or 10 L resolution) and hourly smart
  power meters behind a tower concentrator, which buffers during outages and
  uploads readings hours late with their original timestamps.
* 1990s work-unit estate (25%): elderly-heavy; main gate face or card (elderly
  mostly card), side gate by the market records entries only.  Elderly-alone
  homes carry a government care kit (独居老人安全监测): water flow sensor in one
  of three reporting styles (every 15 min incl. zeros / only on flow with a 6 h
  idle heartbeat / hourly), door contact (1 on open, hourly heartbeat), PIR
  (5-min blind time; 12% are mounted facing a wall -> sparse motion, 8% see the
  living room only), NB smoke alarm (12 h or 24 h heartbeat), 40% a gas
  detector reporting %LEL every 30 min.  Carers visit 3-5 times a week (QR
  visitor pass), family weekly.
Behaviour: profiles (commuter, migrant worker, delivery rider, night-shift,
student, retiree with dawn exercise + morning tea + nap, homebody, homebound)
with daily jitter.  Water use from tap/flush Poisson rates plus showers,
cooking and laundry: ~140-170 L/person/day when home all day (Guangzhou
domestic use is ~150-200 L).  Summer power: fridge+standby ~0.07 kWh/h,
AC 0.6-0.9 kWh/h per unit, electric water heater ~1 kWh/shower.
Imperfect recording: tailgating (3-10%), lost messages (~0.5%), device clock
skew (15% of devices, 20-400 s), village gate batch upload every 5 min,
grid-worker app offline sync (late reports), ~0.2% duplicate deliveries with
the same event_id, concentrator backlogs, power cut with 0 kWh readings.
Incidents cover every alert kind; truth.jsonl gives onset/end (true time),
controls.jsonl lists subjects that must stay quiet.
"""
import argparse
import json
import math
import os
import random
import time as _time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

TZ = timezone(timedelta(hours=8))
H = 3600
DAY = 86400
SLOT = 300
SPD = DAY // SLOT

# profile -> (sleep_start_h, wake_h, nap or None)
SLEEP = {
    'commuter': (23.6, 7.1, None), 'migrant': (23.4, 6.6, None),
    'rider': (0.6, 8.6, None), 'nightshift': (9.2, 16.0, None),
    'student': (22.6, 6.7, None), 'retiree': (21.8, 5.5, (13.0, 14.4)),
    'homebody': (21.9, 6.3, (13.0, 14.8)), 'homebound': (21.0, 7.0, (12.8, 15.0)),
    'carer_home': (23.0, 6.6, (13.3, 14.0)), 'night_switched': (6.2, 14.6, None),
}

CAT_TEXT = {
    'garbage': ['巷口垃圾堆积未清运', '垃圾桶满溢', '绿化带乱扔垃圾'],
    'street_vending': ['占道经营水果摊', '流动摊贩占用人行道', '夜宵档占道'],
    'illegal_parking': ['电动车乱停放堵塞通道', '机动车占用消防通道', '共享单车堆放'],
    'fire_hazard': ['楼道堆放杂物', '出租屋私拉电线', '楼梯间电动车充电'],
    'illegal_construction': ['天台违章搭建', '外墙加建铁皮棚', '擅自加层'],
    'drainage': ['下水道堵塞返水', '沙井盖破损', '排水沟淤积'],
    'noise': ['夜间噪音扰民', '装修噪音', '广场舞音响过大'],
    'elderly_visit': ['走访独居老人，状况良好', '上门探访高龄老人', '入户走访'],
    'rental_check': ['出租屋巡查登记', '流动人口信息核查', '出租屋消防检查'],
    'dispute': ['邻里纠纷', '租户与房东纠纷', '停车纠纷'],
    'suspicious_person': ['可疑人员徘徊', '陌生人员多次出入'],
    'e_bike_in_elevator': ['电梯内发现电动自行车'],
    'fire_lane_blocked': ['消防通道被占用'],
    'waterlogging': ['路面水浸约30公分', '地下车库入口水浸', '道路积水车辆无法通行'],
    'fallen_tree': ['大树倒伏压住路面', '树枝折断挡路'],
    'water_pipe_burst': ['自来水管爆裂路面冒水', '巷子里水管爆了，水很大', '供水管破裂，路面积水'],
    'fire': ['出租屋冒烟，有明火', '楼上着火了，很多烟', '闻到焦味，楼道有烟'],
    'elevator_fault': ['电梯困人', '电梯停在两层之间有人被困'],
    'water_supply_notice': ['计划停水通知：管网维修'],
    'power_outage': ['片区停电', '小区停电，电梯停运'],
    'smoke_alarm': ['烟感报警'],
    'crowd_gathering': ['村口人员聚集', '大门口聚集大量人员'],
}


def iso(t, tz=TZ):
    return datetime.fromtimestamp(int(t), tz).isoformat()


class Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class City:
    def __init__(self, args):
        self.args = args
        self.P = args.persons
        self.D = args.days
        self.seed = args.seed
        self.r = random.Random(args.seed)
        self.nr = np.random.default_rng(args.seed)
        d0 = datetime.strptime(args.start, '%Y-%m-%d').replace(tzinfo=TZ)
        self.T0 = int(d0.timestamp())
        self.Tend = self.T0 + self.D * DAY
        self.NS = self.D * SPD
        self.wd0 = d0.weekday()
        self.events = []          # (arrival, n, line)
        self.nev = 0
        self.ids = {'a': 0, 'i': 0, 'r': 0}
        self.truths = []
        self.controls = []
        self.used = set()         # person/house/device ids already used by an incident/control
        self.grids, self.buildings, self.houses, self.persons = [], [], [], []
        self.unreg, self.gates, self.devices = [], [], []
        self.visits = []          # visitor objects
        self.pcount = 0
        self.dcount = 0
        self.fcount = 0
        self.scale = (self.P / 2000.0) * (self.D / 21.0)

    # ------------------------------------------------------------ helpers
    def n(self, base):
        return max(1, int(round(base * self.scale)))

    def slot(self, t):
        return int((t - self.T0) // SLOT)

    def hour_of(self, t):
        return ((t - self.T0) % DAY) / H

    def weekday(self, d):
        return (self.wd0 + d) % 7

    def U(self, a, b):
        return self.r.uniform(a, b)

    def anon_face(self):
        self.fcount += 1
        return f'f-{self.r.getrandbits(24) ^ (self.fcount * 2654435761 & 0xFFFFFF):06x}'

    def new_event_id(self, k):
        self.ids[k] += 1
        n = self.ids[k]
        return f'{k}-{(n * 0x9E3779B1) & 0xFFFFFFF:07x}'

    def push(self, arrival, obj):
        self.nev += 1
        self.events.append((arrival, self.nev,
                            json.dumps(obj, ensure_ascii=False, separators=(',', ':'))))

    def truth(self, kind, stype, sid, grid, start, end, **detail):
        self.truths.append({'kind': kind, 'subject_type': stype, 'subject_id': sid, 'grid_id': grid,
                            'start': iso(max(start, self.T0)), 'end': iso(min(end, self.Tend)),
                            'detail': detail})
        self.used.add(sid)

    def control(self, name, stype, sid, grid, start, end, **detail):
        self.controls.append({'kind': 'control:' + name, 'subject_type': stype, 'subject_id': sid,
                              'grid_id': grid, 'start': iso(max(start, self.T0)),
                              'end': iso(min(end, self.Tend)), 'detail': detail})
        self.used.add(sid)

    # ------------------------------------------------------------ build
    def build(self):
        P = self.P
        nv = int(round(P * 0.42))
        ne = int(round(P * 0.33))
        no = P - nv - ne
        self.area_target = {'village': nv, 'estate': ne, 'old': no}
        spec = [('village', '01', 'c-440106011001', 's-440106011', 'd-440106', (23.1405, 113.3290),
                 nv, 300, '石牌村'),
                ('estate', '02', 'c-440106013004', 's-440106013', 'd-440106', (23.1268, 113.3552),
                 ne, 330, '华景花园'),
                ('old', '03', 'c-440105004002', 's-440105004', 'd-440105', (23.1012, 113.3071), no,
                 250, '造纸厂宿舍')]
        self.area_grids = {}
        for area, code, comm, street, dist, (la, lo), target, per, nm in spec:
            ng = max(1, int(round(target / per)))
            gl = []
            for k in range(ng):
                g = Obj(id=f'grid-{code}{k + 1:02d}', community=comm, street=street, district=dist,
                        city='440100', worker=f'w-{code}{k + 1:02d}',
                        police=f'pol-{code}{k % 2 + 1:d}', name=f'{nm}第{k + 1:d}网格',
                        lat=la + (k // 2) * 0.0032, lon=lo + (k % 2) * 0.0034,
                        area=area, buildings=[], gates=[])
                gl.append(g)
                self.grids.append(g)
            self.area_grids[area] = gl
        self._gates()
        for area in ('village', 'estate', 'old'):
            self._populate(area, self.area_target[area])
        self._devices()

    def _gate(self, kind, grid, lat, lon, house=None, **kw):
        gid = (f'gate-{len(self.gates) + 1:03d}' if house is None
               else f'lock-{len(self.gates) + 1:05d}')
        skew = 0
        if self.r.random() < 0.15:
            skew = int(self.r.choice([-1, 1]) * self.U(20, 400))
        g = Obj(id=gid, kind=kind, grid=grid, house=house, lat=lat, lon=lon, skew=skew, **kw)
        self.gates.append(g)
        if grid is not None and house is None:
            grid.gates.append(g)
        return g

    def _gates(self):
        r = self.r
        self.cgates = {'village': [], 'estate': [], 'old': []}
        for g in self.area_grids['village']:
            for j in range(2 if len(self.area_grids['village']) < 3 or r.random() < 0.5 else 1):
                gg = self._gate('vgate', g, g.lat + 0.0012 * (j - 0.5), g.lon - 0.0015,
                                miss={'in': 0.18, 'out': 0.30}, night=0.15,
                                tail={'in': 0.07, 'out': 0.10}, batch=300, both=True)
                self.cgates['village'].append(gg)
        eg = self.area_grids['estate']
        for k, g in enumerate(eg[:2] if len(eg) > 1 else eg * 1):
            self.cgates['estate'].append(self._gate('egate', g, g.lat - 0.0013, g.lon + 0.0004 * k,
                                                    miss={'in': 0.04, 'out': 0.07}, night=0.04,
                                                    tail={'in': 0.03, 'out': 0.05}, batch=0,
                                                    both=True))
        self.vehicle = {'estate': self._gate('vehicle', eg[0], eg[0].lat - 0.0014,
                                             eg[0].lon + 0.001, bound=True, batch=0)}
        og = self.area_grids['old']
        self.cgates['old'].append(self._gate('ogate', og[0], og[0].lat - 0.0011, og[0].lon,
                                             miss={'in': 0.09, 'out': 0.14}, night=0.08,
                                             tail={'in': 0.05, 'out': 0.06}, batch=0, both=True))
        self.side_gate = self._gate('oside', og[-1], og[-1].lat + 0.0013, og[-1].lon + 0.0012,
                                    miss={'in': 0.15, 'out': 1.0}, night=0.1,
                                    tail={'in': 0.08, 'out': 1.0}, batch=60, both=False)
        self.vehicle['old'] = self._gate('vehicle', og[0], og[0].lat - 0.0012, og[0].lon + 0.0006,
                                         bound=False, batch=0)

    def _person(self, house, tags, profile, registered=True):
        r = self.r
        if registered:
            self.pcount += 1
            pid = f'p-{self.pcount:05d}'
        else:
            pid = None
        p = Obj(id=pid, house=house, tags=list(tags), profile=profile, registered=registered,
                face=pid if registered else self.anon_face(), card=None, lock=None, plate=None,
                face_pen=(r.uniform(0, 0.04)
                          + (0.03 if ('elderly' in tags or 'elderly_alone' in tags) else 0)),
                move_in=self.T0 - DAY * 30, move_out=self.Tend + DAY * 30, trips=[], overrides=[],
                switch=None, gate_pref=None, uses_card=False, cook=False, heater=r.random() < 0.6,
                sleep_shift=r.uniform(-0.5, 0.5),
                night_rate=0.15 if profile in ('retiree', 'homebody', 'homebound') else 0.04)
        p.card = pid
        if registered:
            self.persons.append(p)
        else:
            self.unreg.append(p)
        house.occ.append(p)
        return p

    def _house(self, area, grid, bld, lat, lon, reg):
        h = Obj(id=f'h-{len(self.houses) + 1:05d}', area=area, grid=grid, building=bld, lat=lat,
                lon=lon, reg=reg, occ=[], lock=None, kit=None, dev={}, visits=[], door_times=[],
                extra_water=None, extra_power=None, ac_prop=0.0, vacant=(reg == 0), water_cut=[],
                kind='')
        self.houses.append(h)
        bld.houses.append(h)
        return h

    def _building(self, area, grid, idx):
        r = self.r
        b = Obj(id=f'b-{grid.id[5:]}-{idx:03d}', area=area, grid=grid, houses=[],
                lat=grid.lat + r.uniform(-0.0012, 0.0012),
                lon=grid.lon + r.uniform(-0.0014, 0.0014), door=None, gw=None, apart=False)
        grid.buildings.append(b)
        self.buildings.append(b)
        return b

    def _populate(self, area, target):
        r = self.r
        grids = self.area_grids[area]
        made = 0
        bi = 0
        while made < target:
            g = grids[bi % len(grids)]
            bi += 1
            b = self._building(area, g, bi)
            if area == 'village':
                b.apart = r.random() < 0.25
                b.door = self._gate('bdoor_face' if b.apart else 'bdoor_pw', g, b.lat, b.lon,
                                    miss={'in': 0.10, 'out': 1.0}, night=0.08,
                                    tail={'in': 0.10, 'out': 1}, batch=0)
                nrooms = 24
                landlord = r.random() < 0.25
            elif area == 'estate':
                b.door = self._gate('udoor', g, b.lat, b.lon, tail={'in': 0.06, 'out': 1}, batch=0)
                nrooms = 60
                landlord = False
            else:
                nrooms = 28
                landlord = False
            for k in range(nrooms):
                if made >= target:
                    break
                fl = 2 + k // (4 if area == 'village' else 2)
                lat = b.lat + r.uniform(-4e-5, 4e-5)
                lon = b.lon + r.uniform(-4e-5, 4e-5)
                members = self._household(area, landlord and k >= nrooms - 2)
                members = members[:target - made]
                h = self._house(area, g, b, lat, lon, len(members))
                h.floor = fl
                for tags, prof in members:
                    self._person(h, tags, prof)
                    made += 1
                self._house_extras(h)

    def _household(self, area, landlord):
        r = self.r
        x = r.random()
        E, EA, T, M = 'elderly', 'elderly_alone', 'tenant', 'minor'
        if area == 'village':
            if landlord:
                if x < 0.5:
                    return [((EA,), r.choice(['retiree', 'homebody']))]
                return [((E,), 'retiree'), ((E,), 'homebody')]
            if x < 0.08:
                return []
            def job():
                return r.choices(['migrant', 'rider', 'commuter', 'nightshift'],
                                 [0.58, 0.15, 0.17, 0.10])[0]

            if x < 0.46:
                return [((T,), job())]
            if x < 0.78:
                return [((T,), job()), ((T,), r.choice([job(), 'carer_home']))]
            if x < 0.92:
                return [((T,), job()), ((T,), job()), ((T, M), 'student')]
            return [((T,), job()), ((T,), job())]
        if area == 'estate':
            if x < 0.08:
                return []
            if x < 0.30:
                return [((), 'commuter'), ((), 'commuter')]
            if x < 0.58:
                return [((), 'commuter'), ((), r.choice(['commuter', 'carer_home'])),
                        ((M,), 'student')]
            if x < 0.75:
                return [((), 'commuter'), ((), 'commuter'), ((M,), 'student'), ((E,), 'retiree'),
                        ((E,), 'carer_home')]
            if x < 0.87:
                return [((E,), 'retiree'), ((E,), r.choice(['retiree', 'homebody']))]
            if x < 0.91:
                return [((EA,), r.choice(['retiree', 'homebody']))]
            return [((T,), 'commuter') for _ in range(r.choice([2, 2, 3]))]
        # old estate
        if x < 0.06:
            return []
        if x < 0.28:
            t = [EA]
            y = r.random()
            if y < 0.12:
                t.append('dementia')
            elif y < 0.20:
                t.append('disabled')
            return [(tuple(t), r.choice(['retiree', 'homebody', 'homebody']))]
        if x < 0.54:
            return [((E,), 'retiree'), ((E,), r.choice(['retiree', 'homebody']))]
        if x < 0.80:
            fam = [((), 'commuter'), ((), r.choice(['commuter', 'carer_home'])), ((M,), 'student')]
            if r.random() < 0.3:
                fam.append(((E, 'dementia') if r.random() < 0.25 else (E,), 'homebody'))
            return fam
        if x < 0.92:
            return [((T,), r.choice(['commuter', 'migrant'])) for _ in range(r.choice([1, 2]))]
        return [((), 'commuter'), ((), 'carer_home'), (('disabled',), 'homebound')]

    def _house_extras(self, h):
        r = self.r
        area = h.area
        occ = list(h.occ)
        # key persons among adults
        for p in occ:
            if (p.profile in ('commuter', 'migrant', 'rider')
                    and r.random() < (0.03 if area != 'estate' else 0.005)):
                p.tags.append('key_person')
        if area == 'estate':
            if r.random() < 0.30:
                h.lock = self._gate('lock', h.grid, h.lat, h.lon, house=h.id, batch=0, utc=True)
            if occ and any(p.profile == 'commuter' for p in occ) and r.random() < 0.55:
                drv = [p for p in occ if p.profile == 'commuter'][0]
                drv.plate = f'粤A{r.choice("BCDEFGHJKLMNPQ")}{r.randrange(10000):04d}'
            if len(occ) >= 3 and r.random() < 0.07:
                self._person(h, (), 'carer_home', registered=False)   # live-in nanny (unregistered)
            for p in occ:
                if r.random() < 0.02 and len(occ) > 1:
                    p.card = [q for q in occ if q is not p][0].id     # uses a family member's card
            h.ac_prop = 0.9
        elif area == 'village':
            if h.building.apart and r.random() < 0.6:
                h.lock = self._gate('lock', h.grid, h.lat, h.lon, house=h.id, batch=0, utc=False)
            if occ and r.random() < 0.30:
                for _ in range(1 if r.random() < 0.8 else 2):
                    u = self._person(h, ('tenant',),
                                     r.choice(['migrant', 'migrant', 'rider']), registered=False)
                    if r.random() < 0.15:
                        u.move_in = self.T0 + int(r.uniform(1, self.D - 1) * DAY)
                    elif r.random() < 0.15:
                        u.move_out = self.T0 + int(r.uniform(1, self.D - 1) * DAY)
            h.ac_prop = 0.75
        else:
            for p in occ:
                if 'elderly' in p.tags or 'elderly_alone' in p.tags:
                    p.uses_card = r.random() < 0.55
            h.ac_prop = (0.35 if all(('elderly' in p.tags or 'elderly_alone' in p.tags)
                                     for p in occ) else 0.8)
        if any('elderly_alone' in p.tags for p in occ):
            pk = {'old': 0.85, 'estate': 1.0, 'village': 0.35}[area]
            if r.random() < pk:
                h.kit = {'water': r.choices(['q15', 'flow', 'hourly'], [0.5, 0.35, 0.15])[0],
                         'door': r.random() < 0.9, 'pir': r.random() < 0.92,
                         'smoke': r.random() < 0.8, 'gas': r.random() < 0.4,
                         'pir_q': r.choices([0.7, 0.08, 0.35], [0.80, 0.12, 0.08])[0]}
        for p in occ:
            p.cook = ('elderly' in p.tags or 'elderly_alone' in p.tags or p.profile == 'carer_home')
        h.kind = 'kit' if h.kit else area

    def _dev(self, kind, house, grid, **kw):
        self.dcount += 1
        pre = {'power': 'em', 'water': 'wm', 'kwater': 'kw', 'door': 'dc', 'pir': 'pir',
               'smoke': 'sd', 'gas': 'gd', 'gateway': 'gw'}[kind]
        skew = 0
        if self.r.random() < 0.15 and kind != 'gateway':
            skew = int(self.r.choice([-1, 1]) * self.U(20, 400))
        d = Obj(id=f'{pre}-{self.dcount:05d}', kind=kind, house=house, grid=grid, skew=skew,
                dead=None, revive=None, gw=None, loss=0.004, battery=self.U(0.55, 0.98), stuck=None,
                spike=[], offset=self.r.randrange(0, 3600))
        d.__dict__.update(kw)
        self.devices.append(d)
        return d

    def _devices(self):
        r = self.r
        for b in self.buildings:
            g = b.grid
            # concentrators: village one per building, estate per tower, old one per 3 buildings
            if b.area == 'old':
                same = [x for x in g.buildings if x.gw is not None]
                if same and len([x for x in g.buildings if x.gw is same[-1].gw]) < 3:
                    b.gw = same[-1].gw
            if b.gw is None:
                b.gw = self._dev('gateway', None, g, outages=[], period=1800)
            if b.area == 'village':
                for _ in range(2):
                    self._dev('smoke', None, g, public=True,
                              hb=self.r.choice([DAY, DAY, 12 * H]), bld=b)
            for h in b.houses:
                h.dev['power'] = self._dev('power', h, g, gw=b.gw,
                                           period=3 * H if b.area == 'village' else H)
                if b.area == 'estate':
                    h.dev['water'] = self._dev('water', h, g, gw=b.gw, period=H,
                                               res=0.01 if r.random() < 0.15 else 0.001)
                    if r.random() < 0.2 and not h.kit:
                        h.dev['gas'] = self._dev('gas', h, g, period=1800)
                if h.kit:
                    k = h.kit
                    per = {'q15': 900, 'flow': 900, 'hourly': H}[k['water']]
                    h.dev['kwater'] = self._dev('kwater', h, g, period=per,
                                                style=k['water'], res=0.001)
                    if k['door']:
                        h.dev['door'] = self._dev('door', h, g, period=H)
                    if k['pir']:
                        h.dev['pir'] = self._dev('pir', h, g, period=H, q=k['pir_q'])
                    if k['smoke']:
                        h.dev['smoke'] = self._dev('smoke', h, g,
                                                   hb=self.r.choice([DAY, 12 * H]), public=False)
                    if k['gas']:
                        h.dev['gas'] = self._dev('gas', h, g, period=1800)

    # ------------------------------------------------------------ weather
    def weather(self):
        r = self.r
        self.tmax = [round(r.uniform(31, 34.5), 1) for _ in range(self.D)]
        self.tmin = [round(r.uniform(25, 27.2), 1) for _ in range(self.D)]
        self.storm = min(self.D - 1, max(1, int(self.D * 0.52)))
        self.tmax[self.storm] = 27.5
        self.tmin[self.storm] = 24.0
        self.storm_t = (self.T0 + self.storm * DAY + 6 * H, self.T0 + self.storm * DAY + 14 * H)

    # ------------------------------------------------------------ schedules
    def profile_on(self, p, d):
        if p.switch is not None and d >= p.switch[0]:
            return p.switch[1]
        return p.profile

    def day_trips(self, p, d):
        r = self.r
        t0 = self.T0 + d * DAY
        wd = self.weekday(d)
        prof = self.profile_on(p, d)
        storm = (d == self.storm)

        def N(m, s):
            return t0 + int(r.gauss(m, s) * H)

        out = []

        def maybe(share, m, s, lo, hi):
            """On ``share`` of days an outing from about ``m`` h, lasting ``lo``-``hi`` h."""
            if r.random() < share:
                a = N(m, s)
                out.append((a, a + int(r.uniform(lo, hi) * H)))

        work = wd < 5 or (wd == 5 and r.random() < 0.3)
        if prof == 'commuter':
            if work:
                a, b = N(8.0, 0.35), N(19.2, 0.9)
                if storm:
                    if r.random() < 0.6:
                        work = False
                    else:
                        b = N(12.5, 0.6)
                if work:
                    out.append((a, b))
                    if r.random() < 0.18 and not storm:
                        o = b + int(r.uniform(0.5, 1.5) * H)
                        out.append((o, o + int(r.uniform(1, 2.5) * H)))
            if not work:
                out += self._leisure(t0, r.choice([0, 1, 1, 2]), storm)
        elif prof in ('migrant', 'rider'):
            off = (wd == (hash_int(p.face) % 7))
            if not off:
                if prof == 'migrant':
                    a, b = N(7.4, 0.3), N(21.0, 0.8)
                    if storm and r.random() < 0.5:
                        b = N(13.0, 0.5)
                    out.append((a, b))
                else:
                    if not storm or r.random() < 0.7:
                        out.append((N(9.5, 0.3), N(14.3, 0.3)))
                        out.append((N(16.6, 0.3), N(22.4, 0.4)))
            else:
                out += self._leisure(t0, r.choice([1, 1, 2]), storm)
        elif prof == 'nightshift':
            if wd != (hash_int(p.face) % 7):
                a = N(19.3, 0.25)
                out.append((a, a + int(r.gauss(12.4, 0.3) * H)))
            else:
                out += self._leisure(t0, 1, storm)
        elif prof == 'night_switched':
            a = N(22.8, 0.6)
            out.append((a, a + int(r.gauss(6.0, 0.8) * H)))
            maybe(0.3, 16.2, 0.4, 0.3, 1.0)
        elif prof == 'student':
            if wd < 5 and not storm:
                out.append((N(7.25, 0.12), N(17.2, 0.5)))
            else:
                out += self._leisure(t0, r.choice([0, 1]), storm)
        elif prof == 'retiree':
            if not storm:
                if r.random() < 0.85:
                    a = N(6.15, 0.35)
                    out.append((a, a + int(max(0.6, r.gauss(2.3, 0.6)) * H)))
                maybe(0.35, 9.8, 0.3, 0.6, 1.2)
                maybe(0.55, 19.6, 0.3, 0.7, 1.5)
        elif prof == 'homebody':
            if not storm:
                maybe(0.5, 8.9, 0.6, 0.5, 1.6)
                maybe(0.2, 19.5, 0.3, 0.4, 1.0)
        elif prof == 'carer_home':
            if not storm:
                maybe(0.8, 8.9, 0.4, 0.8, 1.5)
                if wd < 5:
                    maybe(0.6, 16.3, 0.2, 0.7, 1.2)
        return out

    def _leisure(self, t0, k, storm):
        r = self.r
        res = []
        for _ in range(k):
            if storm and r.random() < 0.85:
                continue
            a = t0 + int(r.uniform(9.5, 20.0) * H)
            res.append((a, a + int(r.uniform(1.0, 4.5) * H)))
        return res

    def base_schedules(self):
        for p in self.persons + self.unreg:
            trips = []
            for d in range(-1, self.D):
                for a, b in self.day_trips(p, d):
                    trips.append([a, b, 'walk', 'walk'])
            self.set_trips(p, trips)
            if self.T0 < p.move_out < self.Tend:
                p.trips.append([p.move_out, self.Tend + 40 * DAY, 'walk', 'walk'])
            if p.plate:
                for tr in p.trips:
                    if p.profile == 'commuter' and self.r.random() < 0.7:
                        tr[2] = tr[3] = 'car'

    def set_trips(self, p, trips):
        trips.sort(key=lambda x: x[0])
        res = []
        for tr in trips:
            if tr[1] <= tr[0]:
                continue
            if res and tr[0] < res[-1][1] + 600:
                continue
            if tr[1] <= p.move_in or tr[0] >= p.move_out:
                continue
            res.append(tr)
        p.trips = res

    def clear(self, p, a, b):
        p.trips = [tr for tr in p.trips if tr[1] < a or tr[0] > b]

    def add_trip(self, p, a, b, om='walk', im='walk'):
        self.clear(p, a - 600, b + 600)
        p.trips.append([a, b, om, im])
        p.trips.sort(key=lambda x: x[0])

    def at_home(self, p, t):
        if t < p.move_in or t >= p.move_out:
            return False
        return not any(tr[0] <= t < tr[1] for tr in p.trips)

    def last_in_before(self, p, t):
        best = None
        for tr in p.trips:
            if tr[1] <= t:
                best = tr[1]
        return best

    # ------------------------------------------------------------ candidates
    def pool(self, pred, area=None):
        res = [p for p in self.persons if p.id not in self.used and p.house.id not in self.used
               and pred(p) and (area is None or p.house.area == area)]
        return res

    def pick(self, lst, k):
        if not lst or k <= 0:
            return []
        return self.r.sample(lst, min(k, len(lst)))

    def tday(self, lo_frac, hi_frac, lo_min=1):
        lo = max(lo_min, int(self.D * lo_frac))
        hi = max(lo, min(self.D - 2, int(self.D * hi_frac)))
        return self.r.randint(lo, hi) if hi >= lo else max(0, self.D - 2)

    def visitor(self, h, t_in, t_out, who, clean=True, qr=True):
        v = Obj(house=h, t_in=t_in, t_out=t_out, who=who, clean=clean, qr=qr)
        h.visits.append(v)
        self.visits.append(v)
        return v

    def mk_visitor_who(self, registered_person=None):
        if registered_person is not None:
            return registered_person
        return Obj(id=None, face=self.anon_face(), card=None, lock=None, plate=None, face_pen=0.02,
                   uses_card=False, qr=f'v-{self.r.randrange(100000):05d}', registered=False)

    # ------------------------------------------------------------ routine visitors
    def routine_visits(self):
        r = self.r
        fam_pool = [p for p in self.persons if p.house.area == 'estate' and p.profile == 'commuter']
        for h in self.houses:
            if not h.kit:
                continue
            carer = self.mk_visitor_who()
            h.carer = carer
            son = r.choice(fam_pool) if fam_pool and r.random() < 0.5 else self.mk_visitor_who()
            h.family = son
            days = sorted(r.sample(range(7), r.choice([3, 4, 5])))
            for d in range(self.D):
                t0 = self.T0 + d * DAY
                if self.weekday(d) in days and d != self.storm:
                    a = t0 + int(r.uniform(9.0, 10.5) * H)
                    self.visitor(h, a, a + int(r.uniform(0.6, 1.3) * H), carer)
                if self.weekday(d) == 6 and r.random() < 0.8:
                    a = t0 + int(r.uniform(14.5, 16.0) * H)
                    b = a + int(r.uniform(1.5, 3.0) * H)
                    self.visitor(h, a, b, son, clean=False)
                    if son.id is not None:
                        self.add_trip(son, a - int(0.7 * H), b + int(0.7 * H), 'car', 'car')

    # ------------------------------------------------------------ incidents
    def has_kit_water(self, p):
        return bool(p.house.kit)

    def incidents(self):
        self.inc_stay_in()
        self.inc_no_usage()
        self.inc_out_no_return()
        self.inc_long_absent()
        self.inc_unusual()
        self.inc_group_rental()
        self.inc_crowd()
        self.inc_devices()
        self.inc_clusters()

    def hospital_after(self, p, t_found, ret_days):
        """carried out (no face record), maybe brought back by car days later"""
        r = self.r
        out = t_found + int(r.uniform(0.5, 1.0) * H)
        back = out + int(ret_days * DAY) if ret_days else self.Tend + 30 * DAY
        self.add_trip(p, out, back, 'carried', 'car')
        if ret_days:
            back_t = back
        else:
            back_t = None
        self.ambulance.append((p.house, out - 1200, out + 300))
        return out, back_t

    def inc_stay_in(self):
        r = self.r
        self.ambulance = []
        base = self.pool(lambda p: 'elderly_alone' in p.tags)
        kit = [p for p in base if p.house.kit]
        nok = [p for p in base if not p.house.kit]
        scen = [('fall_bathroom_morning', 7.2, False), ('fall_evening', 19.8, True),
                ('fall_night_toilet', 2.9, True), ('fall_bathroom_morning', 6.6, False),
                ('illness_in_bed', 8.0, True), ('fall_evening', 21.2, False),
                ('illness_in_bed', 10.0, True)]
        n = self.n(len(scen))
        chosen = self.pick(kit, n - min(1, len(nok)))
        chosen += self.pick(nok, n - len(chosen))
        for i, p in enumerate(chosen):
            name, hr, visible = scen[i % len(scen)]
            if not p.house.kit:
                name = 'fall_no_kit'
            d = self.tday(0.15, 0.8)
            tf = self.T0 + d * DAY + int((hr + r.uniform(-0.4, 0.4)) * H)
            dur = r.uniform(26, 60) if 'illness' not in name else r.uniform(50, 80)
            tfound = tf + int(dur * H)
            self.clear(p, tf - 2 * H, tfound + 2 * H)
            kind = 'ill' if 'illness' in name else 'fallen'
            p.overrides.append((tf, tfound, kind, {'visible': visible}))
            finder = r.choice(['carer', 'grid_worker', 'family', 'neighbour'])
            if finder == 'carer' and p.house.kit:
                self.visitor(p.house, tfound - 300, tfound + 2400, p.house.carer)
                p.house.visits = [v for v in p.house.visits if not (tf < v.t_in < tfound - 600)]
            elif finder == 'family' and getattr(p.house, 'family', None) is not None:
                self.visitor(p.house, tfound - 300, tfound + 3000, p.house.family, clean=False)
            else:
                if p.house.kit:
                    p.house.visits = [v for v in p.house.visits if not (tf < v.t_in < tfound - 600)]
                self.report(tfound - 600, p.house.grid, 'elderly_visit', 'grid_worker', p.house.lat,
                            p.house.lon, '上门探访发现老人卧床/跌倒，已联系120',
                            reporter=p.house.grid.worker)
            p.house.visits = [v for v in p.house.visits if not (tf < v.t_in < tfound - 600)]
            if kind == 'ill':
                self.add_trip(p, tfound + 1800, tfound + int(r.uniform(4, 7) * DAY), 'car', 'car')
            else:
                self.hospital_after(p, tfound, r.choice([0, r.uniform(3, 6)]))
            also = []
            if p.house.kit:
                also.append('no_usage')
            if dur >= 48 and not visible:
                also.append('long_absent')
            self.truth('stay_in', 'person', p.id, p.house.grid.id, tf, tfound, person_id=p.id,
                       house_id=p.house.id, scenario=name, hours=round(dur, 1), found_by=finder,
                       pir_sees_person=visible,
                       last_in=iso(self.last_in_before(p, tf) or self.T0), also=also)
        # elderly (not alone) bedridden at home after a fall, family present
        for p in self.pick(self.pool(lambda p: 'elderly' in p.tags and p.house.area == 'old'),
                           self.n(1)):
            d = self.tday(0.2, 0.6)
            tf = self.T0 + d * DAY + int(r.uniform(8, 11) * H)
            te = tf + int(r.uniform(4.5, 6.5) * DAY)
            self.clear(p, tf - 2 * H, te + H)
            p.overrides.append((tf, te, 'ill', {'visible': True}))
            self.add_trip(p, te, te + int(r.uniform(1, 2) * H), 'walk', 'walk')
            self.truth('stay_in', 'person', p.id, p.house.grid.id, tf, te, person_id=p.id,
                       house_id=p.house.id, scenario='bedridden_sprained_ankle_family_cares',
                       hours=round((te - tf) / H, 1), also=[], benign=True)

    def inc_no_usage(self):
        r = self.r
        kit = self.pool(lambda p: 'elderly_alone' in p.tags and p.house.kit is not None)
        n = self.n(4)
        for i, p in enumerate(self.pick(kit, n)):
            d = self.tday(0.15, 0.6)
            if i % 2 == 0:
                # night ambulance, stretcher not recognised, nobody records the out
                t = self.T0 + d * DAY + int(r.uniform(0.5, 4.0) * H)
                self.clear(p, t - 3 * H, t + H)
                ret = r.uniform(4, 8)
                back = t + int(ret * DAY)
                self.add_trip(p, t, back, 'none', 'car')
                self.ambulance.append((p.house, t - 1500, t + 200))
                self.visitor(p.house, t - 1500, t + 100, self.mk_visitor_who(),
                             clean=False, qr=False)
                scen, also = 'night_ambulance_out_unrecorded', ['stay_in', 'long_absent']
            else:
                t = self.T0 + d * DAY + int(r.uniform(15, 17) * H)
                back = t + int(r.uniform(6, 9) * DAY)
                fam = getattr(p.house, 'family', None)
                if fam is not None:
                    self.visitor(p.house, t - 3000, t, fam, clean=False)
                self.add_trip(p, t, back, 'car', 'car')
                scen, also = 'stays_with_children_driven_by_son', ['stay_in', 'long_absent']
            p.house.visits = [v for v in p.house.visits if not (t + 600 < v.t_in < back)]
            self.truth('no_usage', 'house', p.house.id, p.house.grid.id, t, min(back, self.Tend),
                       person_id=p.id, house_id=p.house.id, scenario=scen, also=also,
                       benign=(i % 2 == 1))

    def inc_out_no_return(self):
        r = self.r
        dem = self.pool(lambda p: 'dementia' in p.tags)
        for p in self.pick(dem, self.n(4)):
            d = self.tday(0.1, 0.85)
            hr = r.choice([4.8, 15.3, 5.4, 20.5])
            t = self.T0 + d * DAY + int((hr + r.uniform(-0.3, 0.3)) * H)
            dur = r.uniform(7, 30)
            tb = t + int(dur * H)
            self.add_trip(p, t, tb, 'walk', 'walk')
            self.report(tb - 1200, p.house.grid, 'elderly_visit', 'police', p.house.lat + 0.004,
                        p.house.lon - 0.003, '走失老人已找到，护送回家',
                        reporter=p.house.grid.police)
            self.truth('out_no_return', 'person', p.id, p.house.grid.id, t, tb, person_id=p.id,
                       house_id=p.house.id, scenario='dementia_wandering', hours=round(dur, 1),
                       also=(['no_usage'] if (p.house.kit and dur > 20) else []))
        ea = self.pool(lambda p: 'elderly_alone' in p.tags and 'dementia' not in p.tags)
        for p in self.pick(ea, self.n(2)):
            d = self.tday(0.1, 0.5)
            t = self.T0 + d * DAY + int(r.uniform(9, 11) * H)
            back = t + int(r.uniform(6, 10) * DAY)
            self.add_trip(p, t, back, 'walk', 'walk')
            p.house.visits = [v for v in p.house.visits if not (t < v.t_in < back)]
            also = ['long_absent'] + (['no_usage'] if p.house.kit else [])
            self.truth('out_no_return', 'person', p.id, p.house.grid.id, t, min(back, self.Tend),
                       person_id=p.id, house_id=p.house.id,
                       scenario='visits_daughter_in_another_city', benign=True, also=also)
        mn = self.pool(lambda p: 'minor' in p.tags and p.house.area == 'village')
        for p in self.pick(mn, self.n(1)):
            d = self.tday(0.2, 0.8)
            t = self.T0 + d * DAY + int(r.uniform(19.5, 21) * H)
            tb = t + int(r.uniform(16, 26) * H)
            self.add_trip(p, t, tb)
            self.truth('out_no_return', 'person', p.id, p.house.grid.id, t, tb, person_id=p.id,
                       house_id=p.house.id, scenario='teen_stays_out_at_internet_cafe', also=[])

    def inc_long_absent(self):
        r = self.r
        kp = self.pool(lambda p: 'key_person' in p.tags)
        for p in self.pick(kp, self.n(4)):
            d = self.tday(0.05, 0.4)
            t = self.T0 + d * DAY + int(r.uniform(18, 23) * H)
            self.add_trip(p, t, self.Tend + 40 * DAY)
            self.truth('long_absent', 'person', p.id, p.house.grid.id, t, self.Tend, person_id=p.id,
                       house_id=p.house.id, scenario='key_person_vanished', also=['out_no_return'])
        tn = self.pool(lambda p: 'tenant' in p.tags and p.house.area == 'village'
                       and 'minor' not in p.tags)
        for p in self.pick(tn, self.n(3)):
            d = self.tday(0.05, 0.35)
            t = self.T0 + d * DAY + int(r.uniform(9, 16) * H)
            p.move_out = t + 60
            self.clear(p, t - H, self.Tend + DAY)
            p.trips.append([t, self.Tend + 40 * DAY, 'walk', 'walk'])
            self.truth('long_absent', 'person', p.id, p.house.grid.id, t, self.Tend, person_id=p.id,
                       house_id=p.house.id, scenario='tenant_moved_out_registry_not_updated',
                       also=['out_no_return'])

    def inc_unusual(self):
        r = self.r
        cand = self.pool(lambda p: p.profile in ('migrant', 'commuter', 'rider')
                         and p.house.area in ('village', 'old') and 'minor' not in p.tags)
        cand.sort(key=lambda p: ('key_person' not in p.tags, p.id))
        keys = [p for p in cand if 'key_person' in p.tags][:min(2, self.n(4))]
        rest = self.pick([p for p in cand if p not in keys], self.n(4) - len(keys))
        for p in keys + rest:
            d = self.tday(0.3, 0.55, lo_min=3)
            p.switch = (d, 'night_switched')
            trips = []
            for dd in range(-1, self.D):
                for a, b in self.day_trips(p, dd):
                    trips.append([a, b, 'walk', 'walk'])
            self.set_trips(p, trips)
            self.truth('unusual_hours', 'person', p.id, p.house.grid.id, self.T0 + d * DAY + 22 * H,
                       self.Tend, person_id=p.id, house_id=p.house.id,
                       scenario='switched_to_night_pattern', from_day=d,
                       key_person='key_person' in p.tags, also=[])
        dem = self.pool(lambda p: 'dementia' in p.tags)
        for p in self.pick(dem, self.n(2)):
            d = self.tday(0.3, 0.5, lo_min=3)
            nights = []
            for dd in range(d, self.D):
                if r.random() < 0.8:
                    a = self.T0 + dd * DAY + int(r.uniform(0.8, 2.0) * H)
                    b = a + int(r.uniform(1.5, 3.0) * H)
                    nights.append((a, b))
                    p.overrides.append((a, b, 'night_awake', {}))
                    if r.random() < 0.35:
                        o = a + int(r.uniform(0.2, 0.8) * H)
                        self.add_trip(p, o, o + int(r.uniform(0.4, 1.2) * H))
            p.overrides.append((self.T0 + d * DAY, self.Tend, 'day_drowsy', {}))
            self.truth('unusual_hours', 'person', p.id, p.house.grid.id, self.T0 + d * DAY,
                       self.Tend, person_id=p.id, house_id=p.house.id,
                       scenario='dementia_sundowning_night_wandering', nights=len(nights), also=[])

    def inc_group_rental(self):
        r = self.r
        est = [h for h in self.houses if h.area == 'estate' and h.lock and not h.vacant
               and h.id not in self.used and all('tenant' in p.tags for p in h.occ) and h.occ]
        est += [h for h in self.houses if h.area == 'estate' and h.lock and h.vacant
                and h.id not in self.used]
        vil = [h for h in self.houses if h.area == 'village' and h.lock and h.id not in self.used
               and 1 <= h.reg <= 2 and not any(self.used.__contains__(p.id) for p in h.occ)]
        n = self.n(6)
        ne = min(len(est), (n + 1) // 2)
        chosen = ([('estate', h) for h in self.pick(est, ne)]
                  + [('village', h) for h in self.pick(vil, n - ne)])
        for area, h in chosen:
            k = r.randint(8, 13) if area == 'estate' else r.randint(6, 9)
            start = (self.T0 if r.random() < 0.6
                     else self.T0 + int(self.tday(0.1, 0.4) * DAY + 14 * H))
            lk = 0
            for _ in range(k):
                u = self._person(h, ('tenant',),
                                 r.choice(['migrant', 'rider', 'commuter', 'nightshift']),
                                 registered=False)
                lk += 1
                u.lock = f'u-{h.lock.id[5:]}-{lk:02d}'
                u.card = h.occ[0].id if h.occ[0].registered else None
                u.move_in = (start + int(r.uniform(0, 2) * DAY) if start > self.T0
                             else self.T0 - 60 * DAY)
                u.group = True
                trips = []
                for d in range(-1, self.D):
                    for a, b in self.day_trips(u, d):
                        trips.append([a, b, 'walk', 'walk'])
                self.set_trips(u, trips)
            self.truth('group_rental', 'house', h.id, h.grid.id, start, self.Tend, house_id=h.id,
                       registered_occupants=h.reg,
                       actual_people=k + len([p for p in h.occ
                                              if not getattr(p, 'group', False)]) - 0,
                       scenario='subdivided_flat' if area == 'estate' else 'bunk_bed_dorm_room',
                       person_id=(h.occ[0].id if h.occ and h.occ[0].registered else None), also=[])

    def inc_crowd(self):
        r = self.r
        vg = self.cgates['village']
        specs = [('village_night_gathering', vg[0], 20.6, 45, 'strangers', 2.0),
                 ('estate_owner_protest', self.cgates['estate'][0], 19.9, 130, 'residents', 1.5),
                 ('wage_arrears_dispute', vg[-1], 9.2, 55, 'strangers', 2.5),
                 ('free_health_check_event', self.cgates['old'][0], 8.6, 60,
                  'strangers_elderly', 3.0)]
        n = self.n(4)
        for i in range(n):
            name, g, hr, k, who, stay = specs[i % len(specs)]
            d = self.tday(0.2 + 0.15 * i, 0.9)
            if d == self.storm:
                d = max(1, d - 1)
            t = self.T0 + d * DAY + int(hr * H)
            ppl = []
            if who == 'residents':
                res = [p for p in self.persons if p.house.area == 'estate' and 'minor' not in p.tags
                       and p.id not in self.used and self.at_home(p, t)
                       and self.at_home(p, t + int(stay * H))]
                for p in self.pick(res, k):
                    a = t + int(r.uniform(0, 0.3) * H)
                    # mode = forced gate
                    self.add_trip(p, a, a + int(r.uniform(0.8, stay) * H), g, g)
                    ppl.append(p.id)
            else:
                for _ in range(k):
                    w = self.mk_visitor_who()
                    if who == 'strangers_elderly':
                        w.face_pen = 0.1
                    a = t + int(r.uniform(0, 0.5) * H)
                    self.crowd_people.append((g, w, a, a + int(r.uniform(0.7, stay) * H)))
                    ppl.append(w.face)
            self.truth('crowd', 'gate', g.id, g.grid.id, t, t + int(stay * H), gate_id=g.id,
                       scenario=name, people=len(ppl), window_min=30, also=[],
                       benign=(name == 'free_health_check_event'))
            if name != 'free_health_check_event':
                for j in range(2):
                    self.report(t + int(r.uniform(0.3, 1.2) * H), g.grid, 'crowd_gathering',
                                r.choice(['citizen', 'police']), g.lat + r.uniform(-2e-4, 2e-4),
                                g.lon + r.uniform(-2e-4, 2e-4), CAT_TEXT['crowd_gathering'][j % 2])

    def inc_devices(self):
        r = self.r
        # --- sensor_threshold: gas leaks
        gas = [d for d in self.devices if d.kind == 'gas' and d.house.id not in self.used]
        for dv in self.pick(gas, self.n(3)):
            d = self.tday(0.1, 0.9)
            t = self.T0 + d * DAY + int(r.choice([11.5, 17.8, 7.2]) * H + r.uniform(-0.3, 0.3) * H)
            peak = r.uniform(28, 60)
            dur = r.uniform(0.4, 1.5) * H
            dv.leak = (t, t + int(dur), peak)
            self.truth('sensor_threshold', 'device', dv.id, dv.grid.id, t, t + int(dur),
                       device_id=dv.id, house_id=dv.house.id, metric='gas', peak_lel=round(peak, 1),
                       scenario='stove_knob_left_open', also=[])
        # --- sensor_threshold: kit smoke false alarm while cooking
        sm = [d for d in self.devices if d.kind == 'smoke' and not d.public
              and d.house.id not in self.used]
        for dv in self.pick(sm, self.n(2)):
            d = self.tday(0.1, 0.9)
            t = self.T0 + d * DAY + int(r.uniform(17.6, 18.6) * H)
            dv.alarm = [(t, t + int(r.uniform(3, 12) * 60))]
            self.truth('sensor_threshold', 'device', dv.id, dv.grid.id, t, dv.alarm[0][1],
                       device_id=dv.id, house_id=dv.house.id, metric='smoke',
                       scenario='burnt_pot_cooking_smoke', also=[])
        # --- sensor_anomaly
        wm = [h for h in self.houses if 'water' in h.dev and not h.vacant and h.id not in self.used]
        kw = [h for h in self.houses if 'kwater' in h.dev and h.id not in self.used
              and not any(p.id in self.used for p in h.occ)]
        for h in self.pick(wm, self.n(2)):
            d = self.tday(0.2, 0.7)
            t = self.T0 + d * DAY + int(r.uniform(0, 24) * H)
            e = min(self.Tend, t + int(r.uniform(3, 6) * DAY))
            lph = r.uniform(15, 45)
            h.extra_water = (t, e, lph)
            self.truth('sensor_anomaly', 'device', h.dev['water'].id, h.grid.id, t, e,
                       device_id=h.dev['water'].id, house_id=h.id, scenario='pipe_leak_under_sink',
                       litres_per_hour=round(lph, 1), also=[])
        kwl = self.pick(kw, 2)
        if kwl:
            h = kwl[0]
            d = self.tday(0.2, 0.6)
            t = self.T0 + d * DAY + int(r.uniform(7, 21) * H)
            e = min(self.Tend, t + int(r.uniform(3, 5) * DAY))
            h.extra_water = (t, e, r.uniform(12, 25))
            self.truth('sensor_anomaly', 'device', h.dev['kwater'].id, h.grid.id, t, e,
                       device_id=h.dev['kwater'].id, house_id=h.id, person_id=h.occ[0].id,
                       scenario='running_toilet_flapper', also=[])
            self.used.add(h.id)
        if len(kwl) > 1 and self.D >= 4:
            h = kwl[1]
            d = self.tday(0.3, 0.6)
            t = self.T0 + d * DAY + int(r.uniform(0, 24) * H)
            h.dev['kwater'].stuck = (t, self.Tend)
            self.truth('sensor_anomaly', 'device', h.dev['kwater'].id, h.grid.id, t, self.Tend,
                       device_id=h.dev['kwater'].id, house_id=h.id, person_id=h.occ[0].id,
                       scenario='stuck_meter_reports_zero_while_used', also=['no_usage'])
            self.used.add(h.id)
        for h in self.pick([h for h in wm if h.id not in self.used and h.extra_water is None],
                           self.n(1)):
            d = self.tday(0.2, 0.9)
            t = self.T0 + d * DAY + int(r.randrange(24) * H)
            h.dev['water'].spike = [(t, round(r.uniform(40, 99), 3))]
            self.truth('sensor_anomaly', 'device', h.dev['water'].id, h.grid.id, t, t + H,
                       device_id=h.dev['water'].id, house_id=h.id, scenario='meter_glitch_spike',
                       also=[])
            self.used.add(h.id)
        vr = [h for h in self.houses if h.area == 'village' and not h.vacant
              and h.id not in self.used and not h.lock
              and not any(p.id in self.used for p in h.occ)]
        for h in self.pick(vr, self.n(1)):
            d = self.tday(0.3, 0.6)
            t = self.T0 + d * DAY + int(r.uniform(10, 20) * H)
            h.extra_power = (t, self.Tend, r.uniform(1.2, 1.8))
            self.truth('sensor_anomaly', 'device', h.dev['power'].id, h.grid.id, t, self.Tend,
                       device_id=h.dev['power'].id, house_id=h.id,
                       scenario='ebike_battery_charging_business', also=[])
            self.used.add(h.id)
            self.report(t + int(3 * DAY), h.grid, 'fire_hazard', 'grid_worker', h.lat, h.lon,
                        '出租屋内违规集中充电', reporter=h.grid.worker)
        # --- device_offline
        ps = [d for d in self.devices if d.kind == 'smoke' and d.public]
        for dv in self.pick(ps, self.n(2)):
            d = self.tday(0.2, 0.7)
            t = self.T0 + d * DAY + dv.offset
            dv.dead = t
            dv.battery = 0.22
            self.used.add(dv.id)
            self.truth('device_offline', 'device', dv.id, dv.grid.id, t, self.Tend, device_id=dv.id,
                       scenario='nb_smoke_battery_exhausted', expected_interval_h=dv.hb / H,
                       also=[])
        ww = [h for h in self.houses if 'water' in h.dev and h.id not in self.used]
        for h in self.pick(ww, self.n(1)):
            d = self.tday(0.2, 0.5)
            t = self.T0 + d * DAY + int(r.uniform(0, 24) * H)
            rv = t + int(r.uniform(2.5, 4) * DAY)
            h.dev['water'].dead, h.dev['water'].revive = t, (rv if rv < self.Tend - DAY else None)
            self.used.add(h.id)
            self.truth('device_offline', 'device', h.dev['water'].id, h.grid.id, t,
                       min(rv, self.Tend), device_id=h.dev['water'].id, house_id=h.id,
                       scenario='lora_module_failed_replaced',
                       catch_up_reading=rv < self.Tend - DAY, also=[])
        for kind, scen in (('pir', 'pir_battery_dead'), ('gas', 'gas_detector_unplugged')):
            cand = [d for d in self.devices if d.kind == kind and d.house.id not in self.used
                    and d.house.kit]
            for dv in self.pick(cand, 1):
                d = self.tday(0.2, 0.7)
                t = self.T0 + d * DAY + int(r.uniform(0, 24) * H)
                dv.dead = t
                self.used.add(dv.id)
                self.truth('device_offline', 'device', dv.id, dv.grid.id, t, self.Tend,
                           device_id=dv.id, house_id=dv.house.id, scenario=scen, also=[])
        gws = [d for d in self.devices if d.kind == 'gateway' and d.grid.area == 'estate']
        for dv in self.pick(gws, 1):
            d = self.tday(0.2, 0.8)
            t = self.T0 + d * DAY + int(r.uniform(1, 4) * H)
            e = t + int(r.uniform(5, 9) * H)
            dv.outages.append((t, e))
            self.truth('device_offline', 'device', dv.id, dv.grid.id, t, e, device_id=dv.id,
                       scenario='concentrator_4g_down_buffered_upload_late', also=[],
                       behind=sorted(x.id for x in self.devices if x.gw is dv))
        # district power cut in one old-estate grid
        og = self.area_grids['old'][-1]
        d = self.tday(0.4, 0.75)
        if d == self.storm:
            d = max(1, d - 1)
        t = self.T0 + d * DAY + int(14.0 * H)
        e = t + int(r.uniform(2.5, 3.5) * H)
        self.power_cut = (og, t, e)
        self.report(t + 600, og, 'power_outage', 'citizen', og.lat, og.lon,
                    CAT_TEXT['power_outage'][0])
        for dv in sorted({id(x.gw): x.gw for x in self.devices if x.gw and x.grid is og}.values(),
                         key=lambda x: x.id):
            dv.outages.append((t, e))
            self.truth('device_offline', 'device', dv.id, og.id, t, e, device_id=dv.id,
                       scenario='district_power_cut', also=[],
                       behind=sorted(x.id for x in self.devices if x.gw is dv))
        # planned water outage (control)
        wg = self.area_grids['old'][0]
        d = self.tday(0.5, 0.9)
        if d == self.storm or self.T0 + d * DAY == self.power_cut[1] - 14 * H:
            d = max(1, d - 2)
        ws, we = self.T0 + d * DAY + 9 * H, self.T0 + d * DAY + 15 * H
        self.water_cut = (wg, ws, we)
        self.report(ws - 86400, wg, 'water_supply_notice', 'system', wg.lat, wg.lon,
                    CAT_TEXT['water_supply_notice'][0])

    def inc_clusters(self):
        r = self.r
        vg = self.area_grids['village']
        eg = self.area_grids['estate']
        og = self.area_grids['old']
        specs = [('water_pipe_burst', r.choice(vg), None), ('fire', r.choice(vg), 'fire'),
                 ('waterlogging', eg[0], 'storm'), ('elevator_fault', eg[-1], None),
                 ('fallen_tree', og[0], 'storm'), ('fire', vg[-1], 'ebike_fire')]
        for i in range(self.n(5)):
            cat, g, tag = specs[i % len(specs)]
            if tag == 'storm':
                d = self.storm
                hr = r.uniform(8, 12)
            else:
                d = self.tday(0.1, 0.9)
                if d == self.storm:
                    d = max(1, d - 1)
                hr = r.uniform(9, 22) if cat != 'fire' else r.uniform(19, 23.5)
            t = self.T0 + d * DAY + int(hr * H)
            if g.buildings:
                b = r.choice(g.buildings)
                lat, lon = b.lat + r.uniform(-3e-4, 3e-4), b.lon + r.uniform(-3e-4, 3e-4)
            else:
                lat, lon = g.lat, g.lon
            k = r.randint(6, 11)
            span = r.uniform(0.8, 1.8) * H
            devs = []
            if cat == 'fire':
                ds = [x for x in self.devices if x.kind == 'smoke' and x.public and x.grid is g
                      and x.dead is None and x.id not in self.used]
                if ds:
                    dv = r.choice(ds)
                    bds = [x for x in ds if x.bld is dv.bld]
                    for x in bds:
                        x.alarm = [(t - 240 + r.randrange(120), t + int(r.uniform(0.5, 1.2) * H))]
                        devs.append(x.id)
                        self.truth('sensor_threshold', 'device', x.id, g.id, x.alarm[0][0],
                                   x.alarm[0][1], device_id=x.id, metric='smoke', scenario=tag,
                                   also=['event_cluster'])
                    lat, lon = dv.bld.lat, dv.bld.lon
                    self.report(t + 60, g, 'smoke_alarm', 'system', lat, lon,
                                f'独立式烟感报警（{dv.id}）')
            srcs = []
            for j in range(k):
                src = r.choices(['citizen', 'grid_worker', 'police', 'system'],
                                [0.65, 0.15, 0.12, 0.08])[0]
                tt = t + int(span * (j / k) ** 1.5) + r.randrange(60)
                txt = r.choice(CAT_TEXT[cat])
                jl = r.gauss(0, 2.5e-4)
                self.report(tt, g, cat, src, lat + jl, lon + r.gauss(0, 2.5e-4), txt,
                            reporter=(g.worker if src == 'grid_worker'
                                      else (g.police if src == 'police' else None)),
                            noloc=(src == 'citizen' and r.random() < 0.1))
                srcs.append(src)
            self.truth('event_cluster', 'grid', g.id, g.id, t, t + int(span), category=cat,
                       reports=k, lat=round(lat, 5), lon=round(lon, 5), scenario=tag or cat,
                       devices=devs, also=(['sensor_threshold'] if devs else []))

    # ------------------------------------------------------------ controls
    def pick_controls(self):
        r = self.r
        lo_t, hi_t = self.T0, self.Tend
        # healthy untagged travellers, 2-5 days away, passes recorded
        trav = self.pool(lambda p: not p.tags and p.profile in ('commuter', 'migrant')
                         and not p.plate)
        for p in self.pick(trav, self.n(8)):
            d = self.tday(0.1, 0.6)
            a = self.T0 + d * DAY + int(r.uniform(7, 19) * H)
            b = min(self.Tend - 6 * H, a + int(r.uniform(2, 5) * DAY))
            self.add_trip(p, a, b)
            self.control('healthy_traveller', 'person', p.id, p.house.grid.id, a, b, person_id=p.id,
                         house_id=p.house.id, days=round((b - a) / DAY, 1),
                         expected_silent=['out_no_return', 'long_absent'])
        # elderly alone who stay home 2 days with normal activity
        ea = self.pool(lambda p: 'elderly_alone' in p.tags and p.house.kit is not None
                       and 'dementia' not in p.tags)
        for p in self.pick(ea, self.n(5)):
            d = self.tday(0.1, 0.8)
            a, b = self.T0 + d * DAY, self.T0 + (d + 2) * DAY
            self.clear(p, a - 4 * H, b)
            self.control('home_all_day_active', 'person', p.id, p.house.grid.id, a, b,
                         person_id=p.id, house_id=p.house.id,
                         expected_silent=['stay_in', 'no_usage', 'long_absent'])
        ns = self.pool(lambda p: p.profile == 'nightshift' and p.switch is None)
        for p in self.pick(ns, self.n(6)):
            self.control('steady_night_shift', 'person', p.id, p.house.grid.id, lo_t, hi_t,
                         person_id=p.id, house_id=p.house.id, expected_silent=['unusual_hours'])
        dawn = self.pool(lambda p: p.profile == 'retiree' and p.house.area == 'old')
        for p in self.pick(dawn, self.n(5)):
            self.control('dawn_exercise_retiree', 'person', p.id, p.house.grid.id, lo_t, hi_t,
                         person_id=p.id, house_id=p.house.id,
                         expected_silent=['unusual_hours', 'out_no_return'])
        hb = self.pool(lambda p: p.profile == 'homebound')
        for p in self.pick(hb, self.n(2)):
            self.control('homebound_disabled_with_family', 'person', p.id, p.house.grid.id,
                         lo_t, hi_t, person_id=p.id, house_id=p.house.id,
                         expected_silent=['long_absent', 'stay_in'])
        vac = [h for h in self.houses if h.vacant and h.id not in self.used and not h.occ]
        for h in self.pick(vac, self.n(6)):
            self.control('vacant_home', 'house', h.id, h.grid.id, lo_t, hi_t, house_id=h.id,
                         expected_silent=['no_usage', 'sensor_anomaly', 'group_rental'])
        cv = [h for h in self.houses if h.kit and h.lock and h.id not in self.used
              and not any(p.id in self.used for p in h.occ)]
        for h in self.pick(cv, self.n(3)):
            self.control('carers_and_family_visiting', 'house', h.id, h.grid.id, lo_t, hi_t,
                         house_id=h.id, person_id=h.occ[0].id, expected_silent=['group_rental'])
        lf = [h for h in self.houses if len(h.occ) >= 5 and h.lock and h.id not in self.used]
        lf += [h for h in self.houses if len(h.occ) >= 5 and not h.lock and h.id not in self.used
               and h.area == 'estate']
        for h in self.pick(lf, self.n(3)):
            self.control('large_family', 'house', h.id, h.grid.id, lo_t, hi_t, house_id=h.id,
                         registered=h.reg, living=len(h.occ), expected_silent=['group_rental'])
        for g in self.pick([g for g in self.grids if g.id not in self.used], self.n(3)):
            self.control('routine_patrol_reports', 'grid', g.id, g.id, lo_t, hi_t,
                         expected_silent=['event_cluster'],
                         note='grid worker files 4-8 routine reports per working day '
                              'along a patrol route')
        eg = self.cgates['estate'][-1]
        if eg.id not in self.used:
            self.control('commute_rush_hour', 'gate', eg.id, eg.grid.id, lo_t, hi_t, gate_id=eg.id,
                         expected_silent=['crowd'])
        wg, ws, we = self.water_cut
        nwc = self.n(4)
        for h in self.houses:
            if (h.grid is wg and h.kit and h.id not in self.used
                    and not any(p.id in self.used for p in h.occ) and nwc > 0):
                nwc -= 1
                h.water_cut.append((ws, we))
                self.control('planned_water_outage_6h', 'house', h.id, wg.id, ws, we, house_id=h.id,
                             person_id=h.occ[0].id, expected_silent=['no_usage'])
            elif h.grid is wg:
                h.water_cut.append((ws, we))
        sp = [d for d in self.devices if d.kind == 'kwater' and d.style == 'flow'
              and d.house.id not in self.used and d.id not in self.used]
        for dv in self.pick(sp, self.n(3)):
            self.control('sparse_on_flow_meter', 'device', dv.id, dv.grid.id, lo_t, hi_t,
                         device_id=dv.id, house_id=dv.house.id, idle_heartbeat_h=6,
                         expected_silent=['device_offline'])
        sm = [d for d in self.devices if d.kind == 'smoke' and d.public and d.id not in self.used
              and d.dead is None and not getattr(d, 'alarm', None)]
        for dv in self.pick(sm, self.n(2)):
            self.control('daily_heartbeat_smoke_alarm', 'device', dv.id, dv.grid.id, lo_t, hi_t,
                         device_id=dv.id, heartbeat_h=dv.hb / H,
                         expected_silent=['device_offline', 'sensor_threshold'])

    # ------------------------------------------------------------ emission: access
    def gate_pass(self, g, who, t, d, mode=None):
        if t < self.T0 or t >= self.Tend:
            return
        r = self.r
        k = g.kind
        hr = self.hour_of(t)
        night = hr >= 19.5 or hr < 6.0
        obj = None
        if k in ('vgate', 'egate', 'ogate', 'oside', 'bdoor_face'):
            if r.random() < g.tail[d]:
                return
            if d == 'out' and not getattr(g, 'both', False):
                return
            if mode == 'carried':
                if r.random() < 0.5:
                    return
                obj = {'method': 'face', 'person_id': None,
                       'confidence': round(r.uniform(0.2, 0.5), 2)}
            elif k == 'ogate' and who.uses_card and who.card and r.random() < 0.85:
                obj = {'method': 'card', 'person_id': who.card}
            elif (getattr(who, 'qr', None) and d == 'in' and k in ('ogate', 'egate')
                  and r.random() < 0.7):
                obj = {'method': 'qr', 'person_id': who.qr}
            else:
                miss = g.miss[d] + (g.night if night else 0) + who.face_pen
                if r.random() < miss:
                    obj = {'method': 'face', 'person_id': None,
                           'confidence': round(r.uniform(0.3, 0.62), 2)}
                else:
                    fid = who.face
                    if who.id is None and r.random() < 0.05:
                        fid = self.anon_face()    # clustering split
                    obj = {'method': 'face', 'person_id': fid,
                           'confidence': round(r.uniform(0.78, 0.995), 3)}
        elif k == 'bdoor_pw':
            if d == 'out' or r.random() < g.tail['in']:
                return
            obj = {'method': 'password', 'person_id': None}
        elif k == 'udoor':
            if d == 'out' or r.random() < g.tail['in']:
                return
            if who.card and r.random() < 0.6:
                obj = {'method': 'card', 'person_id': who.card}
            elif r.random() < 0.93 - who.face_pen:
                obj = {'method': 'face', 'person_id': who.face,
                       'confidence': round(r.uniform(0.8, 0.99), 3)}
            else:
                obj = {'method': 'face', 'person_id': None,
                       'confidence': round(r.uniform(0.3, 0.6), 2)}
        elif k == 'lock':
            if d == 'out':
                return
            lk = who.lock
            if lk is None:
                obj = {'method': 'password', 'person_id': None}
            else:
                x = r.random()
                if x < 0.12:
                    obj = {'method': 'password', 'person_id': None}
                elif x < 0.55:
                    obj = {'method': 'other', 'person_id': lk}
                else:
                    obj = {'method': 'face', 'person_id': lk,
                           'confidence': round(r.uniform(0.85, 0.99), 3)}
        elif k == 'vehicle':
            obj = {'method': 'plate', 'plate': who.plate,
                   'person_id': (who.id if g.bound and who.id else None),
                   'confidence': round(r.uniform(0.9, 0.99), 3)}
        if obj is None:
            return
        if r.random() < 0.004:
            return  # lost by device
        ts = t + g.skew
        tz = UTC if getattr(g, 'utc', False) else TZ
        o = {'event_id': self.new_event_id('a'), 'ts': iso(ts, tz), 'gate_id': g.id, 'direction': d}
        o.update(obj)
        if o.get('person_id') is None:
            o['person_id'] = None
        if g.batch:
            arr = (t // g.batch + 1) * g.batch + r.randrange(2, 15)
        elif k == 'lock':
            arr = t + r.randrange(3, 40) + (int(r.uniform(1, 5) * H) if r.random() < 0.01 else 0)
        else:
            arr = t + r.randrange(1, 6)
        o['stream'] = 'access'
        self.push(arr, o)

    def plate_pass(self, area, plate, t, d, pid=None):
        g = self.vehicle.get(area)
        if g is None:
            return
        who = Obj(id=pid, plate=plate)
        self.gate_pass(g, who, t, d)

    def cgate_for(self, p):
        gl = self.cgates[p.house.area]
        if p.gate_pref is None:
            own = [g for g in gl if g.grid is p.house.grid]
            p.gate_pref = (own or gl)[hash_int(p.face) % len(own or gl)]
        if self.r.random() < 0.15:
            return self.r.choice(gl)
        return p.gate_pref

    def leave(self, p, t, mode):
        r = self.r
        h = p.house
        h.door_times.append(t)
        if mode == 'none':
            return
        if isinstance(mode, Obj):
            self.gate_pass(mode, p, t + int(r.uniform(50, 200)), 'out')
            return
        area = h.area
        if mode == 'car' and area != 'village':
            if p.plate:
                self.plate_pass(area, p.plate, t + int(r.uniform(120, 400)), 'out', p.id)
            elif area == 'old' or r.random() < 0.5:
                self.plate_pass(area, f'粤A{r.choice("BCDEFGHJK")}{r.randrange(10000):04d}',
                                t + int(r.uniform(120, 400)), 'out')
            return
        if area == 'old' and mode != 'carried' and r.random() < 0.22:
            return  # side gate, exits not recorded
        self.gate_pass(self.cgate_for(p), p, t + int(r.uniform(50, 280)), 'out', mode)

    def arrive(self, p, t, mode):
        r = self.r
        h = p.house
        h.door_times.append(t)
        if mode == 'none':
            return
        area = h.area
        if isinstance(mode, Obj):
            self.gate_pass(mode, p, t - int(r.uniform(60, 200)), 'in')
        elif mode == 'car' and area != 'village':
            if p.plate:
                self.plate_pass(area, p.plate, t - int(r.uniform(120, 400)), 'in', p.id)
            elif area == 'old' or r.random() < 0.5:
                self.plate_pass(area, f'粤A{r.choice("BCDEFGHJK")}{r.randrange(10000):04d}',
                                t - int(r.uniform(120, 400)), 'in')
        elif area == 'old' and r.random() < 0.22:
            self.gate_pass(self.side_gate, p, t - int(r.uniform(60, 200)), 'in')
        else:
            self.gate_pass(self.cgate_for(p), p, t - int(r.uniform(60, 280)), 'in', mode)
        if h.building.door is not None:
            self.gate_pass(h.building.door, p, t - int(r.uniform(15, 50)), 'in')
        if h.lock is not None:
            self.gate_pass(h.lock, p, t, 'in')

    def emit_access(self):
        for p in self.persons + self.unreg:
            if p.registered and p.lock is None and p.house.lock is not None:
                p.lock = p.id
            for a, b, om, im in p.trips:
                if self.T0 <= a < self.Tend:
                    self.leave(p, a, om)
                if self.T0 <= b < self.Tend:
                    self.arrive(p, b, im)
            if p.move_in > self.T0 and p.move_in < self.Tend:
                self.arrive(p, p.move_in, 'walk')
        for v in [v for h in self.houses for v in h.visits]:
            h = v.house
            w = v.who
            if not v.qr and getattr(w, 'qr', None):
                w = Obj(**dict(w.__dict__, qr=None))
            gl = self.cgates[h.area]
            g = gl[0] if h.area != 'village' else self.r.choice(gl)
            self.gate_pass(g, w, v.t_in - int(self.U(60, 240)), 'in')
            if h.building.door is not None:
                self.gate_pass(h.building.door, w, v.t_in - 30, 'in')
            if h.lock is not None:
                # family members are enrolled (fingerprint/face), carers use the PIN
                self.gate_pass(h.lock, Obj(**dict(w.__dict__, lock=w.id if w.registered else None)),
                               v.t_in, 'in')
            self.gate_pass(g, w, v.t_out + int(self.U(60, 240)), 'out')
            h.door_times += [v.t_in, v.t_out]
        for g, w, a, b in self.crowd_people:
            self.gate_pass(g, w, a, 'in')
            self.gate_pass(g, w, b, 'out')
        for h, a, b in self.ambulance:
            area = h.area
            pl = f'粤A1{self.r.choice("23")}{self.r.randrange(1000):03d}'
            if area in self.vehicle:
                self.plate_pass(area, pl, a, 'in')
                self.plate_pass(area, pl, b, 'out')

    # ------------------------------------------------------------ emission: iot
    def arrival_for(self, dv, t):
        r = self.r
        gw = dv.gw
        if gw is not None:
            for a, b in gw.outages:
                if a <= t < b:
                    if b - t > 10 * H:
                        return None  # buffer overflow
                    return b + 60 + int((t - a) * 0.01) + r.randrange(0, 300)
            return t + r.randrange(20, 240)
        if dv.kind == 'smoke':
            return t + r.randrange(2, 30)
        return t + r.randrange(1, 12)

    def iot(self, dv, t, metric, value, battery=None, unit=None, force=False):
        if t < self.T0 or t >= self.Tend:
            return
        if dv.dead is not None and t >= dv.dead and (dv.revive is None or t < dv.revive):
            return
        r = self.r
        if not force and r.random() < dv.loss:
            return
        arr = self.arrival_for(dv, t)
        if arr is None:
            return
        o = {'event_id': self.new_event_id('i'), 'ts': iso(t + dv.skew), 'device_id': dv.id,
             'metric': metric, 'value': value}
        if unit:
            o['unit'] = unit
        if battery is not None:
            o['battery'] = round(battery, 2)
        o['stream'] = 'iot'
        self.push(arr, o)

    def person_arrays(self, p):
        NS = self.NS
        home = np.zeros(NS, bool)
        a = max(0, self.slot(p.move_in))
        b = min(NS, max(0, self.slot(p.move_out)))
        if b > a:
            home[a:b] = True
        for tr in p.trips:
            s0 = max(0, self.slot(tr[0]))
            s1 = min(NS, self.slot(tr[1]))
            if s1 > s0:
                home[s0:s1] = False
        awake = np.zeros(NS, bool)
        r = self.r
        for d in range(-1, self.D):
            prof = self.profile_on(p, max(d, 0))
            sl, wk, nap = SLEEP[prof]
            w = self.T0 + d * DAY + int((wk + p.sleep_shift * 0.5 + r.uniform(-0.3, 0.3)) * H)
            s = self.T0 + d * DAY + int((sl + p.sleep_shift + r.uniform(-0.3, 0.4)) * H)
            if s <= w:
                s += DAY
            s0, s1 = max(0, self.slot(w)), min(NS, self.slot(s))
            if s1 > s0:
                awake[s0:s1] = True
            if nap and r.random() < 0.8 and d >= 0:
                n0 = max(0, self.slot(self.T0 + d * DAY + int((nap[0] + r.uniform(-0.2, 0.3)) * H)))
                n1 = min(NS,
                         self.slot(self.T0 + d * DAY + int((nap[1] + r.uniform(-0.3, 0.3)) * H)))
                awake[n0:n1] = False
        act = (home & awake).astype(np.float32)
        asleep = (home & ~awake).astype(np.float32)
        xm = np.zeros(NS, np.float32)
        nowater = np.zeros(NS, bool)
        for t0, t1, kind, prm in p.overrides:
            s0, s1 = max(0, self.slot(t0)), min(NS, self.slot(t1))
            if s1 <= s0:
                continue
            if kind == 'fallen':
                act[s0:s1] = 0
                asleep[s0:s1] = 0
                nowater[s0:s1] = True
                xm[s0:s1] = 0.05 if prm.get('visible') else 0.0
            elif kind == 'ill':
                act[s0:s1] = np.where(home[s0:s1], 0.18, 0)
                asleep[s0:s1] = np.where(home[s0:s1], 0.5, 0)
            elif kind == 'night_awake':
                act[s0:s1] = home[s0:s1].astype(np.float32)
                asleep[s0:s1] = 0
            elif kind == 'day_drowsy':
                for dd in range(max(0, (t0 - self.T0) // DAY), self.D):
                    n0 = self.slot(self.T0 + dd * DAY + 10 * H)
                    n1 = self.slot(self.T0 + dd * DAY + 12 * H)
                    act[n0:n1] *= 0.3
        return home, act, asleep, xm, nowater

    def emit_houses(self):
        NS = self.NS
        nr = self.nr
        r = self.r
        hrs = np.arange(NS) % SPD / 12.0  # hour of day per slot
        for h in self.houses:
            if not h.dev:
                continue
            people = [p for p in h.occ]
            n_home = np.zeros(NS, np.float32)
            act = np.zeros(NS, np.float32)
            slp = np.zeros(NS, np.float32)
            xm = np.zeros(NS, np.float32)
            water = np.zeros(NS, np.float64)
            elderly = 0.0
            showers = np.zeros(NS, np.float32)
            for p in people:
                hm, a, s, x, nw = self.person_arrays(p)
                n_home += hm
                act += a
                slp += s
                xm = np.maximum(xm, x)
                # per-person water
                taps = nr.poisson(a * (2.0 / 12)) * nr.gamma(2.0, 0.8, NS)
                fl = (nr.poisson(a * (0.35 / 12) + s * (p.night_rate / 12))
                      * nr.uniform(4.5, 6.5, NS))
                w = taps + fl
                # shower once a day in the evening (or morning)
                for d in range(self.D):
                    base = d * SPD
                    ev = np.nonzero(a[base + 228:base + 282] > 0.5)[0]
                    if len(ev):
                        s0 = base + 228 + int(ev[r.randrange(len(ev))])
                    else:
                        mv = np.nonzero(a[base + 72:base + 108] > 0.5)[0]
                        if not len(mv) or r.random() < 0.4:
                            continue
                        s0 = base + 72 + int(mv[r.randrange(len(mv))])
                    lit = (r.uniform(30, 45) if ('elderly' in p.tags or 'elderly_alone' in p.tags)
                           else r.uniform(40, 65))
                    w[s0:s0 + 2] += lit / 2 if s0 + 2 <= NS else 0
                    if p.heater:
                        showers[s0] += 1
                w[nw] = 0
                water += w
                if 'elderly' in p.tags or 'elderly_alone' in p.tags:
                    elderly += 1
            for v in h.visits:
                s0, s1 = max(0, self.slot(v.t_in)), min(NS, self.slot(v.t_out))
                if s1 > s0:
                    act[s0:s1] += 1
                    n_home[s0:s1] += 1
                    water[s0:s1] += nr.poisson(2.0 / 12, s1 - s0) * 1.5
                    if v.clean:
                        water[s0 + (s1 - s0) // 2] += r.uniform(12, 25)
            # household cooking and laundry
            cook = any(p.cook for p in people) or h.area == 'village'
            for d in range(self.D):
                base = d * SPD
                for lo, hi in ((134, 150), (210, 234)):
                    seg = np.nonzero(act[base + lo:base + hi] > 0.5)[0]
                    if len(seg) and r.random() < (0.8 if cook else 0.45):
                        s0 = base + lo + int(seg[0])
                        water[s0:s0 + 3] += r.uniform(9, 20) / 3
                if r.random() < 0.4 * min(1.0, len(people) / 2 + 0.3):
                    seg = np.nonzero(act[base + 96:base + 252] > 0.5)[0]
                    if len(seg):
                        s0 = base + 96 + int(seg[r.randrange(len(seg))])
                        water[s0:s0 + 6] += r.uniform(45, 65) / 6
            if h.extra_water:
                a, b, lph = h.extra_water
                s0, s1 = max(0, self.slot(a)), min(NS, self.slot(b))
                water[s0:s1] += lph / 12 * nr.uniform(0.85, 1.15, max(0, s1 - s0))
            for a, b in h.water_cut:
                s0, s1 = max(0, self.slot(a)), min(NS, self.slot(b))
                lost = water[s0:s1].sum()
                water[s0:s1] = 0
                if s1 < NS:
                    water[s1:s1 + 6] += lost * 0.5 / 6
            self.emit_water(h, water)
            self.emit_power(h, n_home, act, slp, showers, elderly, len(people))
            if 'pir' in h.dev:
                self.emit_pir(h, act, slp, xm, hrs)
            if 'door' in h.dev:
                self.emit_door(h, act)
            if 'gas' in h.dev:
                self.emit_gas(h, act)
            if 'smoke' in h.dev:
                self.emit_smoke(h.dev['smoke'])

    def emit_water(self, h, water):
        r = self.r
        for key in ('water', 'kwater'):
            dv = h.dev.get(key)
            if dv is None:
                continue
            per = dv.period // SLOT
            nwin = self.NS // per
            lit = water[:nwin * per].reshape(nwin, per).sum(axis=1)
            res_l = dv.res * 1000
            reg = r.uniform(0, res_l)
            last_read = math.floor(reg / res_l) * res_l
            last_msg = self.T0
            style = getattr(dv, 'style', 'interval')
            batt = dv.battery
            for i in range(nwin):
                t = self.T0 + (i + 1) * dv.period
                reg += lit[i]
                if dv.stuck and dv.stuck[0] <= t:
                    reg = last_read + res_l * 0.5
                rd = math.floor(reg / res_l) * res_l
                val = (rd - last_read) / 1000.0
                if dv.dead is not None and dv.dead <= t and (dv.revive is None or t < dv.revive):
                    continue
                last_read = rd
                for st, sv in dv.spike:
                    if st <= t < st + dv.period:
                        val = sv
                batt -= 0.00001
                ts = t
                if style == 'flow':
                    if val > 0:
                        self.iot(dv, ts, 'water', round(val, 3), battery=batt, unit='m3')
                        last_msg = ts
                    elif ts - last_msg >= 6 * H:
                        self.iot(dv, ts, 'heartbeat', 1, battery=batt)
                        last_msg = ts
                else:
                    self.iot(dv, ts, 'water', round(val, 3), battery=batt, unit='m3')

    def emit_power(self, h, n_home, act, slp, showers, elderly, npeople):
        r = self.r
        nr = self.nr
        dv = h.dev['power']
        NS = self.NS
        nh = NS // 12
        act_h = act.reshape(nh, 12).mean(axis=1)
        slp_any = (slp.reshape(nh, 12) > 0).mean(axis=1)
        sh = showers.reshape(nh, 12).sum(axis=1)
        kwh = 0.05 + 0.02 * nr.random(nh) + 0.07 * act_h + 1.0 * sh
        if h.vacant and not h.occ:
            kwh = 0.012 + 0.006 * nr.random(nh)
        units = 1 if (h.area == 'village' or npeople <= 2) else 2
        for d in range(self.D):
            hot_night = self.tmin[d] >= 25.5
            use = r.random() < h.ac_prop * (1.0 if hot_night else 0.6)
            if not use:
                continue
            for hh in range(24):
                i = d * 24 + hh
                if hh >= 22 or hh < 7:
                    kwh[i] += slp_any[i] * units * r.uniform(0.55, 0.85)
                elif hh >= 18 or (12 <= hh < 16 and self.tmax[d] > 32.5):
                    kwh[i] += act_h[i] * r.uniform(0.5, 0.9) * (1 if elderly < 1 else 0.5)
        if h.extra_power:
            a, b, x = h.extra_power
            i0, i1 = max(0, (a - self.T0) // H), min(nh, (b - self.T0) // H)
            kwh[i0:i1] += x * nr.uniform(0.7, 1.1, max(0, i1 - i0))
        pc = self.power_cut
        if h.grid is pc[0]:
            i0, i1 = (pc[1] - self.T0) // H, (pc[2] - self.T0) // H + 1
            kwh[i0:i1] = kwh[i0:i1] * 0.1
        per = dv.period // H
        for i in range(0, nh - per + 1, per):
            t = self.T0 + (i + per) * H
            v = float(kwh[i:i + per].sum())
            self.iot(dv, t, 'power', round(v, 2), unit='kWh')

    def emit_pir(self, h, act, slp, xm, hrs):
        nr = self.nr
        dv = h.dev['pir']
        q = dv.q
        p = 1 - np.power(1 - q, np.minimum(act, 3)) + slp.clip(0, 1) * 0.03 + xm
        hit = nr.random(self.NS) < p
        idx = np.nonzero(hit)[0]
        offs = nr.integers(0, SLOT, len(idx))
        for s, o in zip(idx.tolist(), offs.tolist(), strict=True):
            self.iot(dv, self.T0 + s * SLOT + o, 'motion', 1)
        self.hourly_heartbeats(dv, 0.0002)

    def emit_door(self, h, act):
        r = self.r
        dv = h.dev['door']
        times = sorted(set(h.door_times))
        for d in range(self.D):
            if r.random() < 0.7:
                # garbage run / courier at the door
                t = self.T0 + d * DAY + int(r.uniform(8, 21) * H)
                if act[self.slot(t)] >= 0.9:
                    times += [t, t + r.randrange(40, 200)]
        for t in sorted(times):
            self.iot(dv, t + r.randrange(-20, 20), 'door', 1)
        self.hourly_heartbeats(dv, 0.0001)

    def hourly_heartbeats(self, dv, drain):
        """A battery sensor's hourly heartbeat, its battery lower by ``drain`` each time."""
        batt = dv.battery
        for k in range(self.D * 24):
            batt -= drain
            self.iot(dv, self.T0 + k * H + dv.offset, 'heartbeat', 1, battery=batt)

    def emit_gas(self, h, act):
        r = self.r
        dv = h.dev['gas']
        leak = getattr(dv, 'leak', None)
        for k in range(self.D * 48):
            t = self.T0 + k * 1800 + dv.offset % 1800
            s = self.slot(t)
            v = 0.0
            if act[max(0, s - 3):s + 1].max() > 0.5 and r.random() < 0.15:
                v = round(r.uniform(0.2, 2.5), 1)
            if leak and leak[0] <= t < leak[1]:
                continue
            self.iot(dv, t, 'gas', v, unit='%LEL')
        if leak:
            a, b, peak = leak
            t = a
            while t < b:
                f = min(1.0, (t - a) / 900.0)
                if t > b - 600:
                    f = max(0.05, (b - t) / 600.0)
                v = round(max(3.0, peak * f + r.uniform(-2, 2)), 1)
                self.iot(dv, t, 'gas', v, unit='%LEL', force=True)
                t += 60
            self.iot(dv, b, 'gas', 0.4, unit='%LEL', force=True)

    def emit_smoke(self, dv):
        batt = dv.battery
        n = int(self.D * DAY // dv.hb)
        for k in range(n):
            t = self.T0 + k * dv.hb + dv.offset
            batt -= 0.0015 if dv.dead is None else 0.01
            self.iot(dv, t, 'heartbeat', 1, battery=max(batt, 0.05))
        for a, b in getattr(dv, 'alarm', None) or []:
            self.iot(dv, a, 'smoke', 1, battery=batt, force=True)
            if b - a > 600:
                self.iot(dv, a + 300, 'smoke', 1, battery=batt, force=True)
            self.iot(dv, b, 'smoke', 0, battery=batt, force=True)

    def emit_public(self):
        for dv in self.devices:
            if dv.kind == 'smoke' and dv.public:
                self.emit_smoke(dv)
            elif dv.kind == 'gateway':
                for k in range(int(self.D * DAY // dv.period)):
                    t = self.T0 + k * dv.period + dv.offset % dv.period
                    if any(a <= t < b for a, b in dv.outages):
                        continue
                    self.iot(dv, t, 'heartbeat', 1)

    # ------------------------------------------------------------ reports
    def report(self, t, grid, cat, source, lat, lon, text, reporter=None, noloc=False):
        if t < self.T0 or t >= self.Tend:
            return
        r = self.r
        o = {'event_id': self.new_event_id('r'), 'ts': iso(t), 'grid_id': grid.id,
             'category': cat, 'source': source}
        if not noloc and lat is not None:
            o['lat'] = round(lat, 6)
            o['lon'] = round(lon, 6)
        o['text'] = text
        if reporter:
            o['reporter_id'] = reporter
        if source == 'grid_worker' and r.random() < 0.06:
            arr = t + int(r.uniform(0.5, 3) * H)  # app offline in a basement, synced later
        else:
            arr = t + r.randrange(3, 90)
        o['stream'] = 'report'
        self.push(arr, o)

    def background_reports(self):
        r = self.r
        cats_by_area = {
            'village': (['garbage', 'fire_hazard', 'illegal_parking', 'street_vending',
                         'rental_check', 'illegal_construction', 'drainage', 'fire_lane_blocked'],
                        [3, 3, 2, 2, 4, 1, 1, 1]),
            'estate': (['garbage', 'illegal_parking', 'fire_hazard', 'noise', 'drainage'],
                       [2, 3, 1, 1, 1]),
            'old': (['elderly_visit', 'garbage', 'fire_hazard', 'drainage', 'illegal_parking',
                     'illegal_construction'], [4, 2, 2, 1, 1, 1]),
        }
        for g in self.grids:
            cats, wts = cats_by_area[g.area]
            houses = [h for b in g.buildings for h in b.houses] or [None]
            for d in range(self.D):
                t0 = self.T0 + d * DAY
                wd = self.weekday(d)
                # grid worker patrol (Mon-Sat), 2 sessions along a route
                if wd < 6 and d != self.storm:
                    for lo, hi in ((9.0, 11.5), (14.5, 17.0)):
                        k = r.randint(2, 4)
                        lat = g.lat + r.uniform(-1.2e-3, 1.2e-3)
                        lon = g.lon + r.uniform(-1.4e-3, 1.4e-3)
                        times = sorted(r.uniform(lo, hi) for _ in range(k))
                        for tt in times:
                            lat += r.gauss(0, 4e-4)
                            lon += r.gauss(0, 4e-4)
                            c = r.choices(cats, wts)[0]
                            if c == 'elderly_visit' and houses[0] is not None:
                                hh = r.choice(houses)
                                lat, lon = hh.lat, hh.lon
                            self.report(t0 + int(tt * H), g, c, 'grid_worker', lat, lon,
                                        r.choice(CAT_TEXT[c]), reporter=g.worker)
                # citizens
                lam = {'village': 1.2, 'estate': 0.8, 'old': 0.6}[g.area]
                for _ in range(int(self.nr.poisson(lam))):
                    night = g.area == 'village' and r.random() < 0.25
                    tt = r.uniform(22, 25.5) if night else r.uniform(8, 22)
                    c = 'noise' if night else r.choices(cats + ['dispute'], wts + [1])[0]
                    hh = r.choice(houses)
                    la = (hh.lat if hh else g.lat) + r.gauss(0, 3e-4)
                    lo_ = (hh.lon if hh else g.lon) + r.gauss(0, 3e-4)
                    self.report(t0 + int(tt * H), g, c, 'citizen', la, lo_, r.choice(CAT_TEXT[c]),
                                noloc=r.random() < 0.12)
                if r.random() < 0.15:
                    c = r.choice(['dispute', 'suspicious_person'])
                    self.report(t0 + int(r.uniform(0, 24) * H), g, c, 'police',
                                g.lat + r.gauss(0, 6e-4), g.lon + r.gauss(0, 6e-4),
                                r.choice(CAT_TEXT[c]), reporter=g.police)
                sys_rate = {'village': 0.3, 'estate': 0.5, 'old': 0.1}[g.area]
                if r.random() < sys_rate:
                    c = ('fire_lane_blocked' if g.area == 'village'
                         else ('e_bike_in_elevator' if g.area == 'estate' else 'garbage'))
                    self.report(t0 + int(r.uniform(6, 23) * H), g, c, 'system',
                                g.lat + r.gauss(0, 5e-4), g.lon + r.gauss(0, 5e-4),
                                r.choice(CAT_TEXT.get(c, ['AI识别事件'])))
                if d == self.storm:
                    for _ in range(r.randint(1, 3)):
                        c = r.choice(['waterlogging', 'fallen_tree', 'drainage'])
                        self.report(t0 + int(r.uniform(6, 18) * H), g, c,
                                    r.choice(['citizen', 'grid_worker']),
                                    g.lat + r.uniform(-1.4e-3, 1.4e-3),
                                    g.lon + r.uniform(-1.4e-3, 1.4e-3),
                                    r.choice(CAT_TEXT[c]), reporter=None)

    # ------------------------------------------------------------ output
    def write(self, out):
        r = self.r
        os.makedirs(os.path.join(out, 'registry'), exist_ok=True)
        # duplicates (at-least-once delivery)
        nd = 0
        extra = []
        for ev in self.events:
            if r.random() < 0.002:
                extra.append((ev[0] + r.randrange(5, 300), ev[1], ev[2]))
                nd += 1
        self.events.extend(extra)
        self.events.sort(key=lambda e: (e[0], e[1]))
        counts = {'access': 0, 'iot': 0, 'report': 0}
        with open(os.path.join(out, 'feed.jsonl'), 'w', encoding='utf-8') as f:
            for _, _, line in self.events:
                f.write(line)
                f.write('\n')
                s = line[line.rfind('"stream":"') + 10:-2]
                counts[s] += 1

        def csv(name, header, rows):
            with open(os.path.join(out, 'registry', name), 'w', encoding='utf-8', newline='') as f:
                f.write(','.join(header) + '\n')
                for row in rows:
                    f.write(','.join('' if x is None else str(x) for x in row) + '\n')

        csv('grids.csv',
            ['grid_id', 'community_id', 'street_id', 'district_id', 'city_id', 'worker_id',
             'police_id', 'name'],
            [(g.id, g.community, g.street, g.district, g.city, g.worker, g.police, g.name)
             for g in self.grids])
        csv('houses.csv',
            ['house_id', 'grid_id', 'building_id', 'registered_occupants', 'lat', 'lon'],
            [(h.id, h.grid.id, h.building.id, h.reg, f'{h.lat:.6f}', f'{h.lon:.6f}')
             for h in self.houses])
        csv('persons.csv', ['person_id', 'house_id', 'tags'],
            [(p.id, p.house.id, ';'.join(p.tags)) for p in self.persons])
        csv('gates.csv', ['gate_id', 'grid_id', 'house_id', 'lat', 'lon'],
            [(g.id, g.grid.id, g.house or '', f'{g.lat:.6f}', f'{g.lon:.6f}') for g in self.gates])
        csv('devices.csv', ['device_id', 'house_id', 'grid_id'],
            [(d.id, d.house.id if d.house else '', d.grid.id) for d in self.devices])

        def key(x):
            return (x['start'], x['kind'], x['subject_id'])

        with open(os.path.join(out, 'truth.jsonl'), 'w', encoding='utf-8') as f:
            for t in sorted(self.truths, key=key):
                f.write(json.dumps(t, ensure_ascii=False, sort_keys=True) + '\n')
        with open(os.path.join(out, 'controls.jsonl'), 'w', encoding='utf-8') as f:
            for t in sorted(self.controls, key=key):
                f.write(json.dumps(t, ensure_ascii=False, sort_keys=True) + '\n')
        tk, ck = {}, {}
        for t in self.truths:
            tk[t['kind']] = tk.get(t['kind'], 0) + 1
        for t in self.controls:
            ck[t['kind']] = ck.get(t['kind'], 0) + 1
        meta = {'generator': 'third_city',
                'args': {'persons': self.P, 'days': self.D, 'seed': self.seed,
                         'start': self.args.start},
                'start': iso(self.T0), 'end': iso(self.Tend), 'feed_lines': len(self.events),
                'streams': counts, 'duplicates': nd, 'registered_persons': len(self.persons),
                'unregistered_residents': len(self.unreg),
                'houses': len(self.houses), 'kit_houses': sum(1 for h in self.houses if h.kit),
                'gates': len(self.gates), 'devices': len(self.devices), 'grids': len(self.grids),
                'storm_day': iso(self.T0 + self.storm * DAY), 'power_cut': [self.power_cut[0].id,
                                                                              iso(self.power_cut[1]),
                                                                              iso(self.power_cut[2])],
                'water_cut': [self.water_cut[0].id, iso(self.water_cut[1]), iso(self.water_cut[2])],
                'truth_counts': dict(sorted(tk.items())),
                'control_counts': dict(sorted(ck.items()))}
        with open(os.path.join(out, 'meta.json'), 'w', encoding='utf-8') as f:
            json.dump(meta, f, ensure_ascii=False, indent=1, sort_keys=True)
        return meta

    def run(self, out):
        self.crowd_people = []
        self.build()
        self.weather()
        self.base_schedules()
        self.routine_visits()
        self.incidents()
        self.pick_controls()
        self.emit_access()
        self.emit_houses()
        self.emit_public()
        self.background_reports()
        return self.write(out)


def hash_int(s):
    """deterministic small hash (python's hash() is salted per process)"""
    h = 2166136261
    for ch in (s or ''):
        h = ((h ^ ord(ch)) * 16777619) & 0xFFFFFFFF
    return h


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--persons', type=int, default=2000)
    ap.add_argument('--days', type=int, default=21)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--start', default='2027-05-10')
    args = ap.parse_args(argv)
    t = _time.time()
    c = City(args)
    meta = c.run(args.out)
    el = _time.time() - t
    tc = ', '.join(f'{k} {v:d}' for k, v in meta['truth_counts'].items())
    cc = ', '.join(f'{k[8:]} {v:d}' for k, v in meta['control_counts'].items())
    m, st = meta, meta['streams']
    print(f"third_city: {m['registered_persons']:d} registered persons "
          f"(+{m['unregistered_residents']:d} unregistered residents) "
          f"in {m['houses']:d} houses ({m['kit_houses']:d} with elderly care kits), "
          f"{m['gates']:d} gates, {m['devices']:d} devices, {m['grids']:d} grids "
          f"over {args.days:d} days from {args.start}; feed {m['feed_lines']:d} lines "
          f"(access {st['access']:d}, iot {st['iot']:d}, report {st['report']:d}, "
          f"{m['duplicates']:d} duplicates), rainstorm day {m['storm_day'][:10]}, "
          f"power cut {m['power_cut'][0]}; truth: {tc}; controls: {cc}; "
          f"wrote {args.out} in {el:.1f}s.")


if __name__ == '__main__':
    main()
