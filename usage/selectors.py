"""Questions about usage: the chart data (with the SMT-or-billing source rule), bills, ranges.

The source rule (seed 000, "Integration with Smart Meter Texas"):
SMT disabled -> billing system; SMT enabled and an ERCOT active premise -> SMT intervals;
SMT enabled but no data or the SMT side failed -> billing system. The page never fails
because SMT did: any database error reading intervals also falls back to bills.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from enrollments.models import Enrollment, ServiceAccount
from usage.models import CHICAGO, Bill, IntervalDay, UsageSyncState

logger = logging.getLogger(__name__)

PERIODS = ("hourly", "daily", "monthly")
UNITS = ("kWh", "MWh")
ZERO = Decimal("0")
# Enrollment statuses in which the premise is ours and SMT has (or will have) its data.
ACTIVE_STATUSES = (Enrollment.Status.ACCEPTED, Enrollment.Status.ACTIVE)


@dataclass(frozen=True)
class UsagePoint:
    start: datetime  # aware, America/Chicago
    consumption_kwh: Decimal
    generation_kwh: Decimal
    estimated: bool

    @property
    def net_kwh(self) -> Decimal:
        return self.consumption_kwh - self.generation_kwh


@dataclass(frozen=True)
class UsageResult:
    source: str  # "smt" | "billing"
    reason: str
    data_through: date | None
    points: list[UsagePoint]
    previous: list[UsagePoint] | None
    has_generation: bool
    period: str = "daily"
    unit: str = "kWh"


# --- aggregation in the database (America/Chicago) ---------------------------------------
# Hourly: unnest the day arrays; interval i starts at day_start + (i-1) * 15 min, and
# date_trunc(..., 'America/Chicago') puts it in its local hour (the fall-back day has two
# 01:00 hours, the spring-forward day none at 02:00).
HOURLY_SQL = """
SELECT date_trunc('hour', d.day_start + (u.i - 1) * interval '15 minutes', 'America/Chicago')
           AS bucket,
       coalesce(sum(u.v) FILTER (WHERE d.channel = 'C'), 0),
       coalesce(sum(u.v) FILTER (WHERE d.channel = 'G'), 0),
       bool_or(substr(d.flags, u.i::int, 1) = 'E')
FROM usage_intervalday d CROSS JOIN LATERAL unnest(d.kwh) WITH ORDINALITY AS u(v, i)
WHERE d.service_account_id = %s AND d.day BETWEEN %s AND %s AND u.v IS NOT NULL
GROUP BY 1 ORDER BY 1
"""
# Daily and monthly read the per-row totals kept at ingest (no unnest needed).
DAILY_SQL = """
SELECT d.day AS bucket,
       coalesce(sum(d.total_kwh) FILTER (WHERE d.channel = 'C'), 0),
       coalesce(sum(d.total_kwh) FILTER (WHERE d.channel = 'G'), 0),
       bool_or(d.estimated_count > 0)
FROM usage_intervalday d
WHERE d.service_account_id = %s AND d.day BETWEEN %s AND %s
GROUP BY 1 ORDER BY 1
"""
MONTHLY_SQL = """
SELECT date_trunc('month', d.day)::date AS bucket,
       coalesce(sum(d.total_kwh) FILTER (WHERE d.channel = 'C'), 0),
       coalesce(sum(d.total_kwh) FILTER (WHERE d.channel = 'G'), 0),
       bool_or(d.estimated_count > 0)
