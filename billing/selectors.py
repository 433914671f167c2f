"""Questions about the billing outbox."""

from __future__ import annotations

from django.db.models import QuerySet

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
