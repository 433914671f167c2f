"""Questions of authorizations: the person's months, and every plan priced on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet
from django.utils import dateformat
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from authorizations.models import MonthlyUsage, UsageAuthorization
from enrollments.models import Plan, PromoCode, TduCharge
from enrollments.pricing import (
    UsageMonth,
    months_cost_cents,
    price_structures,
    structure_average_cents,
)
from enrollments.services import plans_available
from opsadmin.models import CustomerType, Utility

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
MIN_DAYS_FOR_FULL_MONTH = 27  # a month (or billing period) with fewer days is partial

ASSUMPTIONS = (
    _("Your last 12 months of usage repeat over the next 12 months."),
    _(
        "Each month is priced on its own, so a bill credit counts only in months whose usage "
        "reaches its threshold."
    ),
    _("Energy charge and base fee as offered today; variable and indexed plans can change."),
    _(
        "TDU delivery charges (monthly and per kWh) as on file today; they change when the PUCT "
        "approves new rates."
    ),
    _("Excludes taxes, deposits, one-time fees and early termination fees."),
    _(
        "Time-of-use plans: months with complete 15-minute data are priced interval by interval "
        "in Central time (daylight saving included); other months on their total, as the EFL: "
        "average prices assume the month's usage is spread evenly over every hour of the week "
        "(each of the 168 hours uses 1/168 of the month's kWh); holidays are not counted "
        "separately."
    ),
)


@dataclass(frozen=True)
class PlanCost:
    """One plan priced on a person's own months."""

    plan: Plan
    annual_cost: Decimal  # dollars, for a year of the person's usage
    average_cents: Decimal  # ¢/kWh: annual cost / annual kWh, 0.1¢
    monthly_costs: tuple[Decimal, ...]  # dollars, month by month
    credit_months: int  # months in which the plan's bill credit applied
    advertised_1000_cents: Decimal | None  # the EFL's 1,000 kWh average, for comparison
    annual_kwh: Decimal
    months_priced: int
    interval_months: int = 0  # months priced from 15-minute intervals (the rest: totals)
    tou: bool = False  # a time-of-use plan
    has_credits: bool = False  # the plan has bill credits at usage thresholds


def plan_costs_for_usage(
    *,
    monthly_kwh: Sequence[Decimal] = (),
    months: Sequence[UsageMonth] | None = None,
    utility: Utility,
    customer_type: CustomerType,
    channel: str,
    promo: PromoCode | None = None,
    include: Sequence[Plan] = (),
) -> list[PlanCost]:
    """Every plan available to this person, priced on their months, cheapest first.

    ``monthly_kwh`` is up to 12 months of consumption (kWh); or ``months`` gives them as
    :class:`~enrollments.pricing.UsageMonth`, where a month from 15-minute intervals prices a
    time-of-use plan exactly (America/Chicago hours) and a monthly total prices it on the
    EFL's profile (:data:`~enrollments.pricing.TOU_EFL_ASSUMPTION`). Fewer than 12 months are
    priced as they are and scaled to a year. Uses the EFL charges of :mod:`enrollments.pricing`
    month by month (energy charge and tiers, time-of-use charges, base fee, TDU charges, bill
    credits at their thresholds, promo). For My Account renewal offers too: ``include`` adds
    plans the channel would not list (a contract's renewal plan), each priced once.
    """
    if months is None:
        months = [UsageMonth(month=date.min, kwh=Decimal(m)) for m in monthly_kwh]
    months = list(months)[-12:]
    if not months or any(m.kwh < 0 for m in months):
        return []
    tdu = TduCharge.objects.filter(utility=utility).first()
    scale = Decimal(12) / Decimal(len(months))
    annual_kwh = sum((m.kwh for m in months), Decimal("0")) * scale
    interval_months = sum(1 for m in months if m.from_intervals)
    out = []
    plans = plans_available(utility=utility, customer_type=customer_type, channel=channel)
    listed = {p.pk for p in plans}
    plans += [p for p in dict.fromkeys(include) if p.pk not in listed]
    structures = price_structures(plans, tdu, promo=promo)
    for plan, s, cents in zip(
        plans, structures, months_cost_cents(structures, months), strict=True
    ):
        annual_cents = sum(cents, Decimal("0")) * scale
        credited = sum(
            1
            for m in months
            if any(m.kwh >= low and (high is None or m.kwh <= high) for low, high, _ in s.credits)
        )
        out.append(
            PlanCost(
                plan=plan,
                annual_cost=(annual_cents / 100).quantize(CENT, rounding=ROUND_HALF_UP),
                average_cents=(annual_cents / annual_kwh).quantize(TENTH, rounding=ROUND_HALF_UP)
                if annual_kwh
                else Decimal("0"),
                monthly_costs=tuple(
                    (c / 100).quantize(CENT, rounding=ROUND_HALF_UP) for c in cents
                ),
                credit_months=credited,
                advertised_1000_cents=structure_average_cents(s, 1000),
                annual_kwh=annual_kwh.quantize(Decimal("1"), rounding=ROUND_HALF_UP),
                months_priced=len(months),
                interval_months=interval_months,
                tou=s.is_tou,
                has_credits=bool(s.credits),
            )
        )
    out.sort(key=lambda c: (c.annual_cost, c.plan.code))
    return out


