"""Replacement values enrollments provides to notices (customer, plan, premise, billing).

Imported once from ``EnrollmentsConfig.ready``. Every resolver reads stored data only:
``[BILLING_ACCOUNT_NUMBER]`` is the number stored when the billing system accepted the
enrollment; when it is missing the value renders empty and nothing asks the billing API
(replacement values never request the account number: a notice renders in bulk).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import dateformat
from django.utils.translation import gettext

from enrollments.models import Enrollment
from notices import registry


def _long_date(value: date | None) -> str:
    """ "March 31, 2026"; "31 de marzo de 2026" when the notice is rendered in Spanish."""
    return dateformat.format(value, gettext("F j, Y")) if value else ""


def price_to_compare(cents: Decimal | None) -> str:
    """``11.2`` -> ``11.20¢/kWh`` (at least 2 decimals, up to the stored 4)."""
    if cents is None:
        return ""
    text = format(Decimal(str(cents)).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}¢/kWh"


def _enrollment(pk: int) -> Enrollment | None:
    return (
        Enrollment.objects.select_related(
            "customer", "plan__renewal_plan", "service_account__utility"
        )
        .filter(pk=pk)
        .first()
    )


def _enrollment_choices() -> list[tuple[int, str]]:
    rows = Enrollment.objects.select_related("customer", "service_account").order_by("-pk")[:200]
    return [(e.pk, f"#{e.pk} {e.customer} — {e.service_account.esiid}") for e in rows]


registry.register_record_kind(
    "enrollment", label="Enrollment", loader=_enrollment, choices=_enrollment_choices
)

_VALUES = {
    "BILLING_ACCOUNT_NUMBER": (
        "The customer's billing account number in the billing system (ESG REST utilities), "
        "as stored when the enrollment was accepted. Empty if not stored yet; never fetched.",
        lambda e: e.billing_account_number,
    ),
    "CUSTOMER_NAME": (
        "Customer name (company name for commercial customers).",
        lambda e: e.customer.display_name,
    ),
    "CUSTOMER_FIRST_NAME": ("Customer first name.", lambda e: e.customer.first_name),
    "PLAN_NAME": ("Name of the current plan.", lambda e: e.plan.local_name),
    "PLAN_CODE": ("Code of the current plan (ESG plan code).", lambda e: e.plan.code),
    "RENEWAL_PLAN_NAME": (
        "Name of the default plan the contract renews onto.",
        lambda e: e.plan.renewal_plan.local_name if e.plan.renewal_plan else "",
    ),
    "RENEWAL_PLAN_CODE": (
        "Code of the default plan the contract renews onto.",
        lambda e: e.plan.renewal_plan.code if e.plan.renewal_plan else "",
    ),
    "CONTRACT_END_DATE": (
        "Contract end date, e.g. March 31, 2026.",
        lambda e: _long_date(e.contract_end_date),
    ),
    "ESIID": ("ESIID (or LDC account number) of the premise.", lambda e: e.service_account.esiid),
    "SERVICE_ADDRESS": (
        "Service address of the premise, one line.",
        lambda e: ", ".join(
            p
            for p in (
                e.service_account.address_line1,
                e.service_account.address_line2,
                f"{e.service_account.city}, {e.service_account.state} {e.service_account.zip_code}",
            )
            if p
        ),
    ),
    "UTILITY_NAME": ("Utility (TDSP) of the premise.", lambda e: e.service_account.utility.name),
    "UTILITY_PRICE_TO_COMPARE": (
        "The utility's price to compare (Utility Manager), e.g. 11.20¢/kWh.",
        lambda e: price_to_compare(e.service_account.utility.price_to_compare_cents),
    ),
}

for _name, (_description, _resolver) in _VALUES.items():
    registry.register(_name, description=_description, resolver=_resolver, record="enrollment")
