"""average_price_cents against hand-computed EFL averages; business-day rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from enrollments.dates import add_business_days, rescission_deadline, start_date_problem
from enrollments.models import Plan, PromoCode, TduCharge
from enrollments.pricing import average_price_cents, usage_tiers


def plan(**kw) -> Plan:
    defaults = {"energy_charge_cents": Decimal("12.9"), "base_fee": Decimal("9.95")}
    defaults.update(kw)
    return Plan(code="P", name="P", term_months=12, **defaults)


TDU = TduCharge(monthly_charge=Decimal("4.39"), per_kwh_cents=Decimal("5.5"))


@pytest.mark.parametrize(
    ("kwh", "expected"),
    [
        # 500 kWh: 12.9*500 = 6450¢ + base 995¢ + TDU 439¢ + 5.5*500 = 2750¢ -> 10634/500
        (500, Decimal("21.3")),  # 21.268
        # 1000: 12900 + 995 + 439 + 5500 = 19834 / 1000 = 19.834
        (1000, Decimal("19.8")),
        # 2000: 25800 + 995 + 439 + 11000 = 38234 / 2000 = 19.117
        (2000, Decimal("19.1")),
    ],
)
def test_average_price_energy_base_and_tdu(kwh, expected):
    assert average_price_cents(plan(), TDU, kwh) == expected


def test_bill_credit_at_threshold_makes_tiers_non_linear():
    p = plan(
        energy_charge_cents=Decimal("14.0"),
        base_fee=Decimal("0"),
        bill_credit=Decimal("100"),
        bill_credit_min_kwh=1000,
    )
    # 500: 7000 + 439 + 2750 = 10189 / 500 = 20.378 (no credit below 1000 kWh)
    assert average_price_cents(p, TDU, 500) == Decimal("20.4")
    # 1000: 14000 + 439 + 5500 - 10000 = 9939 / 1000 = 9.939
    assert average_price_cents(p, TDU, 1000) == Decimal("9.9")
    # 2000: 28000 + 439 + 11000 - 10000 = 29439 / 2000 = 14.7195
    assert average_price_cents(p, TDU, 2000) == Decimal("14.7")


def test_without_tdu_and_with_promo():
    # 1000 kWh, no TDU on file: (12.9*1000 + 995) / 1000 = 13.895 -> 13.9
    assert average_price_cents(plan(), None, 1000) == Decimal("13.9")
    cents_off = PromoCode(benefit="cents_off", amount=Decimal("1.5"))
    # (11.4*1000 + 995 + 439 + 5500) / 1000 = 18.334
    assert average_price_cents(plan(), TDU, 1000, promo=cents_off) == Decimal("18.3")
    credit = PromoCode(benefit="bill_credit", amount=Decimal("50"))
    # (6450 + 995 + 439 + 2750 - 5000) / 500 = 11.268
    assert average_price_cents(plan(), TDU, 500, promo=credit) == Decimal("11.3")


def test_rounding_half_up_to_a_tenth():
    # 1000 kWh: 10.05*1000 + 0 = 10050 / 1000 = 10.05 -> 10.1 (half up, not banker's 10.0)
    p = plan(energy_charge_cents=Decimal("10.05"), base_fee=Decimal("0"))
    assert average_price_cents(p, None, 1000) == Decimal("10.1")


def test_zero_usage_is_refused():
    with pytest.raises(ValueError):
        average_price_cents(plan(), TDU, 0)


@pytest.mark.django_db
def test_texas_tiers_come_from_system_setup():
    assert usage_tiers("TX") == [500, 1000, 2000]
    assert usage_tiers("ZZ") == [500, 1000, 2000]


def test_business_days_skip_weekends_and_federal_holidays():
    # Wed 2026-11-25 + 3 business days: Thu 26 is Thanksgiving, Fri 27, Mon 30, Tue Dec 1.
    assert add_business_days(date(2026, 11, 25), 3) == date(2026, 12, 1)
    # Fri 2026-07-03 is the observed Independence Day; Thu Jul 2 + 1 -> Mon Jul 6
    assert add_business_days(date(2026, 7, 2), 1) == date(2026, 7, 6)
    assert rescission_deadline(date(2026, 12, 23)) == date(2026, 12, 29)  # Dec 25 holiday


def test_start_date_rules():
    today = date(2026, 11, 25)
    assert start_date_problem(date(2026, 12, 1), "switch", today=today) is None
    assert start_date_problem(date(2026, 11, 30), "switch", today=today) == (
        "The earliest start date for a switch is 12/01/2026."
    )
    assert start_date_problem(date(2026, 11, 27), "move_in", today=today) is None
    assert start_date_problem(date(2026, 12, 5), "move_in", today=today) == (
        "Choose a business day (not a weekend or federal holiday)."
    )
    assert start_date_problem(date(2027, 3, 1), "switch", today=today) == (
        "Choose a date within 90 days."
    )
