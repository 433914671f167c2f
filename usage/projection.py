"""Bill to date and projected bill for an SMT customer's open billing cycle (a selector
module: reads only), priced on the customer's own plan from their 15-minute intervals.

- The cycle comes from the billing system (ESG ``/accounts/{ban}/cycle``); when ESG cannot
  answer, the day after the last bill for as long as that bill ran, else the calendar month.
- Bill to date: the cycle's stored intervals through the last day with data, priced exactly
  (time-of-use periods in America/Chicago), with the cycle's base fee and TDU monthly charge.
- Projection: the rest of the cycle at the average day of the last 14 days with data, scaled
  by how the same dates last year compared with the 14 days before them (52 weeks back, so
  the days of the week line up); the rest of the cycle's hours follow the last 14 days'
  shape, so a time-of-use plan is priced on the customer's own pattern.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.utils import dateformat, formats
from django.utils.translation import gettext, ngettext

from billing.selectors import esg_billing_cycle
from enrollments.models import Enrollment, Plan, ServiceAccount, TduCharge
from enrollments.pricing import (
    UsageMonth,
    months_cost_cents,
    price_structure,
    price_structures,
    usage_month_cost_cents,
)
from opsadmin.errors import ApplicationError, IntegrationError
from opsadmin.models import ThirdPartyProvider
from usage import selectors
from usage.models import Bill

logger = logging.getLogger(__name__)

RECENT_DAYS = 14  # two whole weeks: each day of the week counts twice
LAST_YEAR_DAYS = 364  # 52 weeks: the same days of the week one year back
MIN_LAST_YEAR_DAYS = 7  # fewer days of last year's data than this: no seasonal factor
CYCLE_CACHE_SECONDS = 3600
CENT = Decimal("0.01")
ZERO = Decimal("0")
LIVE_STATUSES = (Enrollment.Status.ACTIVE, Enrollment.Status.ACCEPTED)


@dataclass(frozen=True)
class Cycle:
    start: date
    end: date  # inclusive
    source: str  # "billing system" | "last bill" | "calendar month"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class BillProjection:
    plan: Plan
    cycle: Cycle
    data_through: date
    days_elapsed: int  # cycle start .. data_through
    kwh_to_date: Decimal
    bill_to_date: Decimal  # dollars
    projected_kwh: Decimal
    projected_bill: Decimal  # dollars, the whole cycle
    recent_daily_kwh: Decimal
    last_year_factor: Decimal | None  # None: no usable data for the same dates last year
    assumptions: tuple[str, ...]


def live_enrollment(*, service_account: ServiceAccount) -> Enrollment | None:
    """The premise's enrollment on which it is billed now (active or accepted, newest)."""
    return (
        Enrollment.objects.select_related("plan")
        .filter(service_account=service_account, status__in=LIVE_STATUSES)
        .order_by("-created_at", "-pk")
        .first()
    )


def billing_cycle(*, service_account: ServiceAccount, enrollment: Enrollment, today: date) -> Cycle:
    """The open billing cycle (see the module docstring for the fallbacks)."""
    ban = enrollment.billing_account_number
    esg_url = ThirdPartyProvider.load().esg_api_url
    if ban and esg_url:
        # keyed by the ESG it came from too: pointing at another ESG must not reuse it
        key = "usage:cycle:" + hashlib.sha256(f"{esg_url}|{ban}".encode()).hexdigest()[:32]
        cached = cache.get(key)
        if cached and date.fromisoformat(cached[0]) <= today <= date.fromisoformat(cached[1]):
            return Cycle(date.fromisoformat(cached[0]), date.fromisoformat(cached[1]), cached[2])
        try:
            answer = esg_billing_cycle(billing_account_number=ban)
        except (IntegrationError, ApplicationError) as exc:
            logger.warning(
                "usage.billing_cycle.unavailable",
                extra={"service_account_id": service_account.pk, "error": type(exc).__name__},
            )
        else:
            cycle = Cycle(answer.start, answer.end, "billing system")
            if not cycle.start <= today <= cycle.end:
                logger.warning(
                    "usage.billing_cycle.not_open",
                    extra={"service_account_id": service_account.pk, "start": str(cycle.start)},
                )
                return _fallback_cycle(service_account=service_account, today=today)
            cache.set(
                key,
                (cycle.start.isoformat(), cycle.end.isoformat(), cycle.source),
                CYCLE_CACHE_SECONDS,
            )
            return cycle
    return _fallback_cycle(service_account=service_account, today=today)


