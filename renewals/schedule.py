"""When renewal notices go out (pure functions; no database)."""

from __future__ import annotations

from datetime import date, timedelta

from enrollments.dates import add_months


def months_before(day: date, months: int) -> date:
    """``day`` minus whole months, clamped to the month's last day (Mar 31 - 1 = Feb 28)."""
    return add_months(day, -months)


def notice_dates(
    *,
    end_date: date,
    term_months: int,
    start_date: date | None = None,
    fixed_rate: bool = True,
    count: int = 3,
    final_days: int = 30,
    short_term_months: int = 4,
    short_final_days: int = 15,
    variable_days: int = 45,
) -> list[date]:
    """Notice dates for a contract ending on ``end_date``, earliest first.

    Fixed rate (PURA §39.112): ``count`` notices in the last third of the term, evenly
    spaced, the last ``final_days`` before expiry (``short_final_days`` for terms under
    ``short_term_months``). Other products: one notice ``variable_days`` ahead (30–60).
    """
    if not fixed_rate:
        return [end_date - timedelta(days=variable_days)]
    start = start_date or months_before(end_date, term_months)
    term_days = max((end_date - start).days, 1)
    last_third_starts = end_date - timedelta(days=term_days // 3)
    final = end_date - timedelta(
        days=short_final_days if term_months < short_term_months else final_days
    )
    # A term so short that its last third ends inside the final-notice minimum: the minimum
    # wins (the notices must reach the customer in time), all notices on the final date.
    first = min(last_third_starts, final)
    if count == 1:
        return [final]
    span = (final - first).days
    return [first + timedelta(days=span * i // (count - 1)) for i in range(count)]
