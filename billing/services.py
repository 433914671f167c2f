"""Verbs of the billing outbox."""

from __future__ import annotations

import logging
from dataclasses import asdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing import registry
from billing.adapters.esg import EsgClient, ProspectStatus, esg_client
from billing.models import BillingRequest
from opsadmin.errors import ApplicationError, PermanentIntegrationError, TransientIntegrationError

logger = logging.getLogger(__name__)


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


@transaction.atomic
def billing_request_retry(*, request: BillingRequest) -> BillingRequest:
    """Staff asked to try a failed (or retrying) row again now: queue it and send it."""
    locked = BillingRequest.objects.select_for_update().get(pk=request.pk)
    if locked.state not in (BillingRequest.State.FAILED, BillingRequest.State.RETRYING):
        raise ApplicationError(
            f"Only failed or retrying requests can be retried (this one is "
            f"{locked.get_state_display().lower()}).",
            code="not_retryable",
        )
    locked.state = BillingRequest.State.QUEUED
    locked.next_attempt_at = timezone.now()
    locked.save(update_fields=["state", "next_attempt_at", "updated_at"])
    transaction.on_commit(lambda: _enqueue(locked.pk))
    logger.info("billing.request_retry", extra={"request_id": locked.pk})
    return locked


def prospect_statuses_poll(*, limit: int = 200, client: EsgClient | None = None) -> dict:
    """Ask the billing system for prospects still pending (least recently checked first);
    record accepted/rejected and tell the registered handlers.

    Stops at the first transient error (the vendor is down: the next poll tries again).
    """
    rows = list(
        BillingRequest.objects.filter(
            kind=BillingRequest.Kind.CREATE_PROSPECT,
            state=BillingRequest.State.SENT,
            prospect_status=BillingRequest.ProspectStatus.PENDING,
        )
        .exclude(prospect_id="")
        .order_by(F("status_checked_at").asc(nulls_first=True), "pk")[:limit]
    )
    counts = {"checked": 0, "accepted": 0, "rejected": 0, "pending": 0, "errors": 0}
    if not rows:
        return counts
    own_client = client is None
    esg: EsgClient = esg_client() if client is None else client
    try:
        for row in rows:
            try:
                status = esg.prospect_status(row.prospect_id)
            except TransientIntegrationError as exc:
                counts["errors"] += 1
                logger.warning("billing.status_poll_unavailable", extra={"error": str(exc)})
                break
            except PermanentIntegrationError as exc:
                counts["errors"] += 1
                logger.warning(
                    "billing.status_poll_failed",
                    extra={"request_id": row.pk, "error": str(exc)},
                )
                BillingRequest.objects.filter(pk=row.pk).update(
                    status_checked_at=timezone.now(), last_error=str(exc)[:2000]
                )
                continue
            counts["checked"] += 1
            counts[status.status] += 1
            prospect_status_record(request_id=row.pk, status=status)
    finally:
        if own_client:
            esg.close()
    return counts


@transaction.atomic
def prospect_status_record(*, request_id: int, status: ProspectStatus) -> None:
    """Record one status answer; on a final one (accepted/rejected) call the handlers in the
    same transaction, so the enrollment and the outbox row never disagree."""
    row = BillingRequest.objects.select_for_update().get(pk=request_id)
    row.status_checked_at = timezone.now()
    if (
        row.prospect_status == BillingRequest.ProspectStatus.PENDING
        and status.status != BillingRequest.ProspectStatus.PENDING
    ):
        row.prospect_status = status.status
        row.response = {**(row.response or {}), "final_status": asdict(status)}
        row.save()
        registry.dispatch(
            registry.PROSPECT_STATUS,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            status=status,
        )
        logger.info(
            "billing.prospect_status",
            extra={"request_id": row.pk, "status": status.status},
        )
    else:
        row.save(update_fields=["status_checked_at", "updated_at"])
