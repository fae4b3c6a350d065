"""A fast path for well-formed input; the pydantic models stay the authority.

Validating every event through pydantic costs ~10 µs here, more than the
detectors. Nearly all real traffic is well formed, so this module accepts the
plain, unambiguous shape of each message with a few type checks and returns
``None`` for anything else; the caller then asks the pydantic model, which
either accepts it or explains the rejection. A property test checks that
whenever this path accepts, it builds exactly what the model would have.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from gridwatch.events import Access, Event, Iot, Report

DIRECTIONS = frozenset(("in", "out"))
METHODS = frozenset(("card", "face", "qr", "plate", "password", "other"))
SOURCES = frozenset(("grid_worker", "citizen", "police", "system"))
_INF = float("inf")


def _plain(v: Any) -> bool:
    """A non-empty string with no surrounding space (``strip`` and ``isspace`` agree on
    what space is); anything else is for pydantic."""
    return type(v) is str and v != "" and v.strip() == v


def _one_of(v: Any, allowed: frozenset[str]) -> bool:
    """``v in allowed`` for a string; a JSON array or object (unhashable) is for pydantic,
    which rejects it with a reason, instead of a ``TypeError`` that stopped the reader."""
    return type(v) is str and v in allowed


def _text(obj: dict[str, Any], key: str) -> str | None:
    """A required, non-empty string with no surrounding space (else: ask pydantic)."""
    v = obj.get(key)
    return v if _plain(v) else None


def _opt_text(obj: dict[str, Any], key: str) -> str | None | bool:
    """An optional string: the value, ``None`` when absent, ``False`` when unusual."""
    v = obj.get(key)
    if v is None:
        return None
    if type(v) is str and v.strip() == v:
        return v
    return False


def _number(v: Any) -> float | None:
    if type(v) is float:
        return v if -_INF < v < _INF else None
    if type(v) is int:
        return float(v)
    return None


# The plain RFC 3339 shape; anything fancier (ISO week dates, ordinal days,
# odd separators) is left to pydantic, which decides what it means.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_TS_CACHE: dict[str, float] = {}
_TS_CACHE_MAX = 65536


def _ts(obj: dict[str, Any]) -> float | None:
    """RFC 3339 with an offset, in its plain form only.

    Meters report on the hour, so many events share one ``ts`` string: a small
    cache of parsed stamps saves most of the parsing. Passes and alarms come at
    any second, so a whole-second stamp missing from the cache is its minute's
    stamp (``…:00``, parsed once) plus its seconds: two ASCII digits 00–59 are a
    valid seconds field whenever the minute's stamp is valid, and the sum of
    whole seconds is exact, so the float is the one ``timestamp()`` gives.
    """
    v = obj.get("ts")
    if type(v) is not str:
        return None
    t = _TS_CACHE.get(v)
    if t is not None:
        return t
    if v[19:20] in _ZONE_START:
        seconds = _SECONDS.get(v[17:19])
        if seconds is not None:
            minute = _stamp(v[:17] + "00" + v[19:])
            return None if minute is None else minute + seconds
    return _stamp(v)


_ZONE_START = frozenset(("+", "-", "Z"))  # no fraction: whole seconds
_SECONDS = {f"{s:02d}": s for s in range(60)}


def _stamp(v: str) -> float | None:
    """Parse and remember one stamp (``None`` if it is not the plain form)."""
    t = _TS_CACHE.get(v)
    if t is not None:
        return t
    if _RFC3339.fullmatch(v) is None:
        return None
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    if len(_TS_CACHE) >= _TS_CACHE_MAX:
        _TS_CACHE.clear()
    t = _TS_CACHE[v] = dt.timestamp()
    return t


def access(obj: dict[str, Any]) -> Access | None:
    get = obj.get
    eid, gate, direction, method = get("event_id"), get("gate_id"), get("direction"), \
        get("method")
    if not (_plain(eid) and _plain(gate) and _one_of(direction, DIRECTIONS)
            and _one_of(method, METHODS)):
        return None
    t = _ts(obj)
    if t is None:
        return None
    person, plate = _opt_text(obj, "person_id"), _opt_text(obj, "plate")
    if person is False or plate is False:
        return None
    conf = get("confidence")
    if conf is not None:
        conf = _number(conf)
        if conf is None or not 0 <= conf <= 1:
            return None
    return Access(eid, t, gate, direction, method, person, plate, conf)  # type: ignore[arg-type]


def iot(obj: dict[str, Any]) -> Iot | None:
    get = obj.get
    eid, dev, metric = get("event_id"), get("device_id"), get("metric")
    value = _number(get("value"))
    if value is None:
        return None
    if not (_plain(eid) and _plain(dev) and _plain(metric)):
        return None
    t = _ts(obj)
    if t is None:
        return None
    unit, battery = _opt_text(obj, "unit"), get("battery")
    if unit is False:
        return None
    if battery is not None:
        battery = _number(battery)
        if battery is None or not 0 <= battery <= 1:
            return None
    return Iot(eid, t, dev, metric, value, unit, battery)  # type: ignore[arg-type]


def report(obj: dict[str, Any]) -> Report | None:
    eid, grid, cat, t = _text(obj, "event_id"), _text(obj, "grid_id"), \
        _text(obj, "category"), _ts(obj)
    source = obj.get("source")
    if eid is None or grid is None or cat is None or t is None \
            or not _one_of(source, SOURCES):
        return None
    text, reporter = _opt_text(obj, "text"), _opt_text(obj, "reporter_id")
    if text is False or reporter is False:
        return None
    lat, lon = obj.get("lat"), obj.get("lon")
    if lat is not None and ((lat := _number(lat)) is None or not -90 <= lat <= 90):
        return None
    if lon is not None and ((lon := _number(lon)) is None or not -180 <= lon <= 180):
        return None
    return Report(eid, t, grid, cat, source, lat, lon, text, reporter)  # type: ignore[arg-type]


FAST = {"access": access, "iot": iot, "report": report}


def fast_item(stream: str, obj: Any) -> Event | None:
    """The event if ``obj`` is plainly valid, else ``None`` (let pydantic decide)."""
    if type(obj) is not dict:
        return None
    return FAST[stream](obj)
