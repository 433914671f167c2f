"""Questions about usage: the chart data (with the SMT-or-billing source rule), bills, ranges.

The source rule (which data a usage chart shows):
SMT disabled -> billing system; SMT enabled and an ERCOT active premise -> SMT intervals;
SMT enabled but no data or the SMT side failed -> billing system. The page never fails
because SMT did: any database error reading intervals also falls back to bills.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from psycopg.types.datetime import TimestamptzLoader

from enrollments.models import Enrollment, ServiceAccount
from usage.models import CHICAGO, Bill, IntervalDay, UsageSyncState

logger = logging.getLogger(__name__)

PERIODS = ("hourly", "daily", "monthly")
UNITS = ("kWh", "MWh")
ZERO = Decimal("0")
THOUSAND = Decimal("1000")
# Enrollment statuses in which we serve (or served) the premise: its stored SMT data is the
# customer's, also after a final drop (they keep read access to their history).
ACTIVE_STATUSES = (
    Enrollment.Status.ACTIVE,
    Enrollment.Status.DROPPED,
    Enrollment.Status.MOVED_OUT,
)
# ... and the ones still refreshed daily: only while we serve it.
REFRESH_STATUSES = (Enrollment.Status.ACTIVE,)


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
# Hourly: unnest the day arrays; interval i starts at day_start + (i-1) * 15 min, so it lies
# in the hour that starts (i-1)/4 whole hours after the day's local midnight. America/Chicago
# is a whole number of hours from UTC in both seasons, so that elapsed hour is its local hour
# (the fall-back day has two 01:00 hours, the spring-forward day none at 02:00): the same
# buckets as date_trunc('hour', ..., 'America/Chicago') without a time zone lookup per
# interval (a year is 35,040 of them). Each day row is summed into its hours first (a small
# aggregate per row), so the outer GROUP BY sorts 8,760 hour rows for a year instead of
# 35,040 interval rows (that sort spilled to disk at the default work_mem: 3x slower,
# bench/myaccount_usage.py).
HOURLY_SQL = """
SELECT d.day_start + h.hr * interval '1 hour' AS bucket,
       coalesce(sum(h.kwh) FILTER (WHERE d.channel = 'C'), 0),
       coalesce(sum(h.kwh) FILTER (WHERE d.channel = 'G'), 0),
       bool_or(h.estimated)
FROM usage_intervalday d CROSS JOIN LATERAL (
    SELECT (u.i - 1) / 4 AS hr, sum(u.v) AS kwh,
           bool_or(substr(d.flags, u.i::int, 1) = 'E') AS estimated
    FROM unnest(d.kwh) WITH ORDINALITY AS u(v, i)
    WHERE u.v IS NOT NULL
    GROUP BY 1
) h
WHERE d.service_account_id = %s AND d.day BETWEEN %s AND %s
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


def _fetchall(sql: str, params: list | dict) -> list[tuple]:
    """Run a chart query as a server-side prepared statement on Django's connection.

    Chart requests run the same few statements over and over, and planning the combined
    context + aggregate statement costs more than executing it, so the plan is kept per
    connection. Django opens psycopg connections with ``prepare_threshold=None``, which
    disables preparing altogether (``prepare=True`` alone is silently ignored), so the
    threshold is lifted for this one execute only: other queries on the connection keep
    Django's behaviour (never auto-prepared). Errors come out as Django's ``DatabaseError``
    like any other query. With a transaction-pooling PgBouncer in front, set
    ``USAGE_PREPARED_STATEMENTS = False``.
    """
    if not getattr(settings, "USAGE_PREPARED_STATEMENTS", True):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    connection.ensure_connection()
    conn = connection.connection
    threshold = conn.prepare_threshold
    if threshold is None:
        conn.prepare_threshold = _NEVER_AUTO_PREPARE
    try:
        with connection.wrap_database_errors, psycopg.Cursor(conn) as cursor:
            # psycopg's own (C) timestamptz loader instead of Django's Python subclass: the
            # session is UTC either way, and _points makes every bucket America/Chicago
            cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchall()
    finally:
        conn.prepare_threshold = threshold


