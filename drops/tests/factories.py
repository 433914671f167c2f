"""Rows for drops tests: a customer with an active enrollment on a premise."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from billing.models import BillingRequest
from drops.models import DropCode, DropSettings
from enrollments.models import Customer, Enrollment, Plan
from opsadmin import clock
from opsadmin.management import journeys as lifecycle
from opsadmin.models import CustomerType, User, Utility

PASSWORD = "drops-test-password-9"
_seq = itertools.count(1)


def utility(code: str = "centerpoint", name: str = "CenterPoint") -> Utility:
    found, _ = Utility.objects.get_or_create(
        code=code, defaults={"name": name, "esiid_prefixes": ["1008901"]}
    )
    return found


def customer_type(*, visible: bool = True) -> CustomerType:
    code = "residential" if visible else "commercial-hidden"
    found, _ = CustomerType.objects.get_or_create(
        code=code,
        defaults={"name": code.title(), "drop_visible_in_myaccount": visible},
    )
    return found


def plan(*, etf_type: str = "flat", etf_amount: str = "150.00", code: str | None = None) -> Plan:
    return Plan.objects.create(
        code=code or f"PLAN{next(_seq)}",
        name="Fixed 12",
        term_months=12,
        energy_charge_cents=Decimal("12.5000"),
        etf_type=etf_type,
        etf_amount=Decimal(etf_amount),
    )


def customer(*, visible: bool = True, email: str | None = None) -> Customer:
    n = next(_seq)
    user = User.objects.create_user(
        username=email or f"cust{n}@example.com",
        email=email or f"cust{n}@example.com",
        password=PASSWORD,
        kind=User.Kind.CUSTOMER,
    )
    return Customer.objects.create(
        user=user,
        customer_type=customer_type(visible=visible),
        first_name="Ana",
        last_name=f"Lopez{n}",
        email=user.email,
    )


def active_enrollment(
    *,
    cust: Customer | None = None,
    util: Utility | None = None,
    the_plan: Plan | None = None,
    contract_end: date | None = None,
    submitted_days_ago: int = 60,
) -> Enrollment:
    """An active enrollment reached through the product's flows (submit, ESG's answers).

    Submitted ``submitted_days_ago`` days ago; service started 5 days after that (at the
    latest today: a same-day move-in), unless ``contract_end`` is given: then it started
    the plan's term before that day.
    """
    cust = cust or customer()
    util = util or utility()
    n = next(_seq)
    return lifecycle.enrolled(
        Enrollment.Status.ACTIVE,
        utility=util,
        plan=the_plan or plan(),
        customer=cust,
        esiid=f"1008901{n:015d}",
        address_line1=f"{n} Main St",
        channel=Enrollment.Channel.WIZARD,
        submitted_on=clock.today() - timedelta(days=submitted_days_ago),
        service_start=min(clock.today(), clock.today() - timedelta(days=submitted_days_ago - 5)),
        contract_end=contract_end,
        ban=f"BA{n}",
    )


def drop_code(util: Utility, code: str, description: str = "", **kwargs) -> DropCode:
    kwargs.setdefault("available_in_myaccount", True)
    return DropCode.objects.create(
        utility=util, code=code, description=description or f"Reason {code}", **kwargs
    )


def hold(util: Utility, hours: int, *, customer_may_cancel: bool = False) -> DropSettings:
    settings, _ = DropSettings.objects.update_or_create(
        utility=util,
        defaults={"hold_hours": hours, "customer_may_cancel_during_hold": customer_may_cancel},
    )
    return settings


def drop_rows():
    """The billing outbox rows of drops and move-outs (not the enrollments' Create Prospect)."""
    return BillingRequest.objects.exclude(kind=BillingRequest.Kind.CREATE_PROSPECT)
