"""Files of a simulated city: registry CSVs, the feed, ground truth and controls.

Everything is written in a fixed order with ``\\n`` line ends, so the same
seed gives byte-identical files on every platform.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from gridwatch.simulate.model import City

REGISTRY_COLUMNS = {
    "grids": ("grid_id", "community_id", "street_id", "district_id", "city_id", "worker_id",
              "police_id", "name"),
    "houses": ("house_id", "grid_id", "building_id", "registered_occupants", "lat", "lon"),
    "persons": ("person_id", "house_id", "tags"),
    "gates": ("gate_id", "grid_id", "house_id", "lat", "lon"),
    "devices": ("device_id", "house_id", "grid_id"),
}


def _rows(city: City) -> dict[str, list[tuple[Any, ...]]]:
    comm = city.communities
    hid = {h.idx: h.house_id for h in city.houses}
    gid = {g.idx: g.grid_id for g in city.grids}
    return {
        "grids": [(g.grid_id, comm[g.community].community_id, g.street_id, g.district_id,
                   city.city_id, g.worker_id, g.police_id, g.name) for g in city.grids],
        "houses": [(h.house_id, gid[h.grid], city.buildings[h.building].building_id,
                    h.registered(city.persons), h.lat, h.lon) for h in city.houses],
        "persons": sorted((p.person_id, hid[p.house], ";".join(p.tags))
                          for p in city.persons if p.registered),
        "gates": [(g.gate_id, gid[g.grid], hid.get(g.house, ""), g.lat, g.lon)
                  for g in city.gates],
        "devices": [(d.device_id, hid.get(d.house, ""), gid[d.grid]) for d in city.devices],
    }


def write_registry(city: City, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in _rows(city).items():
        with (directory / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(REGISTRY_COLUMNS[name])
            w.writerows(rows)


def write_feed(events: Iterable[tuple[str, dict[str, Any]]], path: Path) -> Counter[str]:
    """One contract message per line plus its ``stream``; returns counts per stream."""
    counts: Counter[str] = Counter()
    heads = {s: b'{"stream":"' + s.encode() + b'",' for s in ("access", "iot", "report")}
    dumps = orjson.dumps
    with path.open("wb", buffering=1 << 20) as fh:
        write = fh.write
        for stream, ev in events:
            write(heads[stream] + dumps(ev)[1:] + b"\n")
            counts[stream] += 1
    return counts


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> None:
    with path.open("wb") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec) + b"\n")