FROM usage_intervalday d
WHERE d.service_account_id = %s AND d.day BETWEEN %s AND %s
GROUP BY 1 ORDER BY 1
"""
SQL_BY_PERIOD = {"hourly": HOURLY_SQL, "daily": DAILY_SQL, "monthly": MONTHLY_SQL}


def _fetchall(sql: str, params: list) -> list[tuple]:
    """Run a chart query as a server-side prepared statement on Django's connection.

    Chart requests run the same few statements over and over; planning the context query
    (it joins past a heavily indexed enrollments table) cost more than executing it, so
    the plan is kept per connection (psycopg ``prepare=True``). Errors come out as Django's
    ``DatabaseError`` like any other query. With a transaction-pooling PgBouncer in front,
    set ``USAGE_PREPARED_STATEMENTS = False``.
    """
    if not getattr(settings, "USAGE_PREPARED_STATEMENTS", True):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


@lru_cache(maxsize=8192)  # the same days recur across requests; aware datetimes are immutable
def _local_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=CHICAGO)


def _points(rows, *, period: str, unit: str) -> list[UsagePoint]:
    scale = Decimal("1000") if unit == "MWh" else None
    points = []
    for bucket, cons, gen, est in rows:
        at = bucket.astimezone(CHICAGO) if period == "hourly" else _local_midnight(bucket)
        if scale is not None:
            cons, gen = cons / scale, gen / scale
        points.append(UsagePoint(at, cons, gen, bool(est)))
    return points


def interval_series(
    *, service_account_id: int, period: str, start: date, end: date, unit: str = "kWh"
) -> list[UsagePoint]:
    """SMT intervals of ``start..end`` (America/Chicago days, inclusive) grouped by period."""
    if period not in SQL_BY_PERIOD:
        raise ValueError(f"period must be one of {PERIODS}")
    rows = _fetchall(SQL_BY_PERIOD[period], [service_account_id, start, end])
    return _points(rows, period=period, unit=unit)


def previous_range(*, period: str, start: date, end: date) -> tuple[date, date]:
    """The immediately preceding equivalent period (Compare Previous): the same number of
    whole months for monthly, else the same number of days."""
    if period == "monthly":
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        y, m = divmod(start.year * 12 + start.month - 1 - months, 12)
        prev_start = date(y, m + 1, 1)
        return prev_start, start - timedelta(days=1)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def bill_points(*, bills: list[Bill], start: date, end: date, unit: str) -> list[UsagePoint]:
    scale = Decimal("1000") if unit == "MWh" else Decimal("1")
    chosen = [b for b in bills if b.period_end >= start and b.period_start <= end]
    chosen.sort(key=lambda b: b.period_start)
    return [UsagePoint(_local_midnight(b.period_start), b.kwh / scale, ZERO, False) for b in chosen]


# Everything the source rule needs in one round trip (this runs on every chart request).
CONTEXT_SQL = """
SELECT coalesce((SELECT smt_enabled FROM opsadmin_thirdpartyprovider WHERE id = 1), false),
       u.market = 'ERCOT',
       EXISTS (SELECT 1 FROM enrollments_enrollment e
               WHERE e.service_account_id = sa.id AND e.status = ANY(%s)),
       s.data_through, s.last_success_at, s.last_error, s.consecutive_failures
FROM enrollments_serviceaccount sa
JOIN opsadmin_utility u ON u.id = sa.utility_id
LEFT JOIN usage_usagesyncstate s ON s.service_account_id = sa.id
WHERE sa.id = %s
"""


@dataclass(frozen=True)
class _Context:
    smt_enabled: bool
    ercot_active: bool
    data_through: date | None
    last_success_at: datetime | None
    last_error: str
    consecutive_failures: int


def _context_from(row) -> _Context:
    if row is None:
        return _Context(False, False, None, None, "", 0)
    enabled, ercot, active, through, success, error, failures = row
    return _Context(
        bool(enabled), bool(ercot and active), through, success, error or "", failures or 0
    )


# The source rule's context and the period's aggregate in ONE statement (one plan, one
# round trip): a chart request costs about what the bare aggregate costs. The aggregate is
# cheap and indexed, so computing it for a premise that turns out to use bills is harmless.
_COMBINED = (
    "WITH ctx AS (%%CTX%%), pts AS (%%PTS%%)\nSELECT ctx.*, pts.* FROM ctx LEFT JOIN pts ON true"
)
COMBINED_SQL = {
    period: _COMBINED.replace("%%CTX%%", CONTEXT_SQL).replace("%%PTS%%", sql)
    for period, sql in SQL_BY_PERIOD.items()
}


def _context_and_points(
    *, service_account: ServiceAccount, period: str, start: date, end: date, unit: str
) -> tuple[_Context, list[UsagePoint]]:
    statuses = [str(s) for s in ACTIVE_STATUSES]
    if period == "hourly":
        # the unnest aggregate plans worse inside the combined statement: two statements
        rows = _fetchall(CONTEXT_SQL, [statuses, service_account.pk])
        ctx = _context_from(rows[0] if rows else None)
        points = interval_series(
            service_account_id=service_account.pk, period=period, start=start, end=end, unit=unit
        )
        return ctx, points
    rows = _fetchall(
        COMBINED_SQL[period], [statuses, service_account.pk, service_account.pk, start, end]
    )
    ctx = _context_from(rows[0][:7] if rows else None)
    # sorted here, not in SQL: an outer ORDER BY re-sorts the joined rows (slower for hourly)
    data = sorted((r[7:] for r in rows if r[7] is not None), key=lambda r: r[0])
    return ctx, _points(data, period=period, unit=unit)


def usage_for_chart(
    *,
    service_account: ServiceAccount,
    period: str,
    start: date,
    end: date,
    compare_previous: bool = False,
    unit: str = "kWh",
) -> UsageResult:
    """Chart data for a premise, from SMT intervals or billing-system bills (see the module
    docstring for the rule); ``reason`` says in one sentence which and why."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}")
    if end < start:
        start, end = end, start
    # Inside a caller's transaction a failed read would poison it: use a savepoint there.
    # In autocommit (a plain page view) a savepoint would only add two round trips.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            ctx, points = _context_and_points(
                service_account=service_account, period=period, start=start, end=end, unit=unit
            )
            previous = None
            if compare_previous and ctx.smt_enabled and ctx.ercot_active and points:
                p_start, p_end = previous_range(period=period, start=start, end=end)
                previous = interval_series(
                    service_account_id=service_account.pk,
                    period=period,
                    start=p_start,
                    end=p_end,
                    unit=unit,
                )
    except DatabaseError:
        logger.exception(
            "usage.interval_read_failed", extra={"service_account_id": service_account.pk}
        )
        return _billing(
            service_account,
            "Showing billing data: Smart Meter Texas data could not be read.",
            period,
            start,
            end,
            compare_previous,
            unit,
        )
    if not ctx.smt_enabled:
        return _billing(
            service_account,
            "Showing billing data: Smart Meter Texas usage is not enabled.",
            period,
            start,
            end,
            compare_previous,
            unit,
        )
    if not ctx.ercot_active:
        return _billing(
            service_account,
            "Showing billing data: Smart Meter Texas data is only used for active ERCOT premises.",
            period,
            start,
            end,
            compare_previous,
            unit,
        )
    if not points:
        if ctx.last_error and ctx.consecutive_failures:
            reason = "Showing billing data: Smart Meter Texas is unavailable."
        elif ctx.last_success_at is None:
            reason = "Showing billing data: Smart Meter Texas data has not arrived yet."
        else:
            reason = "Showing billing data: Smart Meter Texas has no usage data for this period."
        return _billing(service_account, reason, period, start, end, compare_previous, unit)
    data_through = ctx.data_through
    reason = "Showing Smart Meter Texas interval data"
    reason += f" through {data_through:%B %-d, %Y}." if data_through else "."
    return UsageResult(
        source="smt",
        reason=reason,
        data_through=data_through,
        points=points,
        previous=previous,
        has_generation=any(p.generation_kwh for p in points)
        or any(p.generation_kwh for p in previous or ()),
        period=period,
        unit=unit,
    )


