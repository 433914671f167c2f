"""Questions of authorizations: the person's months, and every plan priced on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from authorizations.models import MonthlyUsage, UsageAuthorization
from enrollments.models import Plan, PromoCode, TduCharge
from enrollments.pricing import average_price_cents, month_cost_cents
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


def plan_costs_for_usage(
    *,
    monthly_kwh: list[Decimal],
    utility: Utility,
    customer_type: CustomerType,
    channel: str,
    promo: PromoCode | None = None,
    include: Sequence[Plan] = (),
) -> list[PlanCost]:
    """Every plan available to this person, priced on their months, cheapest first.

    ``monthly_kwh`` is up to 12 months of consumption (kWh). Fewer than 12 months are priced
    as they are and scaled to a year. Uses the EFL charges of :mod:`enrollments.pricing`
    month by month (energy charge, base fee, TDU charges, bill credit at its threshold,
    promo). For My Account renewal offers too: ``include`` adds plans the channel would not
    list (a contract's renewal plan), each priced once.
    """
    months = [Decimal(m) for m in monthly_kwh][-12:]
    if not months or any(m < 0 for m in months):
        return []
    tdu = TduCharge.objects.filter(utility=utility).first()
    scale = Decimal(12) / Decimal(len(months))
    annual_kwh = sum(months, Decimal("0")) * scale
    out = []
    plans = plans_available(utility=utility, customer_type=customer_type, channel=channel)
    listed = {p.pk for p in plans}
    plans += [p for p in dict.fromkeys(include) if p.pk not in listed]
    for plan in plans:
        cents = [month_cost_cents(plan, tdu, kwh, promo=promo) for kwh in months]
        annual_cents = sum(cents, Decimal("0")) * scale
        credited = sum(
            1
            for kwh in months
            if plan.bill_credit
            and plan.bill_credit_min_kwh is not None
            and kwh >= plan.bill_credit_min_kwh
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
                advertised_1000_cents=average_price_cents(plan, tdu, 1000, promo=promo),
                annual_kwh=annual_kwh.quantize(Decimal("1"), rounding=ROUND_HALF_UP),
                months_priced=len(months),
            )
        )
    out.sort(key=lambda c: (c.annual_cost, c.plan.code))
    return out


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


def usage_picture(authorization: UsageAuthorization) -> UsagePicture:
    """What the status, staff and prospect pages show: months, source, plan prices."""
    months = months_for(authorization)
    priced_on = pricing_months(months)
    costs = (
        plan_costs_for_usage(
            monthly_kwh=[m.kwh for m in priced_on],
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
    )


def authorization_list(*, status: str = "", q: str = "") -> QuerySet[UsageAuthorization]:
    qs = UsageAuthorization.objects.select_related("utility", "prospect", "created_by")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(esiid__startswith=q.strip()) | qs.filter(email__iexact=q.strip())
    return qs.order_by("-created_at", "-pk")
