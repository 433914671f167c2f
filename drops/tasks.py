"""Celery tasks of drops (thin: they call services)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="drops.release_expired_holds")
def drops_release_expired_holds() -> dict:
    """Periodic: release held drops whose hold window ended, then follow released drops in
    the billing outbox (acknowledged -> enrollment dropped / moved out)."""
    from drops.services import drop_requests_release_expired, drop_requests_sync_billing

    released = drop_requests_release_expired()
    synced = drop_requests_sync_billing()
    return {"released": released, "synced": synced}


@shared_task(name="drops.confirmation_email_send", acks_late=True)
def drop_confirmation_email_send(drop_request_id: int) -> bool:
    """Email the customer the confirmation of their cancel / move-out request."""
    from drops.services import drop_confirmation_email_send as send

    return send(drop_request_id=drop_request_id)
