"""Simulation time: epoch seconds inside, RFC 3339 with a fixed offset outside.

Plans are drawn on a grid of minutes from the local midnight on or before the
requested start (``origin``), so hour-of-day and weekday are plain integer
arithmetic; events before ``start`` are planned (people were already asleep
or out) but never emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

DAY_S = 86400
DEFAULT_TZ = timezone(timedelta(hours=8))


def _offset_text(offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    h, m = divmod(abs(offset_s) // 60, 60)
    return f"{sign}{h:02d}:{m:02d}"


@dataclass(frozen=True)
class Clock:
    """The simulated period; ``fmt`` is on the hot path, so it avoids ``datetime``."""

    start: int
    end: int
    origin: int
    offset_s: int
    _prefix: tuple[str, ...] = field(repr=False, compare=False)
    _suffix: str = field(repr=False, compare=False)

    @classmethod
    def of(cls, start: datetime, days: int) -> Clock:
        if start.tzinfo is None:
            start = start.replace(tzinfo=DEFAULT_TZ)
        offset = start.utcoffset() or timedelta(0)
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        t0, origin = int(start.timestamp()), int(midnight.timestamp())
        n = (t0 - origin + days * DAY_S) // DAY_S + 2
        prefix = tuple((midnight + timedelta(days=d)).strftime("%Y-%m-%dT") for d in range(n))
        return cls(t0, t0 + days * DAY_S, origin, int(offset.total_seconds()), prefix,
                   _offset_text(int(offset.total_seconds())))

    @property
    def n_days(self) -> int:
        """Planned days, counting the partial first and last."""
        return -(-(self.end - self.origin) // DAY_S)

    @property
    def minutes(self) -> int:
        return self.n_days * 1440

    @property
    def first_day(self) -> int:
        """Index (from origin) of the first emitted day."""
        return (self.start - self.origin) // DAY_S

    def weekday(self, day: int) -> int:
        """0 = Monday, for the day ``day`` after origin."""
        tz = timezone(timedelta(seconds=self.offset_s))
        return datetime.fromtimestamp(self.origin + day * DAY_S + 43200, tz).weekday()

    def fmt(self, ts: int) -> str:
        d, r = divmod(ts - self.origin, DAY_S)
        h, r = divmod(r, 3600)
        m, s = divmod(r, 60)
        return f"{self._prefix[d]}{h:02d}:{m:02d}:{s:02d}{self._suffix}"