# While the threshold is lifted, no other statement reaches a count this high.
_NEVER_AUTO_PREPARE = 2**31


@lru_cache(maxsize=8192)  # the same days recur across requests; aware datetimes are immutable
def _local_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=CHICAGO)


_new = object.__new__


def _point(start: datetime, cons: Decimal, gen: Decimal, estimated: bool) -> UsagePoint:
    """A ``UsagePoint`` without the frozen dataclass ``__init__`` (one ``object.__setattr__``
    per field, about half the cost of a point on a year of days); equal to the regular one."""
    point = _new(UsagePoint)
    point.__dict__.update(
        start=start, consumption_kwh=cons, generation_kwh=gen, estimated=estimated
    )
    return point


def _points(rows, *, period: str, unit: str) -> list[UsagePoint]:
    """Points from ``(bucket, consumption, generation, estimated)`` rows: hourly buckets are
    aware datetimes (made America/Chicago), daily and monthly ones dates (local midnight)."""
    hourly = period == "hourly"
    local, new, cls = _local_midnight, _new, UsagePoint
    points: list[UsagePoint] = []
    append = points.append
    for bucket, cons, gen, est in rows:  # _point inlined: this loop runs once per bucket
        point = new(cls)
        fields = point.__dict__
        fields["start"] = bucket.astimezone(CHICAGO) if hourly else local(bucket)
        fields["consumption_kwh"] = cons
        fields["generation_kwh"] = gen
        fields["estimated"] = bool(est)
        append(point)
    if unit == "MWh":
        return [
            _point(p.start, p.consumption_kwh / THOUSAND, p.generation_kwh / THOUSAND, p.estimated)
            for p in points
        ]
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
# Every lookup is keyed by the premise id parameter, so each is a one-time index probe: a
# correlated EXISTS here was planned as a hashed subplan over every active enrollment once
# the statement grew the aggregate CTE. The sync state comes back as the two booleans the
# rule needs (no per-row timestamptz to parse when the context rides on every point row).
CONTEXT_SQL = """
SELECT coalesce((SELECT smt_enabled FROM opsadmin_thirdpartyprovider WHERE id = 1), false),
       u.market = 'ERCOT' AND EXISTS (
           SELECT 1 FROM enrollments_enrollment e
           WHERE e.service_account_id = %(sa)s AND e.status = ANY(%(statuses)s)),
       s.data_through,
       s.last_success_at IS NULL,
       coalesce(s.last_error, '') <> '' AND coalesce(s.consecutive_failures, 0) > 0
FROM enrollments_serviceaccount sa
JOIN opsadmin_utility u ON u.id = sa.utility_id
LEFT JOIN usage_usagesyncstate s ON s.service_account_id = %(sa)s
WHERE sa.id = %(sa)s
"""
_CONTEXT_COLUMNS = 5


@dataclass(frozen=True)
class _Context:
    smt_enabled: bool
    ercot_active: bool
    data_through: date | None
    never_succeeded: bool
    failing: bool


_NO_CONTEXT = _Context(False, False, None, True, False)


def _context_from(row) -> _Context:
    if row is None:
        return _NO_CONTEXT
    enabled, ercot_active, through, never_succeeded, failing = row
    return _Context(
        bool(enabled), bool(ercot_active), through, bool(never_succeeded), bool(failing)
    )


# The source rule's context and the period's aggregate in ONE statement (one plan, one
# round trip): a chart request costs about what the bare aggregate costs. The aggregate is
# cheap and indexed, so computing it for a premise that turns out to use bills is harmless.
_COMBINED = (
    "WITH ctx AS (%%CTX%%), pts AS (%%PTS%%)\nSELECT ctx.*, pts.* FROM ctx LEFT JOIN pts ON true"
)
_POSITIONAL = "d.service_account_id = %s AND d.day BETWEEN %s AND %s"
_NAMED = "d.service_account_id = %(sa)s AND d.day BETWEEN %(start)s AND %(end)s"
if not all(_POSITIONAL in sql for sql in SQL_BY_PERIOD.values()):  # pragma: no cover
    raise RuntimeError("every chart aggregate must filter on premise and day range")
