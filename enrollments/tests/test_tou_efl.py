"""The one pricing model: tiers, bill credits at thresholds, time-of-use periods, and the
EFL averages of a time-of-use plan under the stated profile (hand-computed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from enrollments.models import Plan, PlanBillCredit, PlanEnergyTier, TduCharge, TouPeriod
from enrollments.pricing import (
    TOU_EFL_ASSUMPTION,
    UsageMonth,
    average_price_cents,
    cost_cents,
    price_structure,
    price_structures,
    usage_month_cost_cents,
)

pytestmark = pytest.mark.django_db
D = Decimal
TDU = TduCharge(monthly_charge=D("4.39"), per_kwh_cents=D("5.5"))


def make(code="P", energy="15.0", base="9.95") -> Plan:
    return Plan.objects.create(
        code=code, name=code, term_months=12, energy_charge_cents=D(energy), base_fee=D(base)
    )


@pytest.mark.parametrize(
    ("kwh", "expected"),
    [
        # Free nights 21:00-06:00 = 9 of 24 hours every day, so the profile puts 9/24 of the
        # month at 0¢ and 15/24 at 15¢. 500 kWh: 312.5 * 15 = 4687.5 + 995 + 439 + 2750
        # = 8871.5 / 500 = 17.743
        (500, D("17.7")),
        # 1000: 9375 + 995 + 439 + 5500 = 16309 / 1000 = 16.309
        (1000, D("16.3")),
        # 2000: 18750 + 995 + 439 + 11000 = 31184 / 2000 = 15.592
        (2000, D("15.6")),
    ],
)
def test_efl_averages_of_a_free_nights_plan_follow_the_stated_profile(kwh, expected):
    plan = make()
    TouPeriod.objects.create(
        plan=plan, name="Free nights", energy_charge_cents=D("0"), start_hour=21, end_hour=6
    )
    assert average_price_cents(plan, TDU, kwh) == expected
    assert "1/168" in TOU_EFL_ASSUMPTION


def test_efl_average_of_a_free_weekends_plan():
    plan = make(energy="18.0", base="0")
    TouPeriod.objects.create(
        plan=plan,
        name="Free weekends",
        energy_charge_cents=D("0"),
        start_hour=0,
        end_hour=0,
        days_of_week=[6, 7],
        on_holidays=True,
    )
    # 48 of 168 hours free: 1000 kWh -> 1000 * 120/168 * 18 = 12857.142857...¢
    # + 439 + 5500 = 18796.142857 / 1000 = 18.796 -> 18.8 (holidays not in the profile)
    assert average_price_cents(plan, TDU, 1000) == D("18.8")


def test_overlapping_periods_first_by_sort_order_wins():
    plan = make(energy="20.0", base="0")
    TouPeriod.objects.create(
        plan=plan,
        name="Peak",
        energy_charge_cents=D("30"),
        start_hour=14,
        end_hour=20,
        sort_order=1,
    )
    TouPeriod.objects.create(
        plan=plan,
        name="Weekend",
        energy_charge_cents=D("5"),
        start_hour=0,
        end_hour=0,
        days_of_week=[6, 7],
        sort_order=0,
    )
    s = price_structure(plan, None)
    # hour-of-week cells: peak = 6 hours * 5 weekdays = 30; weekend = 48; rest 90 at 20¢
    assert s.profile_shares == (D(48) / 168, D(30) / 168)
    cells = {(1, 15, False): D("10"), (6, 15, False): D("10"), (3, 3, False): D("10")}
    month = UsageMonth(date(2026, 1, 1), D("30"), cells)
    # Monday 15:00 peak 10 * 30, Saturday 15:00 weekend 10 * 5, Wednesday 03:00 10 * 20
    assert usage_month_cost_cents(s, month) == D("300") + D("50") + D("200")


def test_energy_tiers_and_bill_credit_ranges():
    plan = make(energy="12.0", base="5.00")
    PlanEnergyTier.objects.create(plan=plan, above_kwh=1000, energy_charge_cents=D("9.0"))
    PlanBillCredit.objects.create(plan=plan, min_kwh=1000, max_kwh=1999, amount=D("50"))
    PlanBillCredit.objects.create(plan=plan, min_kwh=2000, amount=D("25"))
    [s] = price_structures([plan], TDU)
    # 800: 9600 + 500 + 439 + 4400 = 14939 (no credit)
    assert cost_cents(s, kwh=D("800")) == D("14939")
    # 1500: 12000 + 500 * 9 = 4500 -> 16500 + 500 + 439 + 8250 - 5000 = 20689
    assert cost_cents(s, kwh=D("1500")) == D("20689")
    # 2000: 12000 + 9000 + 500 + 439 + 11000 - 2500 (the $50 stops at 1,999) = 30439
    assert cost_cents(s, kwh=D("2000")) == D("30439")
    # EFL 1000 kWh: 12000 + 500 + 439 + 5500 - 5000 = 13439 / 1000 = 13.439
    assert average_price_cents(plan, TDU, 1000) == D("13.4")


def test_many_plans_price_rows_in_one_query(django_assert_num_queries):
    plans = [make(code=f"P{i}") for i in range(5)]
    for plan in plans[:3]:
        TouPeriod.objects.create(
            plan=plan, name="Nights", energy_charge_cents=D("0"), start_hour=22, end_hour=6
        )
        PlanEnergyTier.objects.create(plan=plan, above_kwh=500, energy_charge_cents=D("10"))
    with django_assert_num_queries(1):
        structures = price_structures(plans, TDU)
    assert [s.is_tou for s in structures] == [True, True, True, False, False]
    assert all(len(s.tiers) == 1 for s in structures[:3])


def _plan_post(plan, **sections) -> dict:
    data = {
        "code": plan.code,
        "name": plan.name,
        "is_web_plan": "on",
        "customer_types": [c.pk for c in plan.customer_types.all()],
        "utilities": [u.pk for u in plan.utilities.all()],
        "rate_type": plan.rate_type,
        "term_months": plan.term_months,
        "energy_charge_cents": plan.energy_charge_cents,
        "base_fee": plan.base_fee,
        "etf_type": plan.etf_type,
        "etf_amount": plan.etf_amount,
        "bill_credit": "0",
        "active": "on",
    }
    for prefix, rows in sections.items():
        data[f"{prefix}-TOTAL_FORMS"] = len(rows)
        data[f"{prefix}-INITIAL_FORMS"] = 0
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = value
    return data


def test_ops_add_a_free_nights_period_in_the_catalogue(client, ops, agent, catalogue):
    from django.urls import reverse
    from django.utils.html import escape

    plan = Plan.objects.get(code="SAVER12")  # 12.9¢ + $9.95; CenterPoint 21.3/19.8/19.1
    url = reverse("enrollments:catalogue_edit", args=["plans", plan.pk])
    night = {
        "name": "Free nights",
        "energy_charge_cents": "0",
        "start_hour": "21",
        "end_hour": "6",
        "days_of_week": ["1", "2", "3", "4", "5", "6", "7"],
        "sort_order": "0",
    }
    client.force_login(agent)  # agents view the catalogue, they do not change it
    assert client.post(url, _plan_post(plan, tou=[night])).status_code == 403
    assert not TouPeriod.objects.exists()
    client.force_login(ops)
    bad = client.post(url, _plan_post(plan, tou=[{**night, "end_hour": "25"}]))
    assert bad.status_code == 422
    assert not TouPeriod.objects.exists()
    resp = client.post(
        url,
        _plan_post(
            plan,
            tou=[night],
            credits=[{"min_kwh": "1000", "max_kwh": "999", "amount": "30"}],
        ),
    )
    assert resp.status_code == 422
    assert "Up to must be at least From." in resp.content.decode()
    ok = client.post(url, _plan_post(plan, tou=[night]))
    assert ok.status_code == 302
    period = TouPeriod.objects.get(plan=plan)
    assert (period.start_hour, period.end_hour, period.days_of_week) == (
        21,
        6,
        [1, 2, 3, 4, 5, 6, 7],
    )
    body = client.get(url).content.decode()
    # 1000 kWh: 12.9 * 625 = 8062.5 + 995 + 439 + 5500 = 14996.5 / 1000 = 14.9965 -> 15.0
    assert "15.0¢" in body
    assert escape(str(TOU_EFL_ASSUMPTION)) in body
    # a POST without the price sections leaves the period in place
    assert client.post(url, _plan_post(plan)).status_code == 302
    assert TouPeriod.objects.filter(plan=plan).count() == 1
