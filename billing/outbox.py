"""Sending the outbox: one row at a time, claimed with a lease, retried with backoff.

Life of a row: ``queued`` -> (claimed) ``sending`` -> ``sent``; on a transient error
``retrying`` (``next_attempt_at`` = now + exponential backoff); on a permanent error, or
after ``MAX_ATTEMPTS``, ``failed`` (the staff Billing exceptions queue).

A claim commits ``sending`` with a lease in ``next_attempt_at`` before the HTTP call, so no
transaction stays open while the vendor thinks. If the worker dies mid-send, the lease runs
out and the sweeper hands the row to another worker; the idempotency key makes the second
send land on the same prospect. The result is written only if the claim is still ours
(same ``attempts``), so a late answer never overwrites a newer one.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing import registry
from billing.adapters.esg import EsgClient, shared_esg_client
from billing.models import BillingRequest
from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 3600
SENDABLE = (BillingRequest.State.QUEUED, BillingRequest.State.RETRYING)


def lease_seconds() -> int:
    """How long a claim holds a row: longer than the client's worst-case call."""
    return int(getattr(settings, "BILLING_SEND_LEASE_SECONDS", 60))


def backoff_seconds(attempts: int) -> int:
    """2, 4, 8, ... seconds after the n-th failed attempt, capped at an hour."""
    return min(BACKOFF_BASE_SECONDS ** max(attempts, 1), BACKOFF_MAX_SECONDS)


def _due(now) -> Q:
    # Queued/retrying rows that are due, and claims whose lease ran out (worker lost).
    return Q(state__in=SENDABLE, next_attempt_at__lte=now) | Q(
        state=BillingRequest.State.SENDING, next_attempt_at__lte=now
    )


def _claim(request_id: int) -> BillingRequest | None:
    now = timezone.now()
    with transaction.atomic():
        row = (
            BillingRequest.objects.select_for_update(skip_locked=True)
            .filter(_due(now) | Q(state__in=SENDABLE, next_attempt_at__isnull=True), pk=request_id)
            .first()
        )
        if row is None:
            return None
        row.state = BillingRequest.State.SENDING
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=lease_seconds())
        row.save(update_fields=["state", "attempts", "next_attempt_at", "updated_at"])
    return row


def _call(client: EsgClient, row: BillingRequest):
    if row.kind == BillingRequest.Kind.CREATE_PROSPECT:
        return client.create_prospect(row.payload, row.idempotency_key)
    if row.kind == BillingRequest.Kind.CANCEL:
        return client.submit_cancel(row.payload, row.idempotency_key)
    if row.kind in (BillingRequest.Kind.DROP, BillingRequest.Kind.MOVE_OUT):
        payload = {**row.payload, "kind": row.kind}
        return client.submit_drop(payload, row.idempotency_key)
    raise PermanentIntegrationError(f"Unknown billing request kind {row.kind!r}.")


def _ours(row: BillingRequest):
    return BillingRequest.objects.select_for_update().filter(
        pk=row.pk, state=BillingRequest.State.SENDING, attempts=row.attempts
    )


def send(request_id: int, *, client: EsgClient | None = None) -> str:
    """Send one outbox row if it is due and nobody else holds it. Returns what happened:
    ``skipped``, ``sent``, ``retrying`` or ``failed``. Never raises for vendor errors."""
    row = _claim(request_id)
    if row is None:
        return "skipped"
    try:
        if client is None:
            client = shared_esg_client()
        answer = _call(client, row)
    except TransientIntegrationError as exc:
        return _record_failure(row, exc, transient=True)
    except PermanentIntegrationError as exc:
        return _record_failure(row, exc, transient=False)
    return _record_success(row, answer)


@transaction.atomic
def _record_success(row: BillingRequest, answer) -> str:
    locked = _ours(row).first()
    if locked is None:  # our lease ran out and someone else took over; their answer stands
        return "skipped"
    now = timezone.now()
    locked.state = BillingRequest.State.SENT
    locked.sent_at = now
    locked.next_attempt_at = None
    locked.last_error = ""
    locked.response = asdict(answer)
    if locked.kind == BillingRequest.Kind.CREATE_PROSPECT:
        locked.prospect_id = answer.prospect_id
        locked.prospect_status = BillingRequest.ProspectStatus.PENDING
    locked.save()
    if locked.kind == BillingRequest.Kind.CREATE_PROSPECT:
        registry.dispatch(
            registry.PROSPECT_ACKNOWLEDGED,
            subject_type=locked.subject_type,
            subject_id=locked.subject_id,
            ack=answer,
        )
    else:
        registry.dispatch(
            registry.REQUEST_ACKNOWLEDGED,
            kind=locked.kind,
            subject_type=locked.subject_type,
            subject_id=locked.subject_id,
            response=locked.response,
        )
    logger.info(
        "billing.request_sent",
        extra={"request_id": locked.pk, "kind": locked.kind, "attempts": locked.attempts},
    )
    return "sent"


@transaction.atomic
def _record_failure(row: BillingRequest, exc: Exception, *, transient: bool) -> str:
    locked = _ours(row).first()
    if locked is None:
        return "skipped"
    locked.last_error = str(exc)[:2000]
    if transient and locked.attempts < MAX_ATTEMPTS:
        locked.state = BillingRequest.State.RETRYING
        locked.next_attempt_at = timezone.now() + timedelta(
            seconds=backoff_seconds(locked.attempts)
        )
    else:
        locked.state = BillingRequest.State.FAILED
        locked.next_attempt_at = None
    locked.save()
    logger.warning(
        "billing.request_failed",
        extra={
            "request_id": locked.pk,
            "kind": locked.kind,
            "attempts": locked.attempts,
            "state": locked.state,
            "error": locked.last_error,
        },
    )
    return str(locked.state)


def due_request_ids(*, limit: int = 500) -> list[int]:
    """Rows the sweeper should hand to a worker: due retries, and lost claims."""
    now = timezone.now()
    return list(
        BillingRequest.objects.filter(_due(now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
