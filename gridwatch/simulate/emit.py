"""Columnar tables → contract messages, merged in time order.

Ids are numbered per stream in emission order (``a-``, ``i-``, ``r-``), so
they are unique and stable for a seed. With ``max_disorder_s`` > 0 each
event is emitted as if it arrived up to that many seconds late: the feed is
then out of order by at most that much, as a real gateway's would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from gridwatch.simulate.clock import Clock
from gridwatch.simulate.generate import Feed
from gridwatch.simulate.model import DIRECTIONS, METHODS, METRICS, City

Event = tuple[str, dict[str, Any]]
CHUNK = 50_000
COUNT_METRICS = frozenset(("smoke", "door", "motion", "heartbeat"))
UNITS = {"water": "m3", "power": "kWh", "gas": "%LEL", "temperature": "°C"}


def _order(feed: Feed, max_disorder_s: float, rng: np.random.Generator,
           ) -> tuple[np.ndarray, np.ndarray]:
    r_ts = np.array([t for t, _ in feed.reports], np.int64)
    sizes = (feed.access["ts"].size, feed.iot["ts"].size, r_ts.size)
    ts = np.concatenate([feed.access["ts"], feed.iot["ts"], r_ts]).astype(np.float64)
    stream = np.repeat(np.arange(3, dtype=np.int8), sizes)
    local = np.concatenate([np.arange(n) for n in sizes])
    if max_disorder_s > 0:
        ts = ts + rng.uniform(0, max_disorder_s, ts.size)
    order = np.lexsort((local, stream, ts))
    return stream[order], local[order]


def _access_rows(cols: dict[str, np.ndarray], idx: np.ndarray, city: City,
                 fmt: Any) -> Iterator[dict[str, Any]]:
    gates = [g.gate_id for g in city.gates]
    names, plates = city.ids.names, city.plates
    for t, g, d, m, p, c, pl in zip(*(cols[k][idx].tolist() for k in
                                      ("ts", "gate", "dir", "method", "person", "conf", "plate")),
                                    strict=True):
        ev = {"event_id": None, "ts": fmt(t), "gate_id": gates[g], "direction": DIRECTIONS[d],
              "method": METHODS[m], "person_id": names[p] if p >= 0 else None}
        if c == c:
            ev["confidence"] = c
        if pl >= 0:
            ev["plate"] = plates[pl]
        yield ev


def _iot_rows(cols: dict[str, np.ndarray], idx: np.ndarray, city: City,
              fmt: Any) -> Iterator[dict[str, Any]]:
    devices = [d.device_id for d in city.devices]
    for t, d, m, v, b in zip(*(cols[k][idx].tolist() for k in
                               ("ts", "device", "metric", "value", "battery")), strict=True):
        metric = METRICS[m]
        ev = {"event_id": None, "ts": fmt(t), "device_id": devices[d], "metric": metric,
              "value": int(v) if metric in COUNT_METRICS else v}
        unit = UNITS.get(metric)
        if unit:
            ev["unit"] = unit
        if b == b:
            ev["battery"] = b
        yield ev


def _report_rows(reports: list[tuple[int, dict[str, Any]]], idx: np.ndarray,
                 fmt: Any) -> Iterator[dict[str, Any]]:
    for i in idx.tolist():
        t, body = reports[i]
        yield {**body, "ts": fmt(t)}


def iter_feed(feed: Feed, city: City, clock: Clock, max_disorder_s: float = 0.0,
              seed: int = 0) -> Iterator[Event]:
    """(stream, message) pairs in emission order; messages are fresh dicts."""
    stream, local = _order(feed, max_disorder_s, np.random.default_rng([seed, 7]))
    counters = [0, 0, 0]
    prefixes = ("a-", "i-", "r-")
    names = ("access", "iot", "report")
    for c0 in range(0, stream.size, CHUNK):
        s, loc = stream[c0: c0 + CHUNK], local[c0: c0 + CHUNK]
        rows = (_access_rows(feed.access, loc[s == 0], city, clock.fmt),
                _iot_rows(feed.iot, loc[s == 1], city, clock.fmt),
                _report_rows(feed.reports, loc[s == 2], clock.fmt))
        for k in s.tolist():
            ev = next(rows[k])
            counters[k] += 1
            ev["event_id"] = f"{prefixes[k]}{counters[k]:07d}"
            yield names[k], ev
