"""Config of the calendar of day types that learned baselines use: rest days and work days.

Baselines that differ by day (a gate's morning rush, a household's meter) learn
two day types, working days and rest days. In China the State Council moves
them every year: public holidays fall on weekdays, and weekends next to them
are worked (调休). A holiday judged as a weekday looks like an empty morning,
a worked Sunday like a crowd at the gate.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from config.base import Section


class CalendarConfig(Section):
    """Which local dates are rest days, for the detectors that learn by day type."""

    official: bool = Field(default=True, description="use China's published schedule of "
                           "public holidays and adjusted working days (the chinesecalendar "
                           "package, from the State Council's yearly notices); outside the "
                           "years it covers, Saturdays and Sundays are the rest days")
    rest_days: tuple[date, ...] = Field(default=(), description="more rest days: a local "
                                        "holiday, or next year's schedule before the package "
                                        "has it (YYYY-MM-DD)")
    work_days: tuple[date, ...] = Field(default=(), description="more working days: a "
                                        "weekend day worked (调休) that the package lacks")
