from __future__ import annotations

from datetime import date
from decimal import Decimal

from drops.rules import (
    Waiver,
    drop_date_bounds,
    etf_quote,
    remaining_months,
)
from enrollments.dates import add_business_days, rescission_deadline

TODAY = date(2025, 3, 3)  # a Monday


def quote(**kwargs):
    base = {
        "etf_type": "flat",
        "etf_amount": Decimal("150"),
        "contract_end": date(2025, 12, 31),
        "drop_date": date(2025, 3, 10),
        "today": TODAY,
        "rescission_deadline": rescission_deadline(date(2024, 12, 1)),
    }
    base.update(kwargs)
    return etf_quote(**base)


def test_flat_etf_charged():
    q = quote()
    assert (q.plan_fee, q.amount, q.waiver, q.applies) == (
        Decimal("150.00"),
        Decimal("150.00"),
        "",
        True,
    )


def test_per_month_etf_counts_started_months():
    # 2025-03-10 -> 2025-12-31: 9 whole months and a started one = 10
    q = quote(etf_type="per_month", etf_amount=Decimal("15"))
    assert q.amount == Decimal("150.00")
    assert remaining_months(drop_date=date(2025, 3, 10), contract_end=date(2025, 5, 10)) == 2
    assert remaining_months(drop_date=date(2025, 3, 10), contract_end=date(2025, 5, 11)) == 3
    assert remaining_months(drop_date=date(2025, 3, 10), contract_end=date(2025, 3, 11)) == 1
    assert remaining_months(drop_date=date(2025, 3, 10), contract_end=date(2025, 3, 10)) == 0


def test_no_etf_plan_and_no_contract_end():
    assert quote(etf_type="none").waiver == Waiver.NO_ETF
    assert quote(etf_amount=Decimal("0")).amount == Decimal("0.00")
    q = quote(contract_end=None)
    assert (q.amount, q.waiver) == (Decimal("0.00"), Waiver.NO_CONTRACT_END)


def test_waived_in_last_14_days_of_contract():
    q = quote(contract_end=date(2025, 3, 24), drop_date=date(2025, 3, 10))  # 14 days left
    assert (q.amount, q.waiver, q.plan_fee) == (
        Decimal("0.00"),
        Waiver.LAST_14_DAYS,
        Decimal("150.00"),
    )
    q = quote(contract_end=date(2025, 3, 25), drop_date=date(2025, 3, 10))  # 15 days left
    assert q.amount == Decimal("150.00")


def test_waived_within_14_days_after_change_of_terms():
    assert quote(change_of_terms_sent_on=[date(2025, 2, 17)]).waiver == Waiver.CHANGE_OF_TERMS
    # 15 days after: charged again
    assert quote(change_of_terms_sent_on=[date(2025, 2, 16)]).amount == Decimal("150.00")


def test_waived_within_rescission_three_federal_business_days():
    # Submitted Thu 2025-01-16; Mon 01-20 is MLK day: Fri 17, Tue 21, Wed 22 -> ends 01-22
    assert rescission_deadline(date(2025, 1, 16)) == date(2025, 1, 22)
    assert add_business_days(date(2025, 2, 28), 3) == date(2025, 3, 5)
    inside = quote(
        rescission_deadline=rescission_deadline(date(2025, 2, 28)), today=date(2025, 3, 5)
    )
    assert inside.waiver == Waiver.RESCISSION
    outside = quote(
        rescission_deadline=rescission_deadline(date(2025, 2, 28)), today=date(2025, 3, 6)
    )
    assert outside.amount == Decimal("150.00")


def test_move_out_with_forwarding_address_waives():
    q = quote(move_out_with_forwarding_address=True)
    assert (q.amount, q.waiver) == (Decimal("0.00"), Waiver.MOVE_OUT_FORWARDING)


def test_drop_after_contract_end_owes_nothing():
    q = quote(contract_end=date(2025, 3, 1))
    assert (q.amount, q.waiver) == (Decimal("0.00"), Waiver.CONTRACT_ENDED)


def test_drop_date_bounds():
    assert drop_date_bounds(today=TODAY, days_in_advance=3, max_days_ahead=90) == (
        date(2025, 3, 6),
        date(2025, 6, 1),
    )
    # max never before the earliest
    assert drop_date_bounds(today=TODAY, days_in_advance=10, max_days_ahead=5) == (
        date(2025, 3, 13),
        date(2025, 3, 13),
    )
