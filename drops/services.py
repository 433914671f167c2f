"""Verbs of drops: create a cancel / move-out request, hold, release, cancel, follow billing.

Life of a drop request::

    HELD --(staff release | hold window ends)--> RELEASED --(billing acknowledges)--> SENT
      |                                             \\--(billing gives up)--> FAILED
      \\--(retention staff | the customer, if allowed)--> CANCELLED
    SENT --(billing reports the order completed, on its effective date)--> COMPLETED

With no hold window configured for the utility, the request is created RELEASED
("Released automatically"). RELEASED writes a billing outbox row (kind ``drop`` or
``move_out``) in the same transaction; the billing outbox sends it after commit.

The enrollment stays ACTIVE until the billing system reports the order completed (the
drop's effective date has come): then ACTIVE -> DROPPED / MOVED_OUT with its
``service_end_date``. Not at release, not at acknowledgement: until the effective date the
customer is still served (and billed), and the premise is still ours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext

from billing.models import BillingRequest
from billing.services import billing_request_create
from drops.models import DropCode, DropRequest
from drops.selectors import (
    drop_date_window,
    drop_option_visible,
    drop_request_customer_may_cancel,
    drop_settings_for,
    etf_for_enrollment,
    market_today,
    myaccount_drop_codes,
    open_drop_request,
)
from enrollments.models import Customer, Enrollment
from enrollments.services import enrollment_service_end
from opsadmin.errors import ApplicationError
from opsadmin.models import SystemSetup

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForwardingAddress:
    line1: str
    city: str
    state: str
    zip_code: str
    line2: str = ""

    @property
    def complete(self) -> bool:
        return bool(self.line1.strip() and self.city.strip() and self.zip_code.strip())


@dataclass(frozen=True)
class DropRequestResult:
    drop_request: DropRequest
    created: bool


def resolve_reason_code(*, utility, posted_code: str) -> DropCode | None:
    """The code to send for what the customer posted:
    no My Account codes -> None (anything posted is refused); one -> that code (anything
    else posted is refused); several -> the posted code, which must be one of them."""
    codes = myaccount_drop_codes(utility=utility)
    posted_code = (posted_code or "").strip()
    if not codes:
        if posted_code:
            raise ApplicationError(gettext("That reason is not available."), field="reason")
        return None
    if len(codes) == 1:
        only = codes[0]
        if posted_code and posted_code != only.code:
            raise ApplicationError(gettext("That reason is not available."), field="reason")
        return only
    by_code = {c.code: c for c in codes}
    if not posted_code:
        raise ApplicationError(gettext("Choose a reason."), field="reason")
    if posted_code not in by_code:
        raise ApplicationError(gettext("That reason is not available."), field="reason")
    return by_code[posted_code]


@transaction.atomic
def drop_request_create(
    *,
    customer: Customer,
    enrollment: Enrollment,
    kind: str,
    requested_date: date,
    reason_code: str = "",
    meter_removal: bool = False,
    forwarding_address: ForwardingAddress | None = None,
    actor=None,
    today: date | None = None,
) -> DropRequestResult:
    """Record a customer's cancel / move-out request and hold or release it.

    Idempotent per enrollment: while a request is open, asking again returns it
    (``created=False``) instead of making a second one (double submit).
    Raises ``ApplicationError`` (with ``field``) for anything the customer must correct.
    """
    if not drop_option_visible(customer=customer):
        raise ApplicationError(
            gettext("Cancel / Move Out is not available online for your account."),
            code="not_allowed",
        )
    # Lock the enrollment: two concurrent submits queue here, the second sees the first.
    enrollment = (
        Enrollment.objects.select_for_update()
        .select_related("service_account__utility", "plan")
        .get(pk=enrollment.pk)
    )
    if enrollment.customer_id != customer.pk or enrollment.service_account.customer_id != (
        customer.pk
    ):
        raise ApplicationError(gettext("No such account."), code="not_found")
    existing = open_drop_request(enrollment=enrollment)
    if existing is not None:
        return DropRequestResult(drop_request=existing, created=False)
    if enrollment.status != Enrollment.Status.ACTIVE:
        raise ApplicationError(
            gettext("Only an active account can be cancelled."), code="not_active"
        )
    if kind not in DropRequest.Kind.values:
        raise ApplicationError(gettext("Choose cancel or move out."), field="kind")

    today = today or market_today()
    earliest, latest = drop_date_window(today=today)
    if requested_date < earliest:
        raise ApplicationError(
            gettext("The earliest date you can choose is %(date)s.")
            % {"date": dateformat.format(earliest, gettext("m/d/Y"))},
            field="requested_date",
        )
    if requested_date > latest:
        raise ApplicationError(
            gettext("The latest date you can choose is %(date)s.")
            % {"date": dateformat.format(latest, gettext("m/d/Y"))},
            field="requested_date",
        )

    utility = enrollment.service_account.utility
    reason = resolve_reason_code(utility=utility, posted_code=reason_code)

    forwarding = forwarding_address if kind == DropRequest.Kind.MOVE_OUT else None
    if forwarding is not None and not forwarding.complete:
        forwarding = None
    quote = etf_for_enrollment(
        enrollment=enrollment,
        drop_date=requested_date,
        today=today,
        move_out_with_forwarding_address=forwarding is not None,
    )

    drop_settings = drop_settings_for(utility=utility)
    now = timezone.now()
    drop_request = DropRequest(
        customer=customer,
        service_account=enrollment.service_account,
        enrollment=enrollment,
        utility=utility,
        kind=kind,
        requested_date=requested_date,
        reason_code=reason.code if reason else "",
        # the reason as the code said it that day, in each language (staff read English)
        reason_description=reason.description if reason else "",
        reason_description_es=reason.description_es if reason else "",
        meter_removal=meter_removal,
        etf_amount=quote.amount,
        etf_waiver=quote.waiver,
        status=DropRequest.Status.HELD,
        hold_until=now + timedelta(hours=drop_settings.hold_hours)
        if drop_settings.hold_hours
        else None,
    )
    if forwarding is not None:
        drop_request.forwarding_address_line1 = forwarding.line1.strip()
        drop_request.forwarding_address_line2 = forwarding.line2.strip()
        drop_request.forwarding_city = forwarding.city.strip()
        drop_request.forwarding_state = forwarding.state.strip().upper()[:2]
        drop_request.forwarding_zip = forwarding.zip_code.strip()
    try:
        with transaction.atomic():
            drop_request.save()
    except IntegrityError:  # the partial unique index: a concurrent double submit won
        existing = open_drop_request(enrollment=enrollment)
        if existing is None:
            raise
        return DropRequestResult(drop_request=existing, created=False)

    if not drop_settings.hold_hours:
        drop_request = _release(drop_request, how=DropRequest.ReleasedBy.AUTO, actor=None)
    logger.info(
        "drop.requested",
        extra={
            "drop_request_id": drop_request.pk,
            "enrollment_id": enrollment.pk,
            "kind": kind,
            "held": drop_request.is_held,
        },
    )
    pk = drop_request.pk
    transaction.on_commit(lambda: _enqueue_confirmation(pk))
    return DropRequestResult(drop_request=drop_request, created=True)


def billing_payload(drop_request: DropRequest) -> dict:
    """What the billing system's drop / move-out endpoint receives (814_24 for a move-out)."""
    premise = drop_request.service_account
    enrollment = drop_request.enrollment
    payload = {
        "drop_request_id": drop_request.pk,
        "enrollment_id": enrollment.pk,
        "billing_account_number": enrollment.billing_account_number,
        "utility": drop_request.utility.code,
        "esiid": premise.esiid,
        "kind": drop_request.kind,
        "requested_date": drop_request.requested_date.isoformat(),
        "reason_code": drop_request.reason_code,
        "meter_removal": drop_request.meter_removal,
        "etf_amount": str(drop_request.etf_amount),
        "forwarding_address": None,
    }
    if drop_request.has_forwarding_address:
        payload["forwarding_address"] = {
            "line1": drop_request.forwarding_address_line1,
            "line2": drop_request.forwarding_address_line2,
            "city": drop_request.forwarding_city,
            "state": drop_request.forwarding_state,
            "zip": drop_request.forwarding_zip,
        }
    return payload