COMBINED_SQL = {
    period: _COMBINED.replace("%%CTX%%", CONTEXT_SQL).replace(
        "%%PTS%%", sql.replace(_POSITIONAL, _NAMED)
    )
    for period, sql in SQL_BY_PERIOD.items()
}
_STATUSES = [str(s) for s in ACTIVE_STATUSES]


def _context_and_points(
    *, service_account: ServiceAccount, period: str, start: date, end: date, unit: str
) -> tuple[_Context, list[UsagePoint]]:
    if period == "hourly":
        # the unnest aggregate plans worse inside the combined statement: two statements
        rows = _fetchall(CONTEXT_SQL, {"sa": service_account.pk, "statuses": _STATUSES})
        ctx = _context_from(rows[0] if rows else None)
        points = interval_series(
            service_account_id=service_account.pk, period=period, start=start, end=end, unit=unit
        )
        return ctx, points
    params = {"sa": service_account.pk, "statuses": _STATUSES, "start": start, "end": end}
    rows = _fetchall(COMBINED_SQL[period], params)
    if not rows:
        return _context_from(None), []
    n = _CONTEXT_COLUMNS
    ctx = _context_from(rows[0][:n])
    if rows[0][n] is None:  # the LEFT JOIN's one empty row: no points in the period
        return ctx, []
    # sorted here, not in SQL (an outer ORDER BY re-sorts the joined rows); the rows
    # arrive in order, so this is one linear pass
    rows.sort(key=itemgetter(n))
    return ctx, _points(map(itemgetter(n, n + 1, n + 2, n + 3), rows), period=period, unit=unit)


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
        if ctx.failing:
            reason = "Showing billing data: Smart Meter Texas is unavailable."
        elif ctx.never_succeeded:
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


# What a cached chart of SMT data depends on, in one round trip: the source rule's context
# and a fingerprint of the stored rows of the range (newest ingest time, how many, their
# totals: a new or revised day moves the first, a deleted one the second). Reads the per-row
# totals only (an index range on the premise), never the interval arrays.
CHART_STAMP_SQL = """
SELECT ctx.*, st.*
FROM (%%CTX%%) ctx,
     (SELECT max(d.ingested_at), count(*), sum(d.total_kwh), sum(d.estimated_count)
      FROM usage_intervalday d
      WHERE d.service_account_id = %(sa)s AND d.day BETWEEN %(start)s AND %(end)s) st
""".replace("%%CTX%%", CONTEXT_SQL)  # constant text only, as COMBINED_SQL


