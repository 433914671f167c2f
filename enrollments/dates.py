"""Business days (US federal holidays) for start dates and the rescission window."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import holidays

from opsadmin import clock

# A standard switch starts no sooner than 3 business days after ERCOT receives it
# (ERCOT Retail Market Guide, switching timelines); a move-in the next business day.
SWITCH_LEAD_BUSINESS_DAYS = 3
MOVE_IN_LEAD_BUSINESS_DAYS = 1
MAX_DAYS_AHEAD = 90
# The customer may rescind within 3 federal business days (PUCT Subst. R. §25.474, right of rescission).
RESCISSION_BUSINESS_DAYS = 3


@lru_cache(maxsize=32)
def _federal(year: int) -> holidays.HolidayBase:
    return holidays.US(years=year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _federal(day.year)


def add_business_days(start: date, days: int) -> date:
    """The date ``days`` business days after ``start`` (``start`` itself does not count)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day


def subtract_business_days(end: date, days: int) -> date:
    """The date ``days`` business days before ``end``."""
    day = end
    remaining = days
    while remaining > 0:
        day -= timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day


def business_days_between(start: date, end: date) -> int:
    """Business days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_business_day(day)
    return count


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's last day (Jan 31 + 1 = Feb 28)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


market_today = clock.today  # the market day (one rule, opsadmin.clock)


def earliest_start_date(enrollment_type: str, *, today: date | None = None) -> date:
    lead = SWITCH_LEAD_BUSINESS_DAYS if enrollment_type == "switch" else MOVE_IN_LEAD_BUSINESS_DAYS
    return add_business_days(today or market_today(), lead)


def start_date_problem(
    requested: date, enrollment_type: str, *, today: date | None = None
) -> str | None:
    """Why ``requested`` cannot be a start date, or None when it can."""
    today = today or market_today()
    earliest = earliest_start_date(enrollment_type, today=today)
    if requested < earliest:
        kind = "a switch" if enrollment_type == "switch" else "a move-in"
        return f"The earliest start date for {kind} is {earliest:%m/%d/%Y}."
    if requested > today + timedelta(days=MAX_DAYS_AHEAD):
        return f"Choose a date within {MAX_DAYS_AHEAD} days."
    if not is_business_day(requested):
        return "Choose a business day (not a weekend or federal holiday)."
    return None


def rescission_deadline(received: date) -> date:
    """Last day the customer may cancel without penalty."""
    return add_business_days(received, RESCISSION_BUSINESS_DAYS)
