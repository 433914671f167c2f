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

from authorizations.selectors import (
    ASSUMPTIONS,
    PlanCost,
    plan_costs_for_usage,
    priced_from_text,
)
from enrollments.models import Customer, Enrollment, ServiceAccount
from enrollments.pricing import UsageMonth
from myaccount import sources
from usage import selectors as usage_selectors

RENEWAL_WINDOW_DAYS = 60  # offers show in the 60 days before the contract ends


@dataclass(frozen=True)
class RenewalOffers:
    costs: list[PlanCost]  # cheapest on the customer's usage first
    renewal_plan_id: int | None  # the contract's default renewal plan
    source: str  # one line: which months, how many kWh, from where
    assumptions: tuple[StrOrPromise, ...]
    priced_from: str = ""  # which months from 15-minute intervals, which from monthly totals


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


def own_months(*, service_account: ServiceAccount, today: date) -> tuple[list[UsageMonth], str]:
    """(months, oldest first; a one-line statement of where they come from) for the premise:
    where the chart reads SMT, the last 12 full calendar months from 15-minute intervals
    (complete months) or their bills; else the newest 12 bills."""
    start, end = _months_back(today)
    if usage_selectors.smt_source_applies(service_account=service_account):
        months = usage_selectors.pricing_usage_months(
            service_account=service_account, start=start, end=end, require_intervals=True
        )
        if months:
            n = len(months)
            month_year = gettext("M Y")
            return months, ngettext(
                "%(n)s month of your usage (%(first)s–%(last)s)",
                "%(n)s months of your usage (%(first)s–%(last)s)",
                n,
            ) % {
                "n": n,
                "first": dateformat.format(months[0].month, month_year),
                "last": dateformat.format(months[-1].month, month_year),
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
    return [UsageMonth(month=b.period_start, kwh=b.kwh) for b in bills], ngettext(
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
    months, where = own_months(service_account=service_account, today=today)
    if not months:
        return None
    renewal_plan = enrollment.plan.renewal_plan
    costs = plan_costs_for_usage(
        months=months,
        utility=service_account.utility,
        customer_type=customer.customer_type,
        channel=Enrollment.Channel.WIZARD,  # what a customer may buy on the web
        include=[renewal_plan] if renewal_plan is not None and renewal_plan.active else [],
    )
    if not costs:
        return None
    if len(months) >= 12:
        source = gettext("Priced on %(where)s: %(kwh)s kWh a year.")
    else:
        source = gettext("Priced on %(where)s: %(kwh)s kWh a year, scaled to a year.")
    return RenewalOffers(
        costs=costs,
        renewal_plan_id=renewal_plan.pk if renewal_plan is not None else None,
        source=source % {"where": where, "kwh": f"{costs[0].annual_kwh:,}"},
        assumptions=ASSUMPTIONS,
        priced_from=priced_from_text(months),
    )
