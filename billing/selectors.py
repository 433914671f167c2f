"""Questions about the billing outbox."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
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


def billing_request_waiting_among(rows: list[BillingRequest]) -> BillingRequest | None:
    """The oldest of ``rows`` the billing system has not acknowledged while it is failing
    (retrying, or failed: staff must act), or that has been queued longer than
    ``WAITING_AFTER``; None when nothing waits. No query: for rows a page already loaded."""
    stale = timezone.now() - WAITING_AFTER
    waiting = [
        r
        for r in rows
        if r.state in (BillingRequest.State.RETRYING, BillingRequest.State.FAILED)
        or (
            r.state in (BillingRequest.State.QUEUED, BillingRequest.State.SENDING)
            and r.created_at < stale
        )
    ]
    return min(waiting, key=lambda r: (r.created_at, r.pk)) if waiting else None