def _billing(
    service_account: ServiceAccount,
    reason: str,
    period: str,
    start: date,
    end: date,
    compare_previous: bool,
    unit: str,
) -> UsageResult:
    """Billing-system source: one monthly point per bill period (whatever ``period`` was)."""
    bills = bills_for(service_account=service_account)
    points = bill_points(bills=bills, start=start, end=end, unit=unit)
    previous = None
    if compare_previous:
        p_start, p_end = previous_range(period=period, start=start, end=end)
        previous = bill_points(bills=bills, start=p_start, end=p_end, unit=unit)
    return UsageResult(
        source="billing",
        reason=reason,
        data_through=bills[0].period_end if bills else None,
        points=points,
        previous=previous,
        has_generation=False,
        period="monthly",
        unit=unit,
    )


def bills_for(*, service_account: ServiceAccount) -> list[Bill]:
    """The premise's bills, newest first."""
    return list(Bill.objects.filter(service_account=service_account).order_by("-period_start"))


def usage_available_range(*, service_account: ServiceAccount) -> tuple[date, date] | None:
    """First and last America/Chicago day with stored SMT intervals (None when none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(day), max(day) FROM usage_intervalday WHERE service_account_id = %s",
            [service_account.pk],
        )
        first, last = cursor.fetchone()
    if first is None:
        return None
    return first, last


def active_smt_service_account_ids() -> list[int]:
    """Premises SMT should be refreshed for: ERCOT, with an accepted or active enrollment."""
    return list(
        ServiceAccount.objects.filter(
            utility__market="ERCOT", enrollments__status__in=ACTIVE_STATUSES
        )
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def sync_state_for(*, service_account: ServiceAccount) -> UsageSyncState | None:
    return UsageSyncState.objects.filter(service_account=service_account).first()


def sync_states(*, search: str = "", limit: int = 200):
    """Ops usage-sync screen rows: failing first, then the stalest."""
    qs = UsageSyncState.objects.select_related("service_account", "service_account__customer")
    if search:
        qs = qs.filter(service_account__esiid__startswith=search.strip())
    return list(
        qs.order_by("-consecutive_failures", "last_success_at", "service_account_id")[:limit]
    )


__all__ = [
    "IntervalDay",
    "UsagePoint",
    "UsageResult",
    "usage_for_chart",
    "bills_for",
    "usage_available_range",
    "sync_state_for",
]