def _release(drop_request: DropRequest, *, how: str, actor) -> DropRequest:
    """HELD -> RELEASED and the billing outbox row, in the caller's transaction."""
    drop_request.status = DropRequest.Status.RELEASED
    drop_request.released_at = timezone.now()
    drop_request.released_how = how
    drop_request.released_by = actor if getattr(actor, "pk", None) else None
    kind = (
        BillingRequest.Kind.MOVE_OUT
        if drop_request.kind == DropRequest.Kind.MOVE_OUT
        else BillingRequest.Kind.DROP
    )
    outbox = billing_request_create(
        kind=kind,
        subject_type="drop_request",
        subject_id=drop_request.pk,
        utility_code=drop_request.utility.code,
        payload=billing_payload(drop_request),
        idempotency_key=f"{kind}:drop_request:{drop_request.pk}",
    )
    drop_request.billing_request_id = outbox.pk
    drop_request.save()
    logger.info(
        "drop.released",
        extra={"drop_request_id": drop_request.pk, "how": how, "billing_request_id": outbox.pk},
    )
    return drop_request


def _locked(drop_request: DropRequest) -> DropRequest:
    return (
        DropRequest.objects.select_for_update(of=("self",))
        .select_related("utility", "service_account", "enrollment")
        .get(pk=drop_request.pk)
    )


