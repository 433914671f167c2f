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

from decimal import Decimal

from django.db.models import Q

from authorizations.models import MonthlyUsage, UsageAuthorization
from authorizations.selectors import (
    ASSUMPTIONS,
    months_for,
    plan_costs_for_usage,
    pricing_months,
)
from enrollments.models import ServiceAccount
from enrollments.products_extras import OwnUsagePrice, OwnUsagePricing, OwnUsageQuery
from usage.selectors import bills_for

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
        months = pricing_months(months_for(auth))
        if not months:
            return None
        kwh = [m.kwh for m in months]
        first, last = months[0].month, months[-1].month
        where = f"{MonthlyUsage.Source(months[0].source).label}, {_ending(auth.esiid)}"
        span = f"{first:%b %Y}–{last:%b %Y}"
        what = f"{len(months)} full month{'s' if len(months) != 1 else ''}"
    else:
        bills = _premise_bills(query)
        if not bills:
            return None
        kwh = [b.kwh for b in bills]
        where = f"billing history, {_ending(query.esiid)}"
        span = f"{bills[0].period_start:%b %-d, %Y}–{bills[-1].period_end:%b %-d, %Y}"
        what = f"the last {len(bills)} bill{'s' if len(bills) != 1 else ''}"
    costs = plan_costs_for_usage(
        monthly_kwh=kwh,
        utility=query.utility,
        customer_type=query.customer_type,
        channel=query.channel,
    )
    if not costs:
        return None
    scaled = "" if len(kwh) >= 12 else ", scaled to a year"
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
    )


def _premise_bills(query: OwnUsageQuery) -> list:
    if not query.esiid or not (query.staff or query.customer_id):
        return []
    premises = ServiceAccount.objects.filter(esiid=query.esiid, utility=query.utility)
    if not query.staff:
        if query.customer_id is None:  # excluded by the guard above; narrows the type
            return []
        premises = premises.filter(customer_id=query.customer_id)
    premise = premises.order_by("-pk").first()
    if premise is None:
        return []
    newest = [b for b in bills_for(service_account=premise) if b.kwh is not None][:12]
    return list(reversed(newest))
