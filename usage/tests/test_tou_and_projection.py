"""Time-of-use plans priced on stored 15-minute intervals (DST days, holidays) and the bill
to date / projection, against figures computed by hand in the comments."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from enrollments.models import Plan, TduCharge, TouPeriod
from enrollments.pricing import months_cost_cents, price_structures, tou_holidays
from usage.models import intervals_in_day
from usage.projection import Cycle, bill_projection
from usage.selectors import pricing_usage_months
from usage.services import DayRow, intervals_ingest
from usage.tests.factories import premise, smt_on

pytestmark = pytest.mark.django_db
CHI = ZoneInfo("America/Chicago")
D = Decimal
QUARTER = D("0.25")  # every interval 0.25 kWh: 1 kWh in each local hour


def days(start: date, end: date):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def store(sa, start: date, end: date, value: Decimal = QUARTER) -> None:
    intervals_ingest(
        rows=[
            DayRow(
                service_account_id=sa.pk,
                channel="C",
                day=day,
                values=[value] * intervals_in_day(day),
                estimated=[False] * intervals_in_day(day),
                revised_at=datetime(2027, 1, 1, tzinfo=CHI),
            )
            for day in days(start, end)
        ]
    )


def cnp_tdu(sa) -> TduCharge:
    return TduCharge.objects.create(
        utility=sa.utility, monthly_charge=D("4.39"), per_kwh_cents=D("5.5")
    )


def tou_plan(code: str, energy: str, base: str, **period) -> Plan:
    plan = Plan.objects.create(
        code=code, name=code, term_months=12, energy_charge_cents=D(energy), base_fee=D(base)
    )
    TouPeriod.objects.create(plan=plan, **period)
    return plan


def price(sa, plan, month_start: date, month_end: date) -> tuple[Decimal, bool]:
    months = pricing_usage_months(service_account=sa, start=month_start, end=month_end)
    assert len(months) == 1
    tdu = TduCharge.objects.get(utility=sa.utility)
    [[cents]] = months_cost_cents(price_structures([plan], tdu), months)
    return cents, months[0].from_intervals


def test_free_nights_on_a_fall_back_month():
    sa = premise()
    cnp_tdu(sa)
    # November 2026: 30 days, Nov 1 is the fall-back day (25 local hours, 01:00 twice).
    store(sa, date(2026, 11, 1), date(2026, 11, 30))
    plan = tou_plan(
        "NIGHTS",
        "15.0",
        "9.95",
        name="Free nights",
        energy_charge_cents=D("0"),
        start_hour=21,
        end_hour=6,
    )
    cents, exact = price(sa, plan, date(2026, 11, 1), date(2026, 11, 30))
    # kWh: 30 * 24 + 1 = 721. Night hours 21..05 = 9 a day, Nov 1 has 10 (01:00 twice):
    # 30 * 9 + 1 = 271 free; 450 at 15¢ = 6750¢. Base 995¢, TDU 439¢ + 5.5 * 721 = 3965.5¢.
    assert exact is True
    assert cents == D("6750") + D("995") + D("439") + D("3965.5")  # 12149.5¢ = $121.50


def test_free_nights_on_a_spring_forward_month():
    sa = premise()
    cnp_tdu(sa)
    # March 2026: 31 days, Mar 8 springs forward (23 hours, no 02:00: a night hour).
    store(sa, date(2026, 3, 1), date(2026, 3, 31))
    plan = tou_plan(
        "NIGHTS",
        "15.0",
        "9.95",
        name="Free nights",
        energy_charge_cents=D("0"),
        start_hour=21,
        end_hour=6,
    )
    cents, exact = price(sa, plan, date(2026, 3, 1), date(2026, 3, 31))
    # kWh: 31 * 24 - 1 = 743; night 31 * 9 - 1 = 278; day 465 * 15 = 6975¢;
    # 995 + 439 + 5.5 * 743 = 4086.5¢.
    assert exact is True
    assert cents == D("6975") + D("995") + D("439") + D("4086.5")  # 12495.5¢


def test_free_weekends_with_a_holiday_and_the_fall_back_sunday():
    sa = premise()
    cnp_tdu(sa)
    store(sa, date(2026, 11, 1), date(2026, 11, 30))
    assert date(2026, 11, 26) in tou_holidays([2026])  # Thanksgiving, a Thursday
    plan = tou_plan(
        "WEEKENDS",
        "18.0",
        "0",
        name="Free weekends",
        energy_charge_cents=D("0"),
        start_hour=0,
        end_hour=0,
        days_of_week=[6, 7],
        on_holidays=True,
    )
    cents, _ = price(sa, plan, date(2026, 11, 1), date(2026, 11, 30))
    # Weekend days: Sundays 1, 8, 15, 22, 29 and Saturdays 7, 14, 21, 28 = 9, plus
    # Thanksgiving = 10 free days = 240 kWh + 1 (Nov 1 has 25 hours) = 241 free.
    # Paid: 721 - 241 = 480 * 18 = 8640¢; TDU 439 + 3965.5.
    assert cents == D("8640") + D("439") + D("3965.5")  # 13044.5¢


def test_incomplete_month_falls_back_to_its_bill_total():
    from usage.models import Bill

    sa = premise()
    cnp_tdu(sa)
    store(sa, date(2026, 11, 1), date(2026, 11, 29))  # Nov 30 missing
    Bill.objects.create(
        service_account=sa,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        kwh=D("720"),
        amount=D("100"),
    )
    plan = tou_plan(
        "NIGHTS",
        "15.0",
        "0",
        name="Free nights",
        energy_charge_cents=D("0"),
        start_hour=21,
        end_hour=6,
    )
    cents, exact = price(sa, plan, date(2026, 11, 1), date(2026, 11, 30))
    # The bill's 720 kWh on the EFL profile: 9/24 of every day free -> 450 kWh at 15¢.
    assert exact is False
    assert cents == D("6750") + D("439") + D("5.5") * 720


def _projection_premise():
    sa = premise()
    smt_on()
    cnp_tdu(sa)  # the factory plan FIX12: 12.5¢/kWh, no base fee
    return sa


JUNE = Cycle(date(2026, 6, 1), date(2026, 6, 30), "billing system")


def test_projection_from_a_known_half_cycle():
    sa = _projection_premise()
    store(sa, date(2026, 6, 1), date(2026, 6, 15))  # 24 kWh a day
    p = bill_projection(service_account=sa, today=date(2026, 6, 16), cycle=JUNE)
    assert p is not None
    assert (p.data_through, p.days_elapsed) == (date(2026, 6, 15), 15)
    # to date: 360 kWh * 12.5 = 4500¢ + 439 + 5.5 * 360 = 1980 -> 6919¢
    assert p.kwh_to_date == D("360")
    assert p.bill_to_date == D("69.19")
    # rest: 15 days at the last 14 days' 24 kWh a day = 360 -> 720 kWh:
    # 9000 + 439 + 3960 = 13399¢; no data a year back: no seasonal factor
    assert p.recent_daily_kwh == D("24.0")
    assert p.last_year_factor is None
    assert p.projected_kwh == D("720.0")
    assert p.projected_bill == D("133.99")
    assert any("not enough usage from the same period last year" in a for a in p.assumptions)


def test_projection_scaled_by_the_same_period_last_year():
    sa = _projection_premise()
    store(sa, date(2026, 6, 1), date(2026, 6, 15))
    # 52 weeks back: the recent window Jun 2-15 2026 is Jun 3-16 2025 (24 kWh a day); the
    # rest of the cycle Jun 16-30 2026 is Jun 17 - Jul 1 2025 at 36 kWh a day: factor 1.5.
    store(sa, date(2025, 6, 3), date(2025, 6, 16))
    store(sa, date(2025, 6, 17), date(2025, 7, 1), D("0.375"))
    p = bill_projection(service_account=sa, today=date(2026, 6, 16), cycle=JUNE)
    assert p is not None
    assert p.last_year_factor == D("1.50")
    # rest: 24 * 15 * 1.5 = 540 -> 900 kWh: 11250 + 439 + 4950 = 16639¢
    assert p.projected_kwh == D("900.0")
    assert p.projected_bill == D("166.39")
    assert p.bill_to_date == D("69.19")


def test_projection_of_a_free_nights_plan_follows_the_recent_shape():
    sa = _projection_premise()
    plan = tou_plan(
        "NIGHTS",
        "15.0",
        "0",
        name="Free nights",
        energy_charge_cents=D("0"),
        start_hour=21,
        end_hour=6,
    )
    sa.enrollments.update(plan=plan)
    store(sa, date(2026, 6, 1), date(2026, 6, 15))
    p = bill_projection(service_account=sa, today=date(2026, 6, 16), cycle=JUNE)
    assert p is not None
    # to date 360 kWh, 15/24 of it by day: 225 * 15 = 3375 + 439 + 1980 = 5794¢
    assert p.bill_to_date == D("57.94")
    # whole cycle 720 kWh, 450 by day: 6750 + 439 + 3960 = 11149¢
    assert p.projected_bill == D("111.49")


def test_no_projection_without_smt_or_without_data():
    sa = premise()
    cnp_tdu(sa)
    store(sa, date(2026, 6, 1), date(2026, 6, 15))
    assert bill_projection(service_account=sa, today=date(2026, 6, 16), cycle=JUNE) is None
    smt_on()
    july = Cycle(date(2026, 7, 1), date(2026, 7, 31), "billing system")
    assert bill_projection(service_account=sa, today=date(2026, 7, 2), cycle=july) is None
