"""Questions about customers and the catalogue (reads only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, Subquery
from django.http import Http404
from django.utils import timezone

from enrollments.dates import business_days_between, market_today, subtract_business_days
from enrollments.models import Customer, Enrollment, Plan, PromoCode, TduCharge
from enrollments.pricing import (
    DEFAULT_TIERS,
    price_structures,
    structure_average_cents,
    usage_tiers,
)
from enrollments.products_extras import OwnUsagePrice
from enrollments.services import plans_available
from opsadmin.models import CustomerType, UsageTierSet, Utility


def customer_for(*, user) -> Customer:
    """The signed-in user's customer record (every customer-facing view asks this); a login
    without one is a 404."""
    try:
        return user.customer
    except (Customer.DoesNotExist, AttributeError) as exc:
        raise Http404("No customer record for this login.") from exc


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
    tou: bool = False  # time-of-use: the averages assume pricing.TOU_EFL_ASSUMPTION

    @property
    def etf_text(self) -> str:
        plan = self.plan
        if plan.etf_type == Plan.EtfType.NONE:
            return "None"
        if plan.etf_type == Plan.EtfType.PER_MONTH:
            return f"${plan.etf_amount} per remaining month"
        return f"${plan.etf_amount}"


def _tiers_and_tdu(utility: Utility) -> tuple[list[int], TduCharge | None]:
    """The state's usage tiers and the utility's TDU charges in one round trip (the products
    table is on the agent's path): the tiers ride on the TDU row; without a TDU row they are
    read on their own (``usage_tiers``)."""
    tdu = (
        TduCharge.objects.filter(utility=utility)
        .annotate(
            state_tiers=Subquery(
                UsageTierSet.objects.filter(state=utility.state)
                .order_by("pk")
                .values("tiers_kwh")[:1]
            )
        )
        .first()
    )
    if tdu is None:
        return usage_tiers(utility.state), None
    if tdu.state_tiers is not None:
        return list(tdu.state_tiers), tdu
    return list(DEFAULT_TIERS.get(utility.state, [500, 1000, 2000])), tdu  # as usage_tiers


def product_rows(
    *, utility: Utility, customer_type: CustomerType, channel: str
) -> tuple[list[int], list[ProductRow], bool]:
    """The products table: each plan with its average price at the state's usage tiers,
    and whether the utility's TDU charges are on file (else the averages leave them out)."""
    tiers, tdu = _tiers_and_tdu(utility)
    plans = plans_available(utility=utility, customer_type=customer_type, channel=channel)
    rows = [
        ProductRow(
            plan=plan,
            averages=[(kwh, structure_average_cents(s, kwh)) for kwh in tiers],
            tou=s.is_tou,
        )
        for plan, s in zip(plans, price_structures(plans, tdu), strict=True)
    ]
    return tiers, rows, tdu is not None


def promo_code_for(code: str) -> PromoCode | None:
    return PromoCode.objects.filter(code__iexact=code).first() if code else None


# How long a life-cycle state may last before staff should look (business days).
STUCK_SUBMITTED_BUSINESS_DAYS = 1  # the billing system acknowledges Create Prospect at once
STUCK_PENDING_BUSINESS_DAYS = 5  # ESG accepts or rejects within a few days
STUCK_ACCEPTED_BUSINESS_DAYS = 10  # ERCOT completes a switch on (or soon after) its date


@dataclass(frozen=True)
class StuckEnrollment:
    enrollment: Enrollment
    since: date  # the day the state's clock started
    business_days: int  # business days past that day
    reason: str


def enrollments_stuck(*, today: date | None = None, limit: int = 500) -> list[StuckEnrollment]:
    """Enrollments in a state longer than expected, longest first: submitted but not
    acknowledged, pending without an answer, accepted but service not started 10 business
    days past the requested start, active past the contract end (no month-to-month plan to
    roll to)."""
    today = today or market_today()
    rows: list[StuckEnrollment] = []
    base = Enrollment.objects.select_related("customer", "service_account", "plan")

    def add(qs, since_of, threshold: int, reason: str) -> None:
        for enrollment in qs[:limit]:
            since = since_of(enrollment)
            late = business_days_between(since, today)
            if late > threshold:
                rows.append(StuckEnrollment(enrollment, since, late, reason))

    def submitted_on(e: Enrollment) -> date:
        return timezone.localdate(e.submitted_at) if e.submitted_at else e.created_at.date()

    cutoff = subtract_business_days(today, STUCK_PENDING_BUSINESS_DAYS)
    add(
        base.filter(status=Enrollment.Status.SUBMITTED),
        submitted_on,
        STUCK_SUBMITTED_BUSINESS_DAYS,
        "The billing system has not acknowledged Create Prospect (see Billing exceptions).",
    )
    add(
        base.filter(status=Enrollment.Status.PENDING, submitted_at__date__lt=cutoff),
        submitted_on,
        STUCK_PENDING_BUSINESS_DAYS,
        "The billing system has neither accepted nor rejected it.",
    )
    add(
        base.filter(
            status=Enrollment.Status.ACCEPTED,
            requested_start_date__lt=subtract_business_days(today, STUCK_ACCEPTED_BUSINESS_DAYS),
        ),
        lambda e: e.requested_start_date,
        STUCK_ACCEPTED_BUSINESS_DAYS,
        "Accepted, but the switch or move-in has not completed: ask the TDSP / ERCOT.",
    )
    add(
        base.filter(status=Enrollment.Status.ACTIVE, contract_end_date__lt=today),
        lambda e: e.contract_end_date,
        0,
        "The contract ended and no month-to-month plan was found to move it to.",
    )
    rows.sort(key=lambda r: (-r.business_days, r.enrollment.pk))
    return rows[:limit]
