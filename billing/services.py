"""Verbs of the billing outbox."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from billing.models import BillingRequest


@transaction.atomic
def billing_request_create(
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    payload: dict,
    idempotency_key: str,
    utility_code: str = "",
) -> BillingRequest:
    """Write an outbox row in the caller's transaction; it is sent after commit.

    The same idempotency key returns the existing row (nothing is queued twice).
    """
    request, created = BillingRequest.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "kind": kind,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "payload": payload,
            "utility_code": utility_code,
            "next_attempt_at": timezone.now(),
        },
    )
    if created:
        transaction.on_commit(lambda: _enqueue(request.pk))
    return request


def _enqueue(request_id: int) -> None:
    from billing.tasks import billing_request_send

    billing_request_send.delay(request_id)