def _fallback_cycle(*, service_account: ServiceAccount, today: date) -> Cycle:
    last = Bill.objects.filter(service_account=service_account).order_by("-period_end").first()
    if last is not None:
        start = last.period_end + timedelta(days=1)
        end = start + (last.period_end - last.period_start)
        if start <= today <= end:
            return Cycle(start, end, "last bill")
    start = today.replace(day=1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return Cycle(start, following - timedelta(days=1), "calendar month")


def _dollars(cents: Decimal) -> Decimal:
    return (cents / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def bill_projection(
    *,
    service_account: ServiceAccount,
    today: date,
    cycle: Cycle | None = None,
    enrollment: Enrollment | None = None,
    smt_source: bool | None = None,
) -> BillProjection | None:
    """Bill to date and projection for the premise's open cycle; None when the premise is not
    an SMT premise on a live enrollment or no interval of the cycle is stored yet.

    ``enrollment`` / ``smt_source``: what a caller already knows (the dashboard has the
    premise's enrollment and the chart's source), to save the queries that find them."""
    if enrollment is None or enrollment.status not in LIVE_STATUSES:
        enrollment = live_enrollment(service_account=service_account)
    if enrollment is None:
        return None
    if smt_source is None:
        smt_source = selectors.smt_source_applies(service_account=service_account)
    if not smt_source:
        return None
    if cycle is None:
        cycle = billing_cycle(service_account=service_account, enrollment=enrollment, today=today)
    sa_id = service_account.pk
    shift = timedelta(days=LAST_YEAR_DAYS)
    upto = min(cycle.end, today)
    recent_from = min(cycle.start, upto) - timedelta(days=RECENT_DAYS)
    days = selectors.daily_kwh_in(
        service_account_id=sa_id,
        ranges=[(recent_from, upto), (recent_from - shift, cycle.end - shift)],
    )
    in_cycle = [d for d in days if cycle.start <= d <= upto]
    if not in_cycle:
        return None
    through = max(in_cycle)
    window_start = through - timedelta(days=RECENT_DAYS - 1)
    so_far, recent_cells = selectors.cycle_and_window_cells(
        service_account_id=sa_id,
        cycle_start=cycle.start,
        window_start=window_start,
        through=through,
    )
    kwh_to_date = sum(so_far.values(), ZERO)

    recent_days = [d for d in days if window_start <= d <= through]
    recent_kwh = sum((days[d] for d in recent_days), ZERO)
    recent_daily = recent_kwh / len(recent_days)
    remaining_days = (cycle.end - through).days

    factor = _last_year_factor(days=days, window_start=window_start, through=through, end=cycle.end)
    projected_rest = recent_daily * remaining_days * (factor if factor is not None else 1)
    projected = dict(so_far)
    if remaining_days and recent_kwh:
        scale = projected_rest / recent_kwh
        for cell, kwh in recent_cells.items():
            projected[cell] = projected.get(cell, ZERO) + kwh * scale
    projected_kwh = kwh_to_date + (projected_rest if recent_kwh else ZERO)

    tdu = TduCharge.objects.filter(utility_id=service_account.utility_id).first()
    s = price_structure(enrollment.plan, tdu)
    to_date = usage_month_cost_cents(s, UsageMonth(cycle.start, kwh_to_date, so_far))
    whole = usage_month_cost_cents(s, UsageMonth(cycle.start, projected_kwh, projected))
    return BillProjection(
        plan=enrollment.plan,
        cycle=cycle,
        data_through=through,
        days_elapsed=(through - cycle.start).days + 1,
        kwh_to_date=kwh_to_date,
        bill_to_date=_dollars(to_date),
        projected_kwh=projected_kwh.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        projected_bill=_dollars(whole),
        recent_daily_kwh=recent_daily.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        last_year_factor=factor.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if factor is not None
        else None,
        assumptions=_assumptions(cycle, recent_daily, factor, remaining_days),
    )


def _last_year_factor(
    *, days: Mapping[date, Decimal], window_start: date, through: date, end: date
) -> Decimal | None:
    """How much more (or less) a day of the rest of the cycle used than a day of the recent
    window, the same dates 52 weeks back; None without enough of last year's data."""
    if end <= through:
        return None
    shift = timedelta(days=LAST_YEAR_DAYS)
    before = [v for d, v in days.items() if window_start - shift <= d <= through - shift]
    after = [v for d, v in days.items() if through - shift < d <= end - shift]
    if len(before) < MIN_LAST_YEAR_DAYS or not after:
        return None
    before_daily = sum(before, ZERO) / len(before)
    if before_daily <= 0:
        return None
    return (sum(after, ZERO) / len(after)) / before_daily


def _assumptions(
    cycle: Cycle, recent_daily: Decimal, factor: Decimal | None, remaining_days: int
) -> tuple[str, ...]:
    """The projection's assumptions, in the active language (a view's or an email's)."""
    where = {
        "billing system": gettext("from our billing system"),
        "last bill": gettext("estimated from your last bill's dates (billing system unavailable)"),
        "calendar month": gettext("taken as the calendar month (no cycle dates available)"),
    }[cycle.source]
    lines = [
        gettext("Billing cycle %(start)s – %(end)s, %(where)s.")
        % {
            "start": dateformat.format(cycle.start, gettext("M j")),
            "end": dateformat.format(cycle.end, gettext("M j, Y")),
            "where": where,
        },
        gettext(
            "Bill to date prices your Smart Meter Texas 15-minute usage on your plan, including "
            "the cycle's base fee and TDU delivery charges; it excludes taxes."
        ),
    ]
    if remaining_days:
        values = {
            "remaining": remaining_days,
            "recent": RECENT_DAYS,
            "daily": formats.number_format(recent_daily, 1),
            "factor": formats.number_format(factor, 2) if factor is not None else "",
        }
        if factor is not None:
            lines.append(
                ngettext(
                    "The remaining %(remaining)s day uses your average of the last %(recent)s "
                    "days (%(daily)s kWh a day) times %(factor)s: how the same days last year "
                    "compared with the two weeks before them.",
                    "The remaining %(remaining)s days use your average of the last %(recent)s "
                    "days (%(daily)s kWh a day) times %(factor)s: how the same days last year "
                    "compared with the two weeks before them.",
                    remaining_days,
                )
                % values
            )
        else:
            lines.append(
                ngettext(
                    "The remaining %(remaining)s day uses your average of the last %(recent)s "
                    "days (%(daily)s kWh a day); there is not enough usage from the same period "
                    "last year to adjust for the season.",
                    "The remaining %(remaining)s days use your average of the last %(recent)s "
                    "days (%(daily)s kWh a day); there is not enough usage from the same period "
                    "last year to adjust for the season.",
                    remaining_days,
                )
                % values
            )
        lines.append(
            gettext(
                "Time of day and day of week follow your last two weeks; bill credits count if "
                "the projected usage reaches them."
            )
        )
    return tuple(lines)


@dataclass(frozen=True)
class PricedMonth:
    month: date
    kwh: Decimal
    from_intervals: bool
    cost: Decimal | None  # dollars on the current plan; None without a plan


def premise_months_on_plan(
    *, service_account: ServiceAccount, plan: Plan | None, today: date
) -> list[PricedMonth]:
    """The last 12 full calendar months (intervals where complete, else the bill), newest
    first, each priced on ``plan`` (the staff page's "why is my bill high?" table)."""
    end = today.replace(day=1) - timedelta(days=1)
    y, m = divmod(end.year * 12 + end.month - 1 - 11, 12)
    months = selectors.pricing_usage_months(
        service_account=service_account, start=date(y, m + 1, 1), end=end
    )
    costs: list[Decimal | None] = [None] * len(months)
    if plan is not None and months:
        tdu = TduCharge.objects.filter(utility_id=service_account.utility_id).first()
        [cents] = months_cost_cents(price_structures([plan], tdu), months)
        costs = [_dollars(c) for c in cents]
    return [
        PricedMonth(m.month, m.kwh, m.from_intervals, cost)
        for m, cost in reversed(list(zip(months, costs, strict=True)))
    ]
