"""Questions about drops: what a customer may drop, which codes apply, the ETF, the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from drops.models import ChangeOfTermsNotice, DropCode, DropRequest, DropSettings
from drops.rules import EtfQuote, drop_date_bounds, etf_quote
from enrollments.models import Customer, Enrollment
from enrollments.services import enrollment_rescission_deadline
from opsadmin import clock
from opsadmin.models import SystemSetup, Utility


def drop_option_visible(*, customer: Customer) -> bool:
    """Customer Types decides whether Cancel / Move Out is offered."""
    return customer.customer_type.drop_visible_in_myaccount


def customer_may_drop(*, customer: Customer) -> bool:
    """May this customer cancel / move out online: their Customer Type offers it and they
    have service to end (an active enrollment). The My Account menu asks this (registered as
    ``opsadmin.context_processors.PORTAL_OFFERS["drop"]``); the pages list the enrollments."""
    if not drop_option_visible(customer=customer):
        return False
    return customer.enrollments.filter(status=Enrollment.Status.ACTIVE).exists()


def drop_request_customer_may_cancel(
    *, drop_request: DropRequest, now: datetime | None = None
) -> bool:
    """May the customer cancel their own drop request? Only while it is held, before the hold
    ends, and where the utility's drop settings allow it (``drop_request_cancel`` asks this
    too)."""
    if drop_request.status != DropRequest.Status.HELD or drop_request.hold_until is None:
        return False
    if drop_request.hold_until <= (now or timezone.now()):
        return False
    return drop_settings_for(utility=drop_request.utility).customer_may_cancel_during_hold


def droppable_enrollments(*, customer: Customer) -> list[Enrollment]:
    """The customer's active enrollments (one per premise), with premise and utility."""
    return list(
        Enrollment.objects.filter(customer=customer, status=Enrollment.Status.ACTIVE)
        .select_related("service_account__utility", "plan")
        .order_by("service_account__address_line1", "pk")
    )


def drop_target_for_customer(*, customer: Customer, service_account_id: int) -> Enrollment:
    """The active enrollment on one of *this* customer's premises; anyone else's -> 404."""
    enrollment = (
        Enrollment.objects.filter(
            customer=customer,
            service_account__customer=customer,
            service_account_id=service_account_id,
            status=Enrollment.Status.ACTIVE,
        )
        .select_related("service_account__utility", "plan", "customer")
        .first()
    )
    if enrollment is None:
        raise Http404("No such account.")
    return enrollment


def drop_request_for_customer(*, customer: Customer, pk: int) -> DropRequest:
    request = (
        DropRequest.objects.filter(customer=customer, pk=pk)
        .select_related("service_account", "utility")
        .first()
    )
    if request is None:
        raise Http404("No such request.")
    return request


def open_drop_request(*, enrollment: Enrollment) -> DropRequest | None:
    return (
        DropRequest.objects.filter(enrollment=enrollment, status__in=DropRequest.OPEN_STATUSES)
        .order_by("-pk")
        .first()
    )


def myaccount_drop_codes(*, utility: Utility) -> list[DropCode]:
    """Codes a customer may send for this utility: active, outbound, offered in My Account."""
    return list(
        DropCode.objects.filter(
            utility=utility, active=True, outbound=True, available_in_myaccount=True
        ).order_by("description", "code")
    )


def drop_settings_for(*, utility: Utility) -> DropSettings:
    """The utility's drop settings (defaults, unsaved, when none are configured)."""
    found = DropSettings.objects.filter(utility=utility).first()
    return found or DropSettings(utility=utility)


market_today = clock.today  # the market day (one rule, opsadmin.clock)


def drop_date_window(*, today: date | None = None) -> tuple[date, date]:
    setup = SystemSetup.load()
    return drop_date_bounds(
        today=today or market_today(),
        days_in_advance=setup.drop_days_in_advance,
        max_days_ahead=setup.drop_max_days_ahead,
    )


def etf_for_enrollment(
    *,
    enrollment: Enrollment,
    drop_date: date,
    today: date | None = None,
    move_out_with_forwarding_address: bool = False,
) -> EtfQuote:
    """The ETF this enrollment would owe if it ended on ``drop_date``."""
    plan = enrollment.plan
    notices = ChangeOfTermsNotice.objects.filter(
        service_account_id=enrollment.service_account_id
    ).values_list("sent_on", flat=True)
    return etf_quote(
        etf_type=plan.etf_type,
        etf_amount=plan.etf_amount,
        contract_end=enrollment.contract_end_date,
        drop_date=drop_date,
        today=today or market_today(),
        rescission_deadline=enrollment_rescission_deadline(enrollment),
        change_of_terms_sent_on=list(notices),
        move_out_with_forwarding_address=move_out_with_forwarding_address,
    )


@dataclass(frozen=True)
class EtfNotice:
    """What the confirmation step tells the customer about the fee (None: say nothing)."""

    amount: str
    waivable_by_forwarding_address: bool


def etf_notice(*, enrollment: Enrollment, kind: str) -> EtfNotice | None:
    """The ETF notice for the confirmation message, or None when System Setup hides it or no
    fee is pending (quoted for the earliest drop date the customer can pick)."""
    if not SystemSetup.load().show_etf_message_on_drops:
        return None
    earliest, _ = drop_date_window()
    quote = etf_for_enrollment(enrollment=enrollment, drop_date=earliest)
    if not quote.applies:
        return None
    return EtfNotice(
        amount=f"{quote.amount:,.2f}",
        waivable_by_forwarding_address=kind == DropRequest.Kind.MOVE_OUT,
    )


def drop_queue(*, status: str = "") -> QuerySet[DropRequest]:
    """Staff drop queue, newest first."""
    qs = DropRequest.objects.select_related("customer", "utility", "service_account")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")
