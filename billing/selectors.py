"""Questions about the billing outbox."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from billing.models import BillingRequest


def billing_exceptions(*, kind: str = "", limit: int = 200) -> list[BillingRequest]:
    """Rows that need a person: failed (permanent error or out of attempts), oldest first."""
    qs = BillingRequest.objects.filter(state=BillingRequest.State.FAILED)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("updated_at", "pk")[:limit])


def billing_retrying(*, limit: int = 50) -> list[BillingRequest]:
    """Rows waiting for their next automatic attempt (the vendor is failing)."""
    return list(
        BillingRequest.objects.filter(state=BillingRequest.State.RETRYING).order_by(
            "next_attempt_at", "pk"
        )[:limit]
    )


def billing_requests_for(*, subject_type: str, subject_id: int) -> QuerySet[BillingRequest]:
    return BillingRequest.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by(
        "created_at", "pk"
    )


# A request still queued after this long is waiting (the workers are behind or stopped);
# one that failed once (retrying) or needs staff (failed) is waiting at once.
WAITING_AFTER = timedelta(seconds=60)


def billing_request_waiting(*, subject_type: str, subject_id: int) -> BillingRequest | None:
    """The oldest request about this subject the billing system has not acknowledged while it
    is failing, or that has been queued longer than ``WAITING_AFTER``; None when nothing
    waits (one query)."""
    stale = timezone.now() - WAITING_AFTER
    return (
        BillingRequest.objects.filter(subject_type=subject_type, subject_id=subject_id)
        .filter(
            Q(state__in=[BillingRequest.State.RETRYING, BillingRequest.State.FAILED])
            | Q(
                state__in=[BillingRequest.State.QUEUED, BillingRequest.State.SENDING],
                created_at__lt=stale,
            )
        )
        .order_by("created_at", "pk")
        .first()
    )