@transaction.atomic
def drop_request_release(*, drop_request: DropRequest, actor=None) -> DropRequest:
    """Retention staff release a held drop to billing before its hold ends."""
    locked = _locked(drop_request)
    if locked.status != DropRequest.Status.HELD:
        raise ApplicationError(
            f"This request is {locked.get_status_display().lower()}; only a held request can be "
            "released.",
            code="not_held",
        )
    return _release(locked, how=DropRequest.ReleasedBy.STAFF, actor=actor)


@transaction.atomic
def drop_request_cancel(
    *, drop_request: DropRequest, actor=None, by_customer: bool = False, now: datetime | None = None
) -> DropRequest:
    """Cancel a held drop: retention staff (permission checked by the view), or the customer
    themself when the utility allows it and the hold has not ended."""
    locked = _locked(drop_request)
    if locked.status != DropRequest.Status.HELD:
        raise ApplicationError(
            gettext(
                "This request has already gone to the billing system and can no longer be "
                "cancelled here."
            )
            if locked.status in (DropRequest.Status.RELEASED, DropRequest.Status.SENT)
            else gettext("This request is %(status)s.")
            % {"status": str(locked.get_status_display()).lower()},
            code="not_held",
        )
    if by_customer and not drop_request_customer_may_cancel(drop_request=locked, now=now):
        raise ApplicationError(
            gettext("This request can no longer be cancelled online."), code="not_allowed"
        )
    locked.status = DropRequest.Status.CANCELLED
    locked.cancelled_at = timezone.now()
    locked.cancelled_by = actor if getattr(actor, "pk", None) else None
    locked.save()
    logger.info("drop.cancelled", extra={"drop_request_id": locked.pk, "by_customer": by_customer})
    return locked


