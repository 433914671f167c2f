"""Small builders for renewals tests (plain ORM; the rows the notices read)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import Group

from enrollments.models import Customer, Enrollment, Plan
from opsadmin.management import journeys as lifecycle
from opsadmin.models import CustomerType, ServiceArea, User, Utility

_seq = itertools.count(1)


def utility(**kwargs) -> Utility:
    defaults = {
        "name": "CenterPoint",
        "esiid_prefixes": ["1008901"],
        "meter_number_label": "Meter Number",
        "price_to_compare_cents": Decimal("11.2000"),
    }
    defaults.update(kwargs)
    u, _ = Utility.objects.update_or_create(
        code=kwargs.pop("code", "centerpoint"), defaults=defaults
    )
    ServiceArea.objects.get_or_create(utility=u, zip_code="77002")
    return u


def customer_type(code: str = "residential") -> CustomerType:
    return CustomerType.objects.get_or_create(code=code, defaults={"name": code.title()})[0]


def plan(
    code: str = "FIX12", *, term_months: int = 12, renewal: Plan | None = None, **kwargs
) -> Plan:
    p, _ = Plan.objects.update_or_create(
        code=code,
        defaults={
            "name": kwargs.pop("name", f"Fixed {term_months}"),
            "term_months": term_months,
            "energy_charge_cents": Decimal("12.5"),
            "renewal_plan": renewal,
            **kwargs,
        },
    )
    return p


def enrollment(
    *,
    end: date,
    plan_obj: Plan | None = None,
    ban: str = "",
    preference: str = "email",
    company: str = "",
    first: str = "Ana",
    last: str = "Lopez",
    status: str = Enrollment.Status.ACTIVE,
    util: Utility | None = None,
) -> Enrollment:
    """A customer whose contract ends on ``end``: enrolled through the product's flows and
    started by the billing system's answer on ``end`` minus the plan's term."""
    n = next(_seq)
    u = util or utility()
    customer = Customer.objects.create(
        customer_type=customer_type(),
        first_name=first,
        last_name=last,
        company_name=company,
        email=f"customer{n}@example.com",
        notice_preference=preference,
        billing_address_line1=f"{n} Main St",
        billing_city="Houston",
        billing_state="TX",
        billing_zip="77002",
    )
    return lifecycle.enrolled(
        status,
        utility=u,
        plan=plan_obj or plan("STD12"),
        customer=customer,
        esiid=f"1008901{n:015d}",
        meter_number=f"M{n:06d}",
        address_line1=f"{n} Main St",
        contract_end=end,
        ban=ban or None,
    )


def staff(group: str = "Ops", username: str = "ops") -> User:
    user = User.objects.create_user(username=username, password="x-Password-123", kind="staff")
    user.groups.add(Group.objects.get(name=group))
    return user
