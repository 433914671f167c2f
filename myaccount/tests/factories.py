"""Rows the My Account tests need: portal customers with premises, bills, SMT intervals."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from enrollments.models import Customer, Enrollment, Plan, ServiceAccount
from opsadmin.management import journeys as lifecycle
from opsadmin.models import CustomerType, ThirdPartyProvider, User, Utility
from usage.models import intervals_in_day
from usage.services import BillInput, DayRow, bills_store, intervals_ingest

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count(1)


def utility(market: str = "ERCOT") -> Utility:
    code = "centerpoint" if market == "ERCOT" else "peco"
    obj, _ = Utility.objects.get_or_create(
        code=code,
        defaults={
            "name": "CenterPoint" if market == "ERCOT" else "PECO",
            "market": market,
            "state": "TX" if market == "ERCOT" else "PA",
            "esiid_prefixes": ["1008901"] if market == "ERCOT" else [],
        },
    )
    return obj


def plan() -> Plan:
    obj, _ = Plan.objects.get_or_create(
        code="SAVER12",
        defaults={
            "name": "Saver 12",
            "term_months": 12,
            "energy_charge_cents": Decimal("12.4500"),
            "base_fee": Decimal("9.95"),
        },
    )
    return obj


@dataclass
class Portal:
    user: User
    customer: Customer
    accounts: list[ServiceAccount]

    @property
    def account(self) -> ServiceAccount:
        return self.accounts[0]


def portal_customer(
    *,
    first_name: str = "Ana",
    accounts: int = 1,
    market: str = "ERCOT",
    status: str = Enrollment.Status.ACTIVE,
    contract_end_date: date | None = None,
    billing_account_number: str | None = None,
    password: str = PASSWORD,
) -> Portal:
    n = next(_seq)
    email = f"{first_name.lower()}{n}@example.com"
    user = User(username=email, email=email, kind=User.Kind.CUSTOMER)
    user.set_password(password)
    user.save()
    ctype, _ = CustomerType.objects.get_or_create(
        code="residential", defaults={"name": "Residential"}
    )
    customer = Customer.objects.create(
        user=user,
        customer_type=ctype,
        first_name=first_name,
        last_name=f"Tester{n}",
        email=email,
        phone="713-555-0100",
    )
    util = utility(market)
    sas = []
    for i in range(accounts):
        # Through the product's flows: submitted, acknowledged, accepted (with the billing
        # account number ESG answers), service started (enrollments/tests/lifecycle.py).
        enrollment = lifecycle.enrolled(
            status,
            utility=util,
            plan=plan(),
            customer=customer,
            esiid=f"100890100000{n:05d}{i:05d}",
            address_line1=f"{100 * n + i} Main St",
            contract_end=contract_end_date,
            ban=billing_account_number
            if billing_account_number is not None
            else f"BA{n:05d}{i:05d}",
        )
        sas.append(enrollment.service_account)
    return Portal(user=user, customer=customer, accounts=sas)


def monthly_bills(
    service_account: ServiceAccount, *, first: date, count: int, kwh: Callable[[int], int]
) -> None:
    """``count`` calendar-month bills starting with ``first`` (a 1st); bill i has kwh(i)."""
    bills = []
    for i in range(count):
        y, m = divmod(first.year * 12 + first.month - 1 + i, 12)
        start = date(y, m + 1, 1)
        y2, m2 = divmod(y * 12 + m + 1, 12)
        end = date(y2, m2 + 1, 1) - timedelta(days=1)  # inclusive, as ESG sends it
        k = Decimal(kwh(i))
        bills.append(
            BillInput(
                period_start=start,
                period_end=end,
                kwh=k,
                amount=(k * Decimal("0.1245") + Decimal("9.95")).quantize(Decimal("0.01")),
                due_date=end + timedelta(days=21),
                paid=i < count - 1,
            )
        )
    bills_store(service_account=service_account, bills=bills)


def intervals(
    service_account: ServiceAccount,
    *,
    start: date,
    end: date,
    kwh: Decimal = Decimal("0.25"),
    estimated_days: tuple[date, ...] = (),
    generation: Decimal | None = None,
) -> None:
    """Every 15-minute interval of start..end holds ``kwh`` (so an hour is 4x, a day 96x).

    On ``estimated_days`` the first interval is estimated. With ``generation`` a second
    channel holds that many kWh per interval.
    """
    rows = []
    revised = datetime(2025, 1, 1, tzinfo=UTC)
    day = start
    while day <= end:
        n = intervals_in_day(day)
        est = [day in estimated_days and i == 0 for i in range(n)]
        rows.append(DayRow(service_account.pk, "C", day, [kwh] * n, est, revised))
        if generation is not None:
            rows.append(
                DayRow(service_account.pk, "G", day, [generation] * n, [False] * n, revised)
            )
        day += timedelta(days=1)
    intervals_ingest(rows=rows)
    from usage.models import UsageSyncState

    state, _ = UsageSyncState.objects.get_or_create(service_account=service_account)
    state.data_from = start
    state.data_through = end
    state.last_success_at = datetime.now(UTC)
    state.save()


def smt_on(base_url: str = "http://127.0.0.1:9/smt") -> ThirdPartyProvider:
    provider = ThirdPartyProvider.load()
    provider.smt_enabled = True
    provider.smt_api_url = base_url
    provider.smt_username = "DEMOREP"
    provider.smt_password = "demo-smt-secret"  # noqa: S105 - test value
    provider.smt_duns_number = "123456789"
    provider.save()
    return provider


def esg_on(simulators_url: str) -> ThirdPartyProvider:
    provider = ThirdPartyProvider.load()
    provider.esg_api_url = f"{simulators_url}/esg"
    provider.esg_api_key = "test-esg-key"
    provider.save()
    return provider
