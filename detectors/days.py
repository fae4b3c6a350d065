"""Rest day or working day, per local date: the day types that learned baselines use.

A gate's crowd and a meter's profile are learned separately for working days
and rest days (the two day types of standard load profiles). Weekends are rest
days, except where the calendar says otherwise: China's public holidays fall
on weekdays and the weekends next to them are worked (调休), so the calendar
follows the State Council's published schedule (the ``chinesecalendar``
package) and a deployment's own dates (``detectors.calendar`` in the config).
"""

from __future__ import annotations

import logging
from datetime import date

import chinese_calendar

from config.days import CalendarConfig

EPOCH = date(1970, 1, 1).toordinal()
log = logging.getLogger(__name__)
# Years past the schedule this process has warned of: each partition has its own
# calendar, an operator needs the warning once.
_TOLD: set[int] = set()


def local_day(d: date) -> int:
    """The local day number of a date: days since 1970-01-01 (``int(local_t // 86400)``)."""
    return d.toordinal() - EPOCH


class DayTypes:
    """Whether a local day is a rest day; answers are remembered (a few hundred days).

    >>> days = DayTypes(CalendarConfig())
    >>> days.rest(local_day(date(2025, 1, 29)))   # Spring Festival, a Wednesday
    True
    >>> days.rest(local_day(date(2025, 1, 26)))   # a Sunday worked to make up for it
    False
    >>> days.rest(local_day(date(2031, 6, 7)))    # a Saturday past the published years
    True
    >>> DayTypes(CalendarConfig(official=False)).rest(local_day(date(2025, 1, 29)))
    False
    """

    def __init__(self, config: CalendarConfig) -> None:
        self.config = config
        self._rest = {local_day(d) for d in config.rest_days}
        self._work = {local_day(d) for d in config.work_days}
        self._known: dict[int, bool] = {}
        self._guessed: set[int] = set()  # days judged by the weekday alone

    def rest(self, day: int) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._decide(day)
        return known

    def guessed(self, day: int) -> bool:
        """A day of a year past the official schedule that the config does not list
        either, typed by its weekday alone: a weekday may be a holiday and a weekend a
        worked one (调休). (With ``official: false`` the weekday is the type by choice.)"""
        self.rest(day)
        return day in self._guessed

    def _decide(self, day: int) -> bool:
        if day in self._rest or day in self._work:
            return day in self._rest
        if self.config.official:
            when = date.fromordinal(day + EPOCH)
            try:
                return not chinese_calendar.is_workday(when)
            except NotImplementedError:  # a year the schedule does not cover
                if not self._configured(when.year):
                    self._guessed.add(day)
                    self._tell(when.year)
        return (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday

    def _configured(self, year: int) -> bool:
        """The deployment lists this year's dates: its other weekends are rest days."""
        return any(d.year == year for d in (*self.config.rest_days, *self.config.work_days))

    def _tell(self, year: int) -> None:
        """Once a year per process: a holiday judged as a working day teaches the working
        days' profiles an empty morning and judges its visitors by a working day's, so an
        operator should know the schedule ran out."""
        if year in _TOLD:
            return
        _TOLD.add(year)
        log.warning("calendar: %d is past the published holiday schedule (chinesecalendar "
                    "%s): only weekends are rest days; list its holidays and worked weekends "
                    "in detectors.calendar.rest_days / work_days, or update the package",
                    year, getattr(chinese_calendar, "__version__", "?"))
