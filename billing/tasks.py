"""Celery tasks of the billing outbox (thin: they call services)."""

from __future__ import annotations

from celery import shared_task


# acks_late: a send is idempotent (row state + the vendor's idempotency key), so a message
# redelivered after a lost worker is harmless.
@shared_task(name="billing.requests_send", acks_late=True, ignore_result=True)
def billing_requests_send(request_ids: list[int]) -> dict[str, int]:
    """Send a batch of outbox rows (those still due) to the billing system, concurrently."""
    from billing import outbox

    results = outbox.send_batch(ids=request_ids)
    counts: dict[str, int] = {}
    for outcome in results.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@shared_task(name="billing.request_send", acks_late=True, ignore_result=True)
def billing_request_send(request_id: int) -> str:
    """Send one outbox row to the billing system (kept for messages already queued)."""
    from billing import outbox

    return outbox.send(request_id)


@shared_task(name="billing.outbox_sweep")
def billing_outbox_sweep() -> int:
    """Enqueue every due row, in batches: retries whose backoff ran out, and rows whose task
    was lost."""
    from billing import outbox

    return outbox.OUTBOX.sweep()


@shared_task(name="billing.prospect_status_poll")
def billing_prospect_status_poll() -> dict:
    """Ask the billing system about prospects not yet final (pending, or accepted and near
    their start date); report accepted / service started / rejected."""
    from billing.services import prospect_statuses_poll

    return prospect_statuses_poll()


@shared_task(name="billing.service_orders_poll")
def billing_service_orders_poll() -> dict:
    """Follow acknowledged drops / move-outs until they take effect; report completions."""
    from billing.services import service_orders_poll

    return service_orders_poll()
