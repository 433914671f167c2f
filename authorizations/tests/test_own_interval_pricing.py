"""The products table and renewal offers say which months were priced from 15-minute
intervals and which from monthly totals; a shopper's authorization holds totals only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from authorizations.selectors import plan_costs_for_usage, priced_from_text
from authorizations.tests.factories import reference
from authorizations.tests.test_own_usage_products import _manual_auth, _to_products
from enrollments.dates import market_today
from enrollments.models import Customer, Plan, ServiceAccount, TouPeriod
from enrollments.pricing import UsageMonth
from enrollments.products_extras import SESSION_KEY
from enrollments.tests.factories import ensure_reference_data, make_staff
from opsadmin.models import ServiceArea
from usage.models import Bill, intervals_in_day
from usage.services import DayRow, intervals_ingest

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def ref():
    data = reference()
    ServiceArea.objects.create(utility=data["cnp"], zip_code="77002")
    ensure_reference_data()
    nights = Plan.objects.create(
        code="NIGHTS12",
        name="Free Nights 12",
        term_months=12,
        energy_charge_cents=D("19.0"),
        base_fee=D("9.95"),
    )
    nights.utilities.set([data["cnp"]])
    nights.customer_types.set([data["res"]])
    TouPeriod.objects.create(
        plan=nights, name="Free nights", energy_charge_cents=D("0"), start_hour=21, end_hour=6
    )
    data["nights"] = nights
    return data


def _month_back(first: date, n: int) -> date:
    y, m = divmod(first.year * 12 + first.month - 1 - n, 12)
    return date(y, m + 1, 1)


def test_products_table_names_interval_and_total_months(ref):
    customer = Customer.objects.create(
        first_name="Ana", last_name="Diaz", email="ana@example.com", customer_type=ref["res"]
    )
    premise = ServiceAccount.objects.create(
        customer=customer,
        utility=ref["cnp"],
        esiid="10089010000000001",
        address_line1="1 Elm",
        city="Houston",
        zip_code="77002",
    )
    this_month = market_today().replace(day=1)
    months = [_month_back(this_month, n) for n in range(12, 0, -1)]  # the last 12 full
    # bills for the older ten, complete 15-minute data for the newest two
    for start in months[:10]:
        end = _month_back(start, -1) - timedelta(days=1)
        Bill.objects.create(
            service_account=premise,
            period_start=start,
            period_end=end,
            kwh=D("900"),
            amount=D("100"),
        )
    rows, day = [], months[10]
    while day < this_month:
        n = intervals_in_day(day)
        rows.append(DayRow(premise.pk, "C", day, [D("0.25")] * n, [False] * n, day_rev()))
        day += timedelta(days=1)
    intervals_ingest(rows=rows)

    agent = Client()
    agent.force_login(make_staff("agent1", "Agent"))
    draft = _to_products(agent, "quick")
    html = agent.get(
        reverse("enrollments:quick_page", args=[draft.token]),
        {"step": "products", "usage_esiid": "10089010000000001"},
    ).content.decode()
    exact = f"{months[10]:%b %Y}, {months[11]:%b %Y}"
    totals = ", ".join(f"{m:%b %Y}" for m in months[:10])
    assert (
        f"Months priced from 15-minute intervals: {exact}; from monthly totals: {totals}." in html
    )
    assert "time of use*" in html  # the TOU plan is marked, its EFL assumption stated
    assert 'data-testid="tou-assumption"' in html
    nights_row = html.split("NIGHTS12</small>")[1].split("</tr>")[0]
    assert 'class="num own-annual">$' in nights_row


def day_rev():
    return datetime(2030, 1, 1, tzinfo=UTC)


def test_interval_month_prices_tou_exactly_total_month_on_the_profile(ref):
    # one month of 720 kWh: all of it by night (exact) vs 9/24 of it by night (profile)
    night_cells = {(dow, h, False): D("720") / 63 for dow in range(1, 8) for h in range(21, 24)}
    night_cells |= {(dow, h, False): D("720") / 63 for dow in range(1, 8) for h in range(0, 6)}
    exact = UsageMonth(date(2026, 6, 1), D("720"), night_cells)
    total = UsageMonth(date(2026, 6, 1), D("720"))
    [c_exact] = [
        c
        for c in plan_costs_for_usage(
            months=[exact], utility=ref["cnp"], customer_type=ref["res"], channel="wizard"
        )
        if c.plan.code == "NIGHTS12"
    ]
    [c_total] = [
        c
        for c in plan_costs_for_usage(
            months=[total], utility=ref["cnp"], customer_type=ref["res"], channel="wizard"
        )
        if c.plan.code == "NIGHTS12"
    ]
    # CenterPoint here: $4.39 + 5.0¢/kWh. Exact: 0 energy + 995 + 439 + 3600 = 5034¢ a month
    assert c_exact.monthly_costs == (D("50.34"),)
    # Profile: 450 kWh by day * 19¢ = 8550¢ more: 13584¢
    assert c_total.monthly_costs == (D("135.84"),)
    assert (c_exact.interval_months, c_total.interval_months) == (1, 0)
    assert priced_from_text([exact, total]) == (
        "Months priced from 15-minute intervals: Jun 2026; from monthly totals: Jun 2026. "
        "Time-of-use plans are priced on monthly totals as their EFL assumes."
    )


def test_shopper_authorization_is_priced_on_monthly_totals(ref):
    auth = _manual_auth(ref)
    shopper = Client()
    session = shopper.session
    session[SESSION_KEY] = [str(auth.token)]
    session.save()
    draft = _to_products(shopper, "signup")
    html = shopper.get(
        reverse("enrollments:signup_page", args=[draft.token]), {"step": "products"}
    ).content.decode()
    assert "Months priced from monthly totals: Jan 2024" in html
    assert "from 15-minute intervals" not in html
