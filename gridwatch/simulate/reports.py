"""Grid event reports (网格事件上报): daily background and spatial-temporal clusters.

Background reports come from grid workers' patrols, citizens' 随手拍, police
and automated systems at a few per grid per day, spread over the grid. A
cluster is one real-world happening (a burst main, a fire, a gathering)
reported by several people within an hour or two and a couple of hundred
metres.
"""

from __future__ import annotations

import math
import random
from typing import Any

from gridwatch.simulate.clock import Clock
from gridwatch.simulate.model import City, Grid
from gridwatch.simulate.rand import poisson

Report = tuple[int, dict[str, Any]]

CATEGORIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "garbage": (0.22, ("楼下垃圾未清运", "垃圾桶满溢", "绿化带内有建筑垃圾")),
    "noise": (0.12, ("夜间装修噪音扰民", "广场舞音响声音过大", "商铺外放音乐声音大")),
    "road_damage": (0.10, ("小区道路路面破损", "井盖松动", "人行道地砖缺失")),
    "fire_hazard": (0.10, ("楼道堆放杂物", "电动车在楼道内充电", "消防通道被占用")),
    "water_leak": (0.07, ("地下室管道渗水", "楼顶水箱漏水", "绿化带水管破裂")),
    "parking": (0.14, ("车辆乱停占用消防通道", "僵尸车长期占道")),
    "public_facility": (0.12, ("路灯不亮", "单元门禁损坏", "健身器材损坏")),
    "dispute": (0.05, ("邻里纠纷需调解", "物业服务纠纷")),
    "other": (0.08, ("流浪犬出没", "小广告乱贴乱画")),
}
SOURCES = (("grid_worker", 0.45), ("citizen", 0.35), ("police", 0.05), ("system", 0.15))
CLUSTERS: dict[str, tuple[tuple[str, float, str], ...]] = {
    "burst_pipe": (("water_leak", 0.6, "路面冒水，疑似供水管道爆裂"),
                   ("road_damage", 0.25, "路面塌陷积水"), ("public_facility", 0.15, "单元停水")),
    "fire": (("fire_hazard", 0.7, "楼道冒烟，有焦糊味"), ("other", 0.3, "楼下有人焚烧杂物")),
    "gathering": (("dispute", 0.5, "多人聚集争吵"), ("noise", 0.5, "现场人员喧哗聚集")),
}
CLUSTER_SOURCES = (("citizen", 0.6), ("grid_worker", 0.2), ("police", 0.15), ("system", 0.05))
M_PER_DEG_LAT = 111_000.0


def _choice(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights)[0]


def _report(grid: Grid, category: str, source: str, text: str, lat: float, lon: float,
            rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": None, "ts": None, "grid_id": grid.grid_id,
                            "category": category, "source": source, "lat": round(lat, 6),
                            "lon": round(lon, 6), "text": text}
    if source == "grid_worker":
        body["reporter_id"] = grid.worker_id
    elif source == "police":
        body["reporter_id"] = grid.police_id
    elif source == "citizen" and rng.random() < 0.5:
        body["reporter_id"] = f"u-{rng.getrandbits(24):06x}"
    return body


def background(city: City, clock: Clock, rng: random.Random) -> list[Report]:
    cats = tuple((k, w) for k, (w, _) in CATEGORIES.items())
    out: list[Report] = []
    for grid in city.grids:
        lat0, lon0, lat1, lon1 = grid.box
        for d in range(clock.n_days):
            for _ in range(poisson(rng, 2.5)):
                hour = rng.uniform(8, 20) if rng.random() < 0.85 else rng.uniform(0, 24)
                cat = _choice(rng, cats)
                text = rng.choice(CATEGORIES[cat][1])
                body = _report(grid, cat, _choice(rng, SOURCES), text, rng.uniform(lat0, lat1),
                               rng.uniform(lon0, lon1), rng)
                out.append((clock.origin + d * 86400 + int(hour * 3600), body))
    return out


def cluster(grid: Grid, t0: int, rng: random.Random) -> tuple[list[Report], dict[str, Any]]:
    """Several reports of one happening: close in space (≤ radius) and time (≤ span)."""
    kind = rng.choice(sorted(CLUSTERS))
    lat0, lon0, lat1, lon1 = grid.box
    clat, clon = rng.uniform(lat0, lat1), rng.uniform(lon0, lon1)
    radius, span = rng.uniform(60, 200), rng.randint(20 * 60, 90 * 60)
    n = rng.randint(4, 8)
    kinds = tuple((c, w) for c, w, _ in CLUSTERS[kind])
    texts = {c: t for c, _, t in CLUSTERS[kind]}
    out: list[Report] = []
    for k in range(n):
        r, a = radius * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        lat = clat + r * math.cos(a) / M_PER_DEG_LAT
        lon = clon + r * math.sin(a) / (M_PER_DEG_LAT * math.cos(math.radians(clat)))
        cat = _choice(rng, kinds)
        ts = t0 if k == 0 else t0 + rng.randint(60, span)
        out.append((ts, _report(grid, cat, _choice(rng, CLUSTER_SOURCES), texts[cat], lat, lon,
                                rng)))
    out.sort(key=lambda x: x[0])
    detail = {"scenario": kind, "reports": n, "radius_m": round(radius),
              "center": {"lat": round(clat, 6), "lon": round(clon, 6)},
              "categories": sorted({b["category"] for _, b in out})}
    return out, detail