def priced_from_text(months: Sequence[UsageMonth]) -> str:
    """Which months were priced from 15-minute intervals and which from monthly totals."""
    if not months:
        return ""
    exact = [m.month for m in months if m.from_intervals]
    totals = [m.month for m in months if not m.from_intervals]
    if exact and totals:
        text = gettext(
            "Months priced from 15-minute intervals: %(exact)s; from monthly totals: %(totals)s."
        ) % {"exact": _month_list(exact), "totals": _month_list(totals)}
    elif exact:
        text = gettext("Months priced from 15-minute intervals: %(exact)s.") % {
            "exact": _month_list(exact)
        }
    else:
        text = gettext("Months priced from monthly totals: %(totals)s.") % {
            "totals": _month_list(totals)
        }
    if totals:
        text += " " + gettext(
            "Time-of-use plans are priced on monthly totals as their EFL assumes."
        )
    return text


def _month_list(months: list[date]) -> str:
    if all(m == date.min for m in months):
        return ngettext("%(n)s month", "%(n)s months", len(months)) % {"n": len(months)}
    month_year = gettext("M Y")
    return ", ".join(dateformat.format(m, month_year) for m in months)


def months_for(authorization: UsageAuthorization) -> list[MonthlyUsage]:
    return list(MonthlyUsage.objects.filter(authorization=authorization).order_by("month"))


def pricing_months(months: list[MonthlyUsage]) -> list[MonthlyUsage]:
    """The latest 12 full months (partial first/last periods are left out)."""
    full = [m for m in months if m.days >= MIN_DAYS_FOR_FULL_MONTH]
    return full[-12:]


@dataclass(frozen=True)
class UsagePicture:
    months: list[MonthlyUsage]
    priced_on: list[MonthlyUsage]
    costs: list[PlanCost]
    source_label: str
    tdu_missing: bool
    priced_from: str = ""  # monthly totals only: an authorization holds no intervals


def usage_picture(authorization: UsageAuthorization) -> UsagePicture:
    """What the status, staff and prospect pages show: months, source, plan prices."""
    months = months_for(authorization)
    priced_on = pricing_months(months)
    usage_months = [UsageMonth(month=m.month, kwh=m.kwh) for m in priced_on]
    costs = (
        plan_costs_for_usage(
            months=usage_months,
            utility=authorization.utility,
            customer_type=authorization.customer_type,
            channel=authorization.channel,
        )
        if priced_on
        else []
    )
    source = months[0].get_source_display() if months else ""
    return UsagePicture(
        months=months,
        priced_on=priced_on,
        costs=costs,
        source_label=source,
        tdu_missing=not TduCharge.objects.filter(utility=authorization.utility).exists(),
        priced_from=priced_from_text(usage_months),
    )


def authorization_list(*, status: str = "", q: str = "") -> QuerySet[UsageAuthorization]:
    qs = UsageAuthorization.objects.select_related("utility", "prospect", "created_by")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(esiid__startswith=q.strip()) | qs.filter(email__iexact=q.strip())
    return qs.order_by("-created_at", "-pk")
