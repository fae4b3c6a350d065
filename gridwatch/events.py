"""Internal event types: what detectors see once a message has passed the contract.

Detectors work in event time as epoch seconds (``t``), not ``datetime``: float
arithmetic is what every deadline, window and profile needs, and it keeps the
hot path free of timezone objects. The contract models in
:mod:`gridwatch.contract` validate raw input and convert it into these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

STREAMS = ("access", "iot", "report")


@dataclass(slots=True)
class Access:
    """A pass at a community/building gate or a home's own door."""

    event_id: str
    t: float
    gate_id: str
    direction: str
    method: str
    person_id: str | None = None
    plate: str | None = None
    confidence: float | None = None

    stream = "access"


@dataclass(slots=True)
class Iot:
    """One sensor reading; ``value`` meaning depends on ``metric``."""

    event_id: str
    t: float
    device_id: str
    metric: str
    value: float
    unit: str | None = None
    battery: float | None = None

    stream = "iot"


@dataclass(slots=True)
class Report:
    """A grid event report (网格事件上报) from a worker, citizen, police or system."""

    event_id: str
    t: float
    grid_id: str
    category: str
    source: str
    lat: float | None = None
    lon: float | None = None
    text: str | None = None
    reporter_id: str | None = None

    stream = "report"


Event = Access | Iot | Report


def parse_tz(offset: str) -> timezone:
    """Turn a ``+08:00`` style offset into a fixed timezone for output stamps."""
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def iso(t: float, tz: timezone) -> str:
    """Format event time as RFC 3339 with an offset, as the contract requires."""
    return datetime.fromtimestamp(t, tz).isoformat()
