"""Celery tasks of usage: thin wrappers that load rows and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError

logger = logging.getLogger(__name__)


@shared_task(
    name="usage.smt_pull",
    autoretry_for=(TransientIntegrationError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,  # idempotent: the upsert keeps the newest revision
    rate_limit=getattr(settings, "USAGE_SMT_RATE_LIMIT", "10/s"),
)
def smt_pull(service_account_id: int, full: bool = False) -> dict:
    """Pull one premise's SMT intervals (24 months the first time, recent days after)."""
    from enrollments.models import ServiceAccount
    from usage.adapters.smt import smt_client, smt_config
    from usage.services import smt_sync

    sa = ServiceAccount.objects.select_related("utility").filter(pk=service_account_id).first()
    if sa is None or smt_config() is None or not sa.utility.is_ercot:
        return {"skipped": True}
    from usage.services import smt_pull_window

    start, end = smt_pull_window(service_account=sa, full=full)
    try:
        with smt_client() as client:
            result = smt_sync(service_account=sa, client=client, start=start, end=end)
    except PermanentIntegrationError:
        logger.warning("usage.smt_pull_permanent_failure", extra={"service_account_id": sa.pk})
        return {"failed": True}
    return {
        "days": result.days_stored,
        "data_through": result.data_through.isoformat() if result.data_through else None,
    }


@shared_task(
    name="usage.bills_refresh",
    autoretry_for=(TransientIntegrationError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=5,
    acks_late=True,
)
def bills_refresh(service_account_id: int) -> dict:
    """Fetch the billing system's bill history for a premise and store it."""
    from enrollments.billing_handlers import billing_account_number_get
    from enrollments.models import Enrollment, ServiceAccount
    from usage.services import BillInput, bills_record_failure, bills_store

    sa = ServiceAccount.objects.filter(pk=service_account_id).first()
    if sa is None:
        return {"skipped": True}
    enrollment = (
        Enrollment.objects.select_related("service_account__utility")
        .filter(service_account=sa)
        .order_by("-pk")
        .first()
    )
    ban = billing_account_number_get(enrollment=enrollment) if enrollment else ""
    if not ban:
        bills_record_failure(service_account=sa, error="No billing account number yet.")
        return {"skipped": True}
    from billing.selectors import esg_bill_history

    try:
        records = esg_bill_history(billing_account_number=ban)
    except PermanentIntegrationError as exc:
        bills_record_failure(service_account=sa, error=str(exc))
        return {"failed": True}
    except TransientIntegrationError as exc:
        bills_record_failure(service_account=sa, error=str(exc))
        raise
    count = bills_store(
        service_account=sa,
        bills=[
            BillInput(
                period_start=r.period_start,
                period_end=r.period_end,
                kwh=r.kwh,
                amount=r.amount,
                due_date=r.due_date,
                paid=r.paid,
            )
            for r in records
        ],
    )
    return {"bills": count}


@shared_task(name="usage.smt_refresh_all")
def smt_refresh_all() -> dict:
    """Daily: queue a refresh of every active ERCOT premise, spread over a window so SMT
    sees a steady trickle (the pull task is also rate limited per worker)."""
    from usage.adapters.smt import smt_config
    from usage.selectors import active_smt_service_account_ids

    if smt_config() is None:
        return {"queued": 0}
    ids = active_smt_service_account_ids()
    window = getattr(settings, "USAGE_REFRESH_WINDOW_S", 45 * 60)
    # countdowns stay well under the Redis visibility timeout (1 h)
    spacing = min(1.0, window / max(len(ids), 1))
    for n, sa_id in enumerate(ids):
        smt_pull.apply_async((sa_id,), countdown=int(n * spacing))
    return {"queued": len(ids)}


@shared_task(name="usage.bill_alerts_send")
def bill_alerts_send() -> int:
    """Email customers whose projected bill passed their amount (once per cycle)."""
    from usage.services import bill_alerts_send as send

    return send()
