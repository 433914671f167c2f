"""Pure market rules for drops: the early termination fee, rescission, the drop date window.

No database here: every input is passed in, so each rule is tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

ZERO = Decimal("0.00")
# PUCT 25.475: no ETF in the last 14 days of the contract, nor within 14 days after a
# change-in-terms notice.
LAST_DAYS_WITHOUT_ETF = 14
CHANGE_OF_TERMS_DAYS = 14
# Rescission: 3 federal business days (PUCT Subst. R. §25.474; one rule: ``enrollments.dates``).


class Waiver:
    """Why an ETF that the plan carries is not charged (codes stored on the request)."""

    NO_ETF = "no_etf"
    NO_CONTRACT_END = "no_contract_end"
    CONTRACT_ENDED = "contract_ended"
    LAST_14_DAYS = "last_14_days"
    CHANGE_OF_TERMS = "change_of_terms"
    RESCISSION = "rescission"
    MOVE_OUT_FORWARDING = "move_out_forwarding"

    LABELS = {
        NO_ETF: "The plan has no early termination fee.",
        NO_CONTRACT_END: "The plan has no contract end date.",
        CONTRACT_ENDED: "The contract has ended.",
        LAST_14_DAYS: "No fee in the last 14 days of the contract.",
        CHANGE_OF_TERMS: "No fee within 14 days after a change-of-terms notice.",
        RESCISSION: "No fee within the rescission period.",
        MOVE_OUT_FORWARDING: "No fee when you move out and give a forwarding address.",
    }


@dataclass(frozen=True)
class EtfQuote:
    """The ETF for one drop: ``plan_fee`` before waivers, ``amount`` charged, ``waiver`` why
    not (a :class:`Waiver` code, "" when charged)."""

    plan_fee: Decimal
    amount: Decimal
    waiver: str = ""

    @property
    def applies(self) -> bool:
        return self.amount > 0


def remaining_months(*, drop_date: date, contract_end: date) -> int:
    """Whole months from the drop date to the contract end; a started month counts as one."""
    if drop_date >= contract_end:
        return 0
    months = (contract_end.year - drop_date.year) * 12 + (contract_end.month - drop_date.month)
    if contract_end.day > drop_date.day:
        months += 1
    return max(months, 1)


def etf_quote(
    *,
    etf_type: str,
    etf_amount: Decimal,
    contract_end: date | None,
    drop_date: date,
    today: date,
    rescission_deadline: date | None = None,
    change_of_terms_sent_on: Iterable[date] = (),
    move_out_with_forwarding_address: bool = False,
) -> EtfQuote:
    """The early termination fee for dropping on ``drop_date``, asked on ``today``.

    Amount: ``flat`` -> ``etf_amount``; ``per_month`` -> ``etf_amount`` x months left from the
    drop date to the contract end (a started month counts); ``none`` -> 0.
    Waived (PUCT Subst. R. §25.475), first matching reason wins:
    within rescission (``today`` <= the enrollment's rescission deadline, from
    ``enrollments.services.enrollment_rescission_deadline``); within 14
    days after a change-of-terms notice; a move-out with a forwarding address
    (25.475(c)(2)(C)); a drop date in the last 14 days of the contract.
    """
    if etf_type == "none" or etf_amount <= 0:
        return EtfQuote(plan_fee=ZERO, amount=ZERO, waiver=Waiver.NO_ETF)
    if contract_end is None:
        return EtfQuote(plan_fee=ZERO, amount=ZERO, waiver=Waiver.NO_CONTRACT_END)
    if drop_date >= contract_end:
        return EtfQuote(plan_fee=ZERO, amount=ZERO, waiver=Waiver.CONTRACT_ENDED)
    if etf_type == "per_month":
        fee = etf_amount * remaining_months(drop_date=drop_date, contract_end=contract_end)
    else:
        fee = etf_amount
    fee = fee.quantize(Decimal("0.01"))

    def waived(reason: str) -> EtfQuote:
        return EtfQuote(plan_fee=fee, amount=ZERO, waiver=reason)

    if rescission_deadline is not None and today <= rescission_deadline:
        return waived(Waiver.RESCISSION)
    for sent_on in change_of_terms_sent_on:
        if sent_on <= today <= sent_on + timedelta(days=CHANGE_OF_TERMS_DAYS):
            return waived(Waiver.CHANGE_OF_TERMS)
    if move_out_with_forwarding_address:
        return waived(Waiver.MOVE_OUT_FORWARDING)
    if (contract_end - drop_date).days <= LAST_DAYS_WITHOUT_ETF:
        return waived(Waiver.LAST_14_DAYS)
    return EtfQuote(plan_fee=fee, amount=fee)


def drop_date_bounds(
    *, today: date, days_in_advance: int, max_days_ahead: int
) -> tuple[date, date]:
    """Earliest and latest date a customer may choose (System Setup)."""
    earliest = today + timedelta(days=days_in_advance)
    latest = today + timedelta(days=max(max_days_ahead, days_in_advance))
    return earliest, latest
