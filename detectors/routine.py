"""Learned routines of one household or person, in fixed-size state.

A routine is summarised as *alert lines*: for each local hour of the day, the
longest silence (or outing) that started then, decaying with time. A new
silence is improbable for this household at this hour when it outlasts that
line by a margin — the first morning without water when water has run by
eight o'clock for weeks, while a late sleeper's own long nights set their own
line. This is the scheme of Cuddihy et al. (2007, "Algorithm to automatically
detect abnormally long periods of inactivity in a home", ACM HealthNet), who
learned such lines per time of day from motion sensors; keeping a maximum
rather than a mean makes the line robust to the correlated hours of sleep and
naps, which an hour-by-hour probability model treats as independent and so
underestimates (we measured that: it alerted on most slightly late mornings).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from detectors.base import restore_slots

HOUR = 3600.0
DAY_S = 86400.0


def hour_index(t: float, offset_s: float) -> int:
    """Absolute local hour number (hours since the epoch, local clock)."""
    return int((t + offset_s) // HOUR)


@dataclass(slots=True)
class SilenceLine:
    """Longest recent silence (hours) per local start hour, fading per day, in ~110 bytes.

    >>> line = SilenceLine()
    >>> for day in range(7):
    ...     line.learn(day * 24 + 21, 9.0, 0.98)   # nine hours of sleep from 21:00
    ...     line.learn(day * 24 + 14, 1.0, 0.98)   # an hour's nap at 14:00
    >>> line.limit(7 * 24 + 14, 2.0, 1.0)          # a silence from 14:00: alert after…
    3.0
    >>> line.limit(7 * 24 + 1, 2.0, 1.0)           # …from 01:00: the night's rest, 6 h × 2 + 1
    13.0
    >>> line.limit(7 * 24 + 9, 2.0, 1.0) is None   # never silent around 09:00: fixed rules
    True
    """

    __setstate__ = restore_slots

    hours: array = field(default_factory=lambda: array("f", bytes(4 * 24)))
    day: int = -1  # local day of the last decay
    count: int = 0

    def learn(self, start_hour: int, length_h: float, per_day: float) -> None:
        day = start_hour // 24
        if self.day >= 0 and day > self.day:
            _fade(self.hours, per_day ** (day - self.day))
        self.day = max(self.day, day)
        hod = start_hour % 24
        self.hours[hod] = max(self.hours[hod], length_h)
        self.count += 1

    def started(self, start_hour: int, spread: int = 1) -> float:
        """The longest recent silence that began within ``spread`` hours of this one."""
        hod = start_hour % 24
        return float(max(self.hours[(hod + k) % 24] for k in range(-spread, spread + 1)))

    def limit(self, start_hour: int, factor: float, buffer_h: float, spread: int = 1,
              reach: int = 3, cap_h: float = float("inf")) -> float | None:
        """Alert line for a silence starting at this hour, or ``None`` if none nearby.

        A silence may last as long as any recent one that *covered* this hour:
        one that started within ``spread`` hours of it, or earlier and ran on
        past now (a sleep begun at 22:00 allows a silence from a 01:00 toilet visit
        to last until morning). Failing those, the line of the hours up to
        ``reach`` later is borrowed rather than none.
        """
        hod, hours = start_hour % 24, self.hours
        longest = 0.0
        for back in range(-spread, 24 - spread):  # plain loop: this runs on every event
            v = hours[(hod - back) % 24]
            if back > spread:
                v -= back - spread
            if v > longest:
                longest = v
        for ahead in range(spread + 1, reach + 1):
            if longest > 0:
                break
            longest = hours[(hod + ahead) % 24]
        if longest <= 0:
            return None
        return with_margin(float(longest), factor, buffer_h, cap_h)


def with_margin(longest_h: float, factor: float, buffer_h: float, cap_h: float) -> float:
    """A line from the longest recent silence: × ``factor``, the extra at most ``cap_h``,
    plus ``buffer_h``. The cap keeps one long night from pushing the line past noon.

    >>> with_margin(1.0, 2.0, 1.0, 3.0), with_margin(9.0, 2.0, 1.0, 3.0)
    (3.0, 13.0)
    """
    return longest_h + min(longest_h * (factor - 1), cap_h) + buffer_h


@dataclass(slots=True)
class Habit:
    """How often something begins at each local hour of the day, fading per day (~150 bytes).

    ``seen`` counts the days it could have happened (any sign of life), ``note``
    one time it did; ``share`` is the fading fraction of days on which it began
    within an hour of this one.

    >>> habit = Habit()
    >>> for day in range(10):
    ...     habit.seen(day * 24 + 8, 0.98)
    ...     if day % 2 == 0:
    ...         habit.note(day * 24 + 15, 0.98)     # out every other afternoon at 15:00
    >>> round(habit.share(10 * 24 + 16), 1), habit.share(10 * 24 + 9)
    (0.5, 0.0)
    """

    __setstate__ = restore_slots

    starts: array = field(default_factory=lambda: array("f", bytes(4 * 24)))
    days: float = 0.0
    day: int = -1

    def seen(self, hour: int, per_day: float) -> None:
        day = hour // 24
        if self.day < 0:
            self.day, self.days = day, 1.0
        elif day > self.day:
            gap = day - self.day
            fade = per_day ** gap
            _fade(self.starts, fade)
            # the days in between count too, each fading from its own day on
            self.days = self.days * fade + (gap if per_day == 1 else
                                            (1 - fade) / (1 - per_day))
            self.day = day

    def note(self, hour: int, per_day: float) -> None:
        self.seen(hour, per_day)
        self.starts[hour % 24] += 1.0

    def share_ahead(self, hour: int) -> float:
        """The share of days on which it began in the clock hour of ``hour``, an hour not
        yet reached: if that hour is still to come today, today is not counted (a quiet
        morning would otherwise lower the evening's share)."""
        days = self.days - (1.0 if hour // 24 == self.day else 0.0)
        return self.starts[hour % 24] / days if days > 0 else 0.0

    def share(self, hour: int, spread: int = 1) -> float:
        if self.days <= 0:
            return 0.0
        hod = hour % 24
        return sum(self.starts[(hod + k) % 24] for k in range(-spread, spread + 1)) / self.days


def _fade(bins: array, factor: float) -> None:
    """Age every hour's bin by the same factor (a day's or several days' fading)."""
    for k in range(24):
        bins[k] *= factor


def waking_deadline(since: float, hours: float, night: tuple[int, int],
                    offset_s: float) -> float:
    """The time when ``hours`` hours outside the night window have passed since ``since``.

    >>> waking_deadline(20 * HOUR, 12, (22, 6), 0.0) / HOUR  # 20-22 h, then 06-16 h
    40.0
    >>> waking_deadline(23 * HOUR, 1, (22, 6), 0.0) / HOUR   # asleep until 06 h
    31.0
    """
    start, end = night[0] * HOUR, night[1] * HOUR
    left, t = hours * HOUR, since
    for _ in range(64):  # each pass crosses one night or one waking stretch
        local = (t + offset_s) % DAY_S
        asleep = (local >= start or local < end) if start > end else start <= local < end
        if asleep:
            t += (end - local) % DAY_S
            continue
        stretch = (start - local) % DAY_S or DAY_S
        if left <= stretch:
            return t + left
        left -= stretch
        t += stretch
    return t
