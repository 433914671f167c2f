"""Plan prices on a person's own usage for the products table of Quick Enrollment and the
Signup Wizard (registered with ``enrollments.products_extras`` from ``AppConfig.ready``).

Where the months come from, first found wins:

1. an authorization this browser created or opened (its token is in the session), for the
   products' utility: approved SMT data, or an uploaded file / figures typed by hand;
2. staff only (Quick Enrollment): the newest such authorization for the ESIID;
3. staff, or the existing customer attached to the draft: that premise's last 12 bills
   (``usage.selectors.bills_for``).

A public shopper is never priced on data found by an ESIID alone: typing an ESIID proves
nothing about whose usage it is.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q

from authorizations.models import MonthlyUsage, UsageAuthorization
from authorizations.selectors import (
    ASSUMPTIONS,
    months_for,
    plan_costs_for_usage,
    priced_from_text,
    pricing_months,
)
from enrollments.dates import market_today
from enrollments.models import ServiceAccount
from enrollments.pricing import UsageMonth
from enrollments.products_extras import OwnUsagePrice, OwnUsagePricing, OwnUsageQuery
from usage.selectors import bills_for, pricing_usage_months

Status = UsageAuthorization.Status

# SMT data counts while the agreement is approved; a file or typed figures are the
# person's own statement and count whatever became of the agreement.
USABLE = Q(status=Status.APPROVED) | ~Q(data_source=MonthlyUsage.Source.SMT)


def _authorization(query: OwnUsageQuery) -> UsageAuthorization | None:
    qs = UsageAuthorization.objects.filter(utility=query.utility, data_at__isnull=False).filter(
        USABLE
    )
    if query.authorization_tokens:
        found = list(qs.filter(token__in=query.authorization_tokens).order_by("-data_at", "-pk"))
        if found:
            # the draft's own premise first, else the newest data
            same = [a for a in found if query.esiid and a.esiid == query.esiid]
            return (same or found)[0]
    if query.staff and query.esiid:
        return qs.filter(esiid=query.esiid).order_by("-data_at", "-pk").first()
    return None


def _ending(esiid: str) -> str:
    return f"ESIID ending {esiid[-4:]}"


def _kwh(value: Decimal) -> str:
    return f"{value:,.0f}"


def own_usage_for_products(query: OwnUsageQuery) -> OwnUsagePricing | None:
    """Each plan's estimated annual cost and average price on the person's months."""
    auth = _authorization(query)
    if auth is not None:
        # a shopper's authorization holds monthly totals only (see authorizations.models)
        held = pricing_months(months_for(auth))
        if not held:
            return None
        first, last = held[0].month, held[-1].month
        where = f"{MonthlyUsage.Source(held[0].source).label}, {_ending(auth.esiid)}"
        span = f"{first:%b %Y}–{last:%b %Y}"
        what = f"{len(held)} full month{'s' if len(held) != 1 else ''}"
        months = [UsageMonth(month=m.month, kwh=m.kwh) for m in held]
    else:
        months, where, span, what = _premise_months(query)
        if not months:
            return None
    costs = plan_costs_for_usage(
        months=months,
        utility=query.utility,
        customer_type=query.customer_type,
        channel=query.channel,
    )
    if not costs:
        return None
    scaled = "" if len(months) >= 12 else ", scaled to a year"
    source = (
        f"Your usage: {what} ({span}), {_kwh(costs[0].annual_kwh)} kWh a year{scaled}; "
        f"source: {where}."
    )
    return OwnUsagePricing(
        prices={
            c.plan.code: OwnUsagePrice(annual_cost=c.annual_cost, average_cents=c.average_cents)
            for c in costs
        },
        source=source,
        assumptions=ASSUMPTIONS,
        priced_from=priced_from_text(months),
    )


def _premise_months(query: OwnUsageQuery) -> tuple[list[UsageMonth], str, str, str]:
    """(months, where, span, what) for the premise of an ESIID staff typed or the attached
    customer's: the last 12 full calendar months, from 15-minute intervals where a month is
    complete, else from its bill; no such months: the newest 12 bills as they are."""
    premise = _premise(query)
    if premise is None:
        return [], "", "", ""
    end = market_today().replace(day=1) - timedelta(days=1)
    y, m = divmod(end.year * 12 + end.month - 1 - 11, 12)
    months = pricing_usage_months(
        service_account=premise, start=date(y, m + 1, 1), end=end, require_intervals=True
    )
    if months:
        n = len(months)
        span = f"{months[0].month:%b %Y}–{months[-1].month:%b %Y}"
        where = f"Smart Meter Texas intervals and billing history, {_ending(query.esiid)}"
        return months, where, span, f"{n} month{'s' if n != 1 else ''}"
    newest = [b for b in bills_for(service_account=premise) if b.kwh is not None][:12]
    bills = list(reversed(newest))
    if not bills:
        return [], "", "", ""
    where = f"billing history, {_ending(query.esiid)}"
    span = f"{bills[0].period_start:%b %-d, %Y}–{bills[-1].period_end:%b %-d, %Y}"
    what = f"the last {len(bills)} bill{'s' if len(bills) != 1 else ''}"
    return [UsageMonth(month=b.period_start, kwh=b.kwh) for b in bills], where, span, what


def _premise(query: OwnUsageQuery) -> ServiceAccount | None:
    if not query.esiid or not (query.staff or query.customer_id):
        return None
    premises = ServiceAccount.objects.filter(esiid=query.esiid, utility=query.utility)
    if not query.staff:
        if query.customer_id is None:  # excluded by the guard above; narrows the type
            return None
        premises = premises.filter(customer_id=query.customer_id)
    return premises.order_by("-pk").first()