def usage_chart_stamp(*, service_account: ServiceAccount, start: date, end: date) -> str | None:
    """A fingerprint of everything :func:`usage_for_chart` would answer from SMT data for
    ``start..end`` (include the Compare Previous range in it when that is asked for): the
    source rule's inputs and the stored rows of the range. ``None`` when the chart would not
    come from SMT data (billing source, no rows, or the read failed): do not cache then.
    Two calls give the same stamp only if the rows and the rule's inputs are the same."""
    if end < start:
        start, end = end, start
    params = {"sa": service_account.pk, "statuses": _STATUSES, "start": start, "end": end}
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            rows = _fetchall(CHART_STAMP_SQL, params)
    except DatabaseError:
        return None
    if not rows:
        return None
    row = rows[0]
    ctx = _context_from(row[:_CONTEXT_COLUMNS])
    newest, count, total, estimated = row[_CONTEXT_COLUMNS:]
    if not (ctx.smt_enabled and ctx.ercot_active and count):
        return None
    return (
        f"{service_account.pk}|{ctx.data_through}|{int(ctx.never_succeeded)}{int(ctx.failing)}"
        f"|{newest.isoformat()}|{count}|{total}|{estimated}"
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
    """Premises SMT should be refreshed for: ERCOT, with an active enrollment (service started,
    not yet ended)."""
    return list(
        ServiceAccount.objects.filter(
            utility__market="ERCOT", enrollments__status__in=REFRESH_STATUSES
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
    "usage_chart_stamp",
    "bills_for",
    "usage_available_range",
    "sync_state_for",
]


# --- own-interval pricing: kWh by hour-of-week cell (America/Chicago) ----------------------
# One row per (month, ISO day of week, local hour, holiday) with the consumption of the
# intervals in it. Interval i (1-based) starts at day_start + (i-1) * 15 min; its local hour
# comes from that instant in America/Chicago, so the fall-back day's repeated 01:00 hour
# holds 8 intervals and the spring-forward day has no 02:00 hour. The day of week and the
# holiday are those of the row's own local day. Every time-of-use period of every plan is a
# union of these cells, so one pass prices any number of plans.
TOU_CELLS_SQL = """
SELECT date_trunc('month', d.day)::date AS month,
       extract(isodow FROM d.day)::int AS dow,
       extract(hour FROM (d.day_start + (u.i - 1) * interval '15 minutes')
                         AT TIME ZONE 'America/Chicago')::int AS hour,
       d.day = ANY(%(holidays)s::date[]) AS holiday,
       sum(u.v) AS kwh
FROM usage_intervalday d CROSS JOIN LATERAL unnest(d.kwh) WITH ORDINALITY AS u(v, i)
WHERE d.service_account_id = %(sa)s AND d.channel = 'C'
  AND d.day BETWEEN %(start)s AND %(end)s AND u.v IS NOT NULL
GROUP BY 1, 2, 3, 4
"""
# Which months are complete: a row for every local day, no interval missing.
MONTH_COVERAGE_SQL = """
SELECT date_trunc('month', d.day)::date, count(*), coalesce(sum(d.missing_count), 0)
FROM usage_intervalday d
WHERE d.service_account_id = %(sa)s AND d.channel = 'C' AND d.day BETWEEN %(start)s AND %(end)s
GROUP BY 1
"""


def _fetchall_planned(sql: str, params: dict) -> list[tuple]:
    """Run an unnest aggregate planned for its own parameters (not as a prepared statement):
    after five executions Postgres may switch a prepared statement to a generic plan, which
    measured twice as slow for these (bench/tou_pricing.py), and planning costs little next
    to unnesting a year of intervals."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def tou_cells(
    *, service_account_id: int, start: date, end: date
) -> dict[date, dict[tuple[int, int, bool], Decimal]]:
    """Consumption of ``start..end`` (local days, inclusive) by month and hour-of-week cell
    ``(ISO day, local hour, holiday)``; holidays are :func:`enrollments.pricing.tou_holidays`."""
    from enrollments.pricing import tou_holidays

    holidays = tou_holidays(range(start.year, end.year + 1))
    rows = _fetchall_planned(
        TOU_CELLS_SQL, {"sa": service_account_id, "start": start, "end": end, "holidays": holidays}
    )
    out: dict[date, dict[tuple[int, int, bool], Decimal]] = {}
    for month, dow, hour, holiday, kwh in rows:
        out.setdefault(month, {})[(dow, hour, holiday)] = kwh
    return out


def _days_in_month(month: date) -> int:
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return (nxt - month).days


def pricing_usage_months(
    *,
    service_account: ServiceAccount,
    start: date,
    end: date,
    use_intervals: bool = True,
    require_intervals: bool = False,
) -> list:
    """The premise's calendar months from ``start``'s month to ``end``'s month for pricing,
    oldest first (``enrollments.pricing.UsageMonth``): from 15-minute intervals where the
    month is complete (every local day stored, no interval missing), else from the bill that
    starts in that month (its total only); a month with neither is left out.
    ``require_intervals``: answer [] (without reading bills) when no month is complete."""
    from enrollments.pricing import UsageMonth

    first = start.replace(day=1)
    last = end.replace(day=1)
    complete: set[date] = set()
    cells: dict[date, dict] = {}
    if use_intervals:
        month_end = last + timedelta(days=_days_in_month(last) - 1)
        params = {"sa": service_account.pk, "start": first, "end": month_end}
        for month, days, missing in _fetchall(MONTH_COVERAGE_SQL, params):
            if days == _days_in_month(month) and not missing:
                complete.add(month)
        if not complete and require_intervals:
            return []
        if complete:
            cells = tou_cells(
                service_account_id=service_account.pk, start=min(complete), end=month_end
            )
    bills = {
        b.period_start.replace(day=1): b
        for b in Bill.objects.filter(
            service_account=service_account, period_start__gte=first, period_start__lte=end
        ).order_by("period_start")
    }
    months = []
    month = first
    while month <= last:
        if month in complete and month in cells:
            by_cell = cells[month]
            months.append(UsageMonth(month=month, kwh=sum(by_cell.values(), ZERO), cells=by_cell))
        elif month in bills:
            months.append(UsageMonth(month=month, kwh=bills[month].kwh))
        month += timedelta(days=_days_in_month(month))
    return months


def smt_source_applies(*, service_account: ServiceAccount) -> bool:
    """The chart source rule's first two questions: SMT enabled, an active ERCOT premise."""
    rows = _fetchall(CONTEXT_SQL, {"sa": service_account.pk, "statuses": _STATUSES})
    ctx = _context_from(rows[0] if rows else None)
    return ctx.smt_enabled and ctx.ercot_active


def daily_kwh(*, service_account_id: int, start: date, end: date) -> dict[date, Decimal]:
    """Consumption per local day of ``start..end`` (days with a stored row only)."""
    return dict(
        IntervalDay.objects.filter(
            service_account_id=service_account_id, channel="C", day__gte=start, day__lte=end
        ).values_list("day", "total_kwh")
    )


# The cycle so far and the recent window in one pass: each cell summed twice, once for the
# days from the cycle start and once for the days of the window (they overlap).
CYCLE_CELLS_SQL = """
SELECT d.day >= %(cycle_start)s AS in_cycle,
       d.day >= %(window_start)s AS in_window,
       extract(isodow FROM d.day)::int AS dow,
       extract(hour FROM (d.day_start + (u.i - 1) * interval '15 minutes')
                         AT TIME ZONE 'America/Chicago')::int AS hour,
       d.day = ANY(%(holidays)s::date[]) AS holiday,
       sum(u.v) AS kwh
FROM usage_intervalday d CROSS JOIN LATERAL unnest(d.kwh) WITH ORDINALITY AS u(v, i)
WHERE d.service_account_id = %(sa)s AND d.channel = 'C'
  AND d.day BETWEEN least(%(cycle_start)s, %(window_start)s) AND %(through)s
  AND u.v IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
"""


def cycle_and_window_cells(
    *, service_account_id: int, cycle_start: date, window_start: date, through: date
) -> tuple[dict[tuple[int, int, bool], Decimal], dict[tuple[int, int, bool], Decimal]]:
    """Consumption by hour-of-week cell for ``cycle_start..through`` and for
    ``window_start..through`` (one statement)."""
    from enrollments.pricing import tou_holidays

    first = min(cycle_start, window_start)
    params = {
        "sa": service_account_id,
        "cycle_start": cycle_start,
        "window_start": window_start,
        "through": through,
        "holidays": tou_holidays(range(first.year, through.year + 1)),
    }
    cycle: dict[tuple[int, int, bool], Decimal] = {}
    window: dict[tuple[int, int, bool], Decimal] = {}
    for in_cycle, in_window, dow, hour, holiday, kwh in _fetchall_planned(CYCLE_CELLS_SQL, params):
        cell = (dow, hour, holiday)
        if in_cycle:
            cycle[cell] = cycle.get(cell, ZERO) + kwh
        if in_window:
            window[cell] = window.get(cell, ZERO) + kwh
    return cycle, window


def daily_kwh_in(
    *, service_account_id: int, ranges: Sequence[tuple[date, date]]
) -> dict[date, Decimal]:
    """Consumption per local day within any of ``ranges`` (inclusive), one query."""
    cond = Q()
    for start, end in ranges:
        cond |= Q(day__gte=start, day__lte=end)
    return dict(
        IntervalDay.objects.filter(
            cond, service_account_id=service_account_id, channel="C"
        ).values_list("day", "total_kwh")
    )
