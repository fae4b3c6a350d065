"""Day types: an operator is told when events fall past the published holiday schedule."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from config.days import CalendarConfig
from detectors.days import DayTypes, local_day


def test_a_year_past_the_schedule_is_reported_once_and_a_configured_one_not(
        caplog: pytest.LogCaptureFixture) -> None:
    """Holidays unknown for 2041 make a Spring Festival an ordinary week at every gate: the
    operator is told once for the year (not per day, nor per partition's calendar); a year
    whose dates the config lists, or one the schedule covers, says nothing."""
    caplog.set_level(logging.WARNING, logger="detectors.days")
    for _partition in range(8):  # each partition has its own calendar
        days = DayTypes(CalendarConfig())
        for d in range(1, 29):
            days.rest(local_day(date(2041, 2, d)))
    days.rest(local_day(date(2025, 1, 29)))
    told = [r.getMessage() for r in caplog.records]
    assert len(told) == 1 and "2041" in told[0] and "rest_days" in told[0]
    caplog.clear()
    listed = DayTypes(CalendarConfig(rest_days=(date(2042, 1, 23),)))
    assert listed.rest(local_day(date(2042, 1, 23))) and not listed.rest(
        local_day(date(2042, 1, 22)))
    assert caplog.records == []
