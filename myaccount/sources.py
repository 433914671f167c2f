"""The data My Account shows, from the usage and billing apps, with the portal's fallbacks.

A customer's page never fails because an outside system did: billing-system calls here
catch integration errors and answer ``None`` so the template can say "not available".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from billing.selectors import esg_account_balance
from enrollments.models import Enrollment, ServiceAccount
from myaccount.greenbutton import Reading
from opsadmin.errors import ApplicationError, IntegrationError
from usage import selectors as usage_selectors
from usage.models import CHICAGO, INTERVAL, Channel, IntervalDay

logger = logging.getLogger(__name__)

INTEGRATION_ERRORS = (IntegrationError, ApplicationError)


def usage_for_chart(**kwargs):
    return usage_selectors.usage_for_chart(**kwargs)


def usage_chart_stamp(*, service_account: ServiceAccount, start: date, end: date) -> str | None:
    return usage_selectors.usage_chart_stamp(service_account=service_account, start=start, end=end)


previous_range = usage_selectors.previous_range


def bills_for(*, service_account: ServiceAccount) -> list:
    return list(usage_selectors.bills_for(service_account=service_account))


def usage_available_range(*, service_account: ServiceAccount) -> tuple[date, date] | None:
    return usage_selectors.usage_available_range(service_account=service_account)


def billing_account_number(*, enrollment: Enrollment | None) -> str | None:
    """The ESG billing account number (stored, else fetched once); None when unavailable."""
    if enrollment is None:
        return None
    if enrollment.billing_account_number:
        return enrollment.billing_account_number
    from enrollments.billing_handlers import billing_account_number_get

    try:
        return billing_account_number_get(enrollment=enrollment) or None
    except INTEGRATION_ERRORS as exc:
        logger.warning(
            "myaccount.billing_account_number.unavailable",
            extra={"enrollment_id": enrollment.pk, "error": exc.__class__.__name__},
        )
        return None


@dataclass(frozen=True)
class Balance:
    balance: Decimal
    due_date: date | None


def account_balance(*, billing_account_number: str | None) -> Balance | None:
    if not billing_account_number:
        return None
    try:
        result = esg_account_balance(billing_account_number=billing_account_number)
    except INTEGRATION_ERRORS as exc:
        logger.warning("myaccount.balance.unavailable", extra={"error": exc.__class__.__name__})
        return None
    return Balance(balance=result.balance, due_date=result.due_date)


def green_button_readings(
    *, service_account: ServiceAccount, start: date, end: date
) -> dict[str, list[Reading]]:
    """Readings for the Green Button feed: SMT's 15-minute intervals when SMT is the source
    (the same rule as the charts), else one reading per bill period."""
    result = usage_for_chart(
        service_account=service_account, period="monthly", start=start, end=end
    )
    channels: dict[str, list[Reading]] = {"consumption": [], "generation": []}
    if result.source == "smt":
        rows = (
            IntervalDay.objects.filter(
                service_account_id=service_account.pk, day__gte=start, day__lte=end
            )
            .order_by("channel", "day")
            .values_list("channel", "day_start", "kwh", "flags")
        )
        for channel, day_start, values, flags in rows:
            target = channels["generation" if channel == Channel.GENERATION else "consumption"]
            for i, value in enumerate(values):
                if value is None:
                    continue
                target.append(
                    Reading(
                        start=day_start + i * INTERVAL,
                        seconds=900,
                        kwh=float(value),
                        estimated=i < len(flags) and flags[i] == "E",
                    )
                )
        return channels
    for bill in sorted(bills_for(service_account=service_account), key=lambda b: b.period_start):
        if bill.period_end < start or bill.period_start > end:
            continue
        begin = datetime(
            bill.period_start.year, bill.period_start.month, bill.period_start.day, tzinfo=CHICAGO
        )
        after = bill.period_end + timedelta(days=1)  # inclusive end: up to the next midnight
        finish = datetime(after.year, after.month, after.day, tzinfo=CHICAGO)
        # aware datetimes sharing one tzinfo subtract as wall clocks; a period across a DST
        # change is an hour shorter or longer than that, so measure in epoch seconds
        seconds = max(int(finish.timestamp() - begin.timestamp()), 86400)
        channels["consumption"].append(Reading(start=begin, seconds=seconds, kwh=float(bill.kwh)))
    return channels


def bill_projection(*, service_account: ServiceAccount, today: date, **known):
    """Bill to date and projection for the open cycle (SMT premises), or None. The page
    never fails because of it: a database error reading intervals is logged and skipped.
    ``known``: ``enrollment`` / ``smt_source`` the page already has (saves queries)."""
    from contextlib import nullcontext

    from django.db import DatabaseError, connection, transaction

    from usage.projection import bill_projection as project

    # a savepoint only inside a caller's transaction (as usage_for_chart does)
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            return project(service_account=service_account, today=today, **known)
    except DatabaseError:
        logger.exception(
            "myaccount.bill_projection_failed", extra={"service_account_id": service_account.pk}
        )
        return None


def bill_alert_for(*, service_account: ServiceAccount):
    from usage.models import BillAlert

    return BillAlert.objects.filter(service_account=service_account).first()
