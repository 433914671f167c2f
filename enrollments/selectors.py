"""Questions about customers and the catalogue (reads only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from enrollments.models import Customer, Plan, PromoCode, TduCharge
from enrollments.pricing import average_price_cents, usage_tiers
from enrollments.products_extras import OwnUsagePrice
from enrollments.services import plans_available
from opsadmin.models import CustomerType, Utility


def customer_search(*, query: str, limit: int = 20) -> list[Customer]:
    """Existing customers by name, phone, email or account (billing account number, ESIID)."""
    q = query.strip()
    if len(q) < 2:
        return []
    cond = Q(email__iexact=q) | Q(company_name__icontains=q) | Q(last_name__icontains=q)
    cond |= Q(first_name__icontains=q)
    parts = q.split()
    if len(parts) >= 2:
        cond |= Q(first_name__icontains=parts[0], last_name__icontains=parts[-1])
    if "@" in q:
        cond |= Q(email__icontains=q)
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4:
        cond |= Q(phone__contains=digits[-4:]) & _phone_digits_q(digits)
        cond |= Q(service_accounts__esiid__startswith=digits)
    cond |= Q(enrollments__billing_account_number__iexact=q)
    ids = list(Customer.objects.filter(cond).values_list("pk", flat=True).distinct()[:limit])
    return list(
        Customer.objects.filter(pk__in=ids)
        .select_related("customer_type")
        .prefetch_related("service_accounts")
        .order_by("last_name", "first_name", "pk")
    )


def _phone_digits_q(digits: str) -> Q:
    # Phones are stored as typed ("713-555-0100"); match on the digits with a regex that
    # allows any separators between them.
    pattern = r"\D*".join(digits[-10:])
    return Q(phone__regex=pattern)


@dataclass(frozen=True)
class ProductRow:
    plan: Plan
    averages: list[tuple[int, Decimal]]
    own: OwnUsagePrice | None = None  # on the person's own usage (products_extras)

    @property
    def etf_text(self) -> str:
        plan = self.plan
        if plan.etf_type == Plan.EtfType.NONE:
            return "None"
        if plan.etf_type == Plan.EtfType.PER_MONTH:
            return f"${plan.etf_amount} per remaining month"
        return f"${plan.etf_amount}"


def product_rows(
    *, utility: Utility, customer_type: CustomerType, channel: str
) -> tuple[list[int], list[ProductRow], bool]:
    """The products table: each plan with its average price at the state's usage tiers,
    and whether the utility's TDU charges are on file (else the averages leave them out)."""
    tiers = usage_tiers(utility.state)
    tdu = TduCharge.objects.filter(utility=utility).first()
    rows = [
        ProductRow(
            plan=plan,
            averages=[(kwh, average_price_cents(plan, tdu, kwh)) for kwh in tiers],
        )
        for plan in plans_available(utility=utility, customer_type=customer_type, channel=channel)
    ]
    return tiers, rows, tdu is not None


def promo_code_for(code: str) -> PromoCode | None:
    return PromoCode.objects.filter(code__iexact=code).first() if code else None
