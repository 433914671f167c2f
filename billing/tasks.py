"""Celery tasks of the billing outbox (thin: they call services)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="billing.request_send")
def billing_request_send(request_id: int) -> None:
    """Send one outbox row to the billing system (implemented by the billing issue)."""
    from billing import outbox

    outbox.send(request_id)