def drop_requests_release_expired(*, now: datetime | None = None) -> int:
    """Release every held drop whose hold window has ended (the periodic sweeper).

    Each request in its own transaction with SKIP LOCKED: two sweepers never release one
    request twice, and a staff action in progress is not waited on.
    """
    now = now or timezone.now()
    released = 0
    ids = list(
        DropRequest.objects.filter(
            status=DropRequest.Status.HELD, hold_until__isnull=False, hold_until__lte=now
        ).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        with transaction.atomic():
            locked = (
                DropRequest.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("utility", "service_account", "enrollment")
                .filter(pk=pk, status=DropRequest.Status.HELD)
                .first()
            )
            if locked is None:
                continue
            _release(locked, how=DropRequest.ReleasedBy.HOLD_EXPIRED, actor=None)
            released += 1
    return released


def drop_requests_sync_billing() -> int:
    """Follow released drops in the billing outbox: acknowledged -> SENT (the enrollment
    ends later, when the order takes effect); given up -> FAILED. Returns how many changed."""
    changed = 0
    released = DropRequest.objects.filter(
        status=DropRequest.Status.RELEASED, billing_request_id__isnull=False
    ).values_list("pk", "billing_request_id")[:500]
    states = dict(
        BillingRequest.objects.filter(
            pk__in=[b for _, b in released],
            state__in=[BillingRequest.State.SENT, BillingRequest.State.FAILED],
        ).values_list("pk", "state")
    )
    for pk, billing_id in released:
        state = states.get(billing_id) if billing_id is not None else None
        if state is None:
            continue
        if drop_request_billing_outcome(drop_request_id=pk, acknowledged=state == "sent"):
            changed += 1
    return changed


@transaction.atomic
def drop_request_billing_outcome(*, drop_request_id: int, acknowledged: bool) -> bool:
    """Record what the billing system did with a released drop. Idempotent.

    A failed drop that staff re-send from the billing exceptions queue and that is then
    acknowledged becomes SENT too.
    """
    expected = (
        [DropRequest.Status.RELEASED, DropRequest.Status.FAILED]
        if acknowledged
        else [DropRequest.Status.RELEASED]
    )
    locked = (
        DropRequest.objects.select_for_update(of=("self",))
        .select_related("enrollment")
        .filter(pk=drop_request_id, status__in=expected)
        .first()
    )
    if locked is None:
        return False
    if not acknowledged:
        billing = (
            BillingRequest.objects.filter(pk=locked.billing_request_id).first()
            if locked.billing_request_id
            else None
        )
        locked.status = DropRequest.Status.FAILED
        locked.last_error = (billing.last_error if billing else "")[:2000]
        locked.save()
        logger.warning("drop.billing_failed", extra={"drop_request_id": locked.pk})
        return True
    locked.status = DropRequest.Status.SENT
    locked.sent_at = timezone.now()
    locked.save()
    return True


@transaction.atomic
def drop_request_completed(*, drop_request_id: int, service_end_date: date) -> bool:
    """The billing system reports the drop / move-out effective: the request is COMPLETED and
    the enrollment ends (final) on ``service_end_date``. Idempotent."""
    locked = (
        DropRequest.objects.select_for_update(of=("self",))
        .select_related("enrollment")
        .filter(pk=drop_request_id, status=DropRequest.Status.SENT)
        .first()
    )
    if locked is None:
        return False
    locked.status = DropRequest.Status.COMPLETED
    locked.save(update_fields=["status", "updated_at"])
    if locked.enrollment.status == Enrollment.Status.ACTIVE:
        enrollment_service_end(
            enrollment=locked.enrollment,
            service_end_date=service_end_date,
            move_out=locked.kind == DropRequest.Kind.MOVE_OUT,
            source="billing-drop",
            note=f"Drop request {locked.pk} took effect; service ended "
            f"{service_end_date.isoformat()}.",
        )
    return True


def _enqueue_confirmation(drop_request_id: int) -> None:
    from drops.tasks import drop_confirmation_email_send

    drop_confirmation_email_send.delay(drop_request_id)


def drop_confirmation_email_send(*, drop_request_id: int) -> bool:
    """Email the customer the confirmation of their request (once the request exists)."""
    drop_request = (
        DropRequest.objects.select_related("customer", "service_account")
        .filter(pk=drop_request_id)
        .first()
    )
    if drop_request is None or not drop_request.customer.email:
        return False
    context = {
        "drop": drop_request,
        "show_etf": SystemSetup.load().show_etf_message_on_drops,
    }
    # In the customer's document language (PUCT Subst. R. 25.473).
    with translation.override(drop_request.customer.language or "en"):
        subject = (
            gettext("Your move-out request")
            if drop_request.kind == DropRequest.Kind.MOVE_OUT
            else gettext("Your cancellation request")
        )
        message = render_to_string("drops/email/confirmation.txt", context)
    send_mail(
        subject=subject,
        message=message,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[drop_request.customer.email],
    )
    logger.info("drop.confirmation_sent", extra={"drop_request_id": drop_request.pk})
    return True
