"""EFL average prices: what a month at a usage tier costs per kWh (PUCT 16 TAC 25.475)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from enrollments.models import Plan, PromoCode, TduCharge
from opsadmin.models import DEFAULT_TIERS, UsageTierSet

TENTH = Decimal("0.1")


def average_price_cents(
    plan: Plan, tdu: TduCharge | None, kwh: int, *, promo: PromoCode | None = None
) -> Decimal:
    """Average price in ¢/kWh for a month of ``kwh``, rounded to 0.1¢ as the EFL shows it.

    Includes every recurring charge and credit (energy charge, base fee, TDU monthly and
    per-kWh delivery charges, a bill credit once usage reaches its threshold, a promo code's
    ¢/kWh off or bill credit); excludes taxes and one-time fees. ``tdu=None`` means the
    utility has no delivery charges on file (then only the REP charges count).
    """
    if kwh <= 0:
        raise ValueError("kwh must be positive")
    cents = month_cost_cents(plan, tdu, Decimal(kwh), promo=promo)
    return (cents / Decimal(kwh)).quantize(TENTH, rounding=ROUND_HALF_UP)


def month_cost_cents(
    plan: Plan, tdu: TduCharge | None, kwh: Decimal, *, promo: PromoCode | None = None
) -> Decimal:
    """What one month of ``kwh`` costs in cents, unrounded (the charges of
    :func:`average_price_cents`; also used to price a person's own months)."""
    if kwh < 0:
        raise ValueError("kwh must not be negative")
    usage = Decimal(kwh)
    energy = plan.energy_charge_cents
    if promo is not None and promo.benefit == PromoCode.Benefit.CENTS_OFF:
        energy = max(Decimal("0"), energy - promo.amount)
    cents = energy * usage + plan.base_fee * 100
    if tdu is not None:
        cents += tdu.monthly_charge * 100 + tdu.per_kwh_cents * usage
    if (
        plan.bill_credit
        and plan.bill_credit_min_kwh is not None
        and usage >= plan.bill_credit_min_kwh
    ):
        cents -= plan.bill_credit * 100
    if promo is not None and promo.benefit == PromoCode.Benefit.BILL_CREDIT:
        cents -= promo.amount * 100
    return cents


def usage_tiers(state: str) -> list[int]:
    """The state's EFL tiers from System Setup (Texas: 500/1,000/2,000 kWh)."""
    row = UsageTierSet.objects.filter(state=state).first()
    if row is not None:
        return list(row.tiers_kwh)
    return list(DEFAULT_TIERS.get(state, [500, 1000, 2000]))
