"""Renewal offers in My Account: the plans a customer can renew onto, priced on their own
last 12 months (authorizations' ``plan_costs_for_usage``), shown near the contract's end."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import dateformat
from django.utils.translation import gettext, ngettext

from authorizations.selectors import ASSUMPTIONS, PlanCost, plan_costs_for_usage
from enrollments.models import Customer, Enrollment, ServiceAccount
from myaccount import sources

RENEWAL_WINDOW_DAYS = 60  # offers show in the 60 days before the contract ends


@dataclass(frozen=True)
class RenewalOffers:
    costs: list[PlanCost]  # cheapest on the customer's usage first
    renewal_plan_id: int | None  # the contract's default renewal plan
    source: str  # one line: which months, how many kWh, from where
    assumptions: tuple[StrOrPromise, ...]


def renewal_days_left(*, enrollment: Enrollment | None, today: date) -> int | None:
    """Days until the contract ends while it is in its renewal window, else None (the one
    copy of the rule: the dashboard's notice and the renewal offers page ask it)."""
    if enrollment is None or enrollment.contract_end_date is None:
        return None
    days = (enrollment.contract_end_date - today).days
    return days if 0 <= days <= RENEWAL_WINDOW_DAYS else None


def renewal_window_open(*, enrollment: Enrollment | None, today: date) -> bool:
    return renewal_days_left(enrollment=enrollment, today=today) is not None


def _months_back(today: date) -> tuple[date, date]:
    """The last 12 full calendar months before ``today``'s month."""
    end = today.replace(day=1) - timedelta(days=1)
    y, m = divmod(end.year * 12 + end.month - 1 - 11, 12)
    return date(y, m + 1, 1), end


def own_months(*, service_account: ServiceAccount, today: date) -> tuple[list, str]:
    """(monthly kWh, oldest first; a one-line statement of where they come from) for the
    premise: SMT months when the chart reads SMT, else the newest 12 bills."""
    start, end = _months_back(today)
    result = sources.usage_for_chart(
        service_account=service_account, period="monthly", start=start, end=end
    )
    if result.source == "smt":
        points = [p for p in result.points if p.consumption_kwh is not None]
        if not points:
            return [], ""
        first, last = points[0].start, points[-1].start
        n = len(points)
        month_year = gettext("M Y")
        return [p.consumption_kwh for p in points], ngettext(
            "%(n)s month from Smart Meter Texas (%(first)s–%(last)s)",
            "%(n)s months from Smart Meter Texas (%(first)s–%(last)s)",
            n,
        ) % {
            "n": n,
            "first": dateformat.format(first, month_year),
            "last": dateformat.format(last, month_year),
        }
    bills = list(reversed(sources.bills_for(service_account=service_account)[:12]))
    if not bills:
        return [], ""
    n = len(bills)
    short = gettext("M j, Y")
    span = (
        f"{dateformat.format(bills[0].period_start, short)}–"
        f"{dateformat.format(bills[-1].period_end, short)}"
    )
    return [b.kwh for b in bills], ngettext(
        "your last %(n)s bill (%(span)s)", "your last %(n)s bills (%(span)s)", n
    ) % {"n": n, "span": span}


def renewal_offers(
    *, customer: Customer, service_account: ServiceAccount, enrollment: Enrollment, today: date
) -> RenewalOffers | None:
    """The renewal plan and the web plans for the premise's utility and the customer's type,
    priced on the premise's own months; None when no usage is known or nothing is offered."""
    if service_account.customer_id != customer.pk or enrollment.service_account_id != (
        service_account.pk
    ):
        raise ValueError("renewal offers are priced on the customer's own premise only")
    kwh, where = own_months(service_account=service_account, today=today)
    if not kwh:
        return None
    renewal_plan = enrollment.plan.renewal_plan
    costs = plan_costs_for_usage(
        monthly_kwh=kwh,
        utility=service_account.utility,
        customer_type=customer.customer_type,
        channel=Enrollment.Channel.WIZARD,  # what a customer may buy on the web
        include=[renewal_plan] if renewal_plan is not None and renewal_plan.active else [],
    )
    if not costs:
        return None
    if len(kwh) >= 12:
        source = gettext("Priced on %(where)s: %(kwh)s kWh a year.")
    else:
        source = gettext("Priced on %(where)s: %(kwh)s kWh a year, scaled to a year.")
    return RenewalOffers(
        costs=costs,
        renewal_plan_id=renewal_plan.pk if renewal_plan is not None else None,
        source=source % {"where": where, "kwh": f"{costs[0].annual_kwh:,}"},
        assumptions=ASSUMPTIONS,
    )
