"""Celery tasks of programs (thin: they call the outbox functions)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="programs.sync_request_send", acks_late=True)
def sync_request_send(request_id: int) -> str | None:
    """Send one DERMS sync request (idempotent: a request not due or taken is skipped; kept
    for messages already queued)."""
    from programs import outbox

    request = outbox.sync_request_send(request_id=request_id)
    return request.state if request else None


@shared_task(name="programs.sync_requests_send", acks_late=True, ignore_result=True)
def sync_requests_send(request_ids: list[int]) -> dict[str, int]:
    """Send a batch of DERMS sync requests (those still due)."""
    from programs import outbox

    counts: dict[str, int] = {}
    for outcome in outbox.sync_requests_send(request_ids=request_ids).values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@shared_task(name="programs.sync_requests_sweep")
def sync_requests_sweep() -> int:
    """Enqueue every due sync request, in batches (retries wait in the database, not in
    Celery; lost claims come back when their lease runs out)."""
    from programs import outbox

    return outbox.OUTBOX.sweep()


@shared_task(
    name="programs.events_poll",
    autoretry_for=(),
)
def events_poll() -> dict:
    """Read events and device reservations from the DERMS; notify customers."""
    from opsadmin.errors import IntegrationError
    from programs import outbox

    try:
        return outbox.events_poll()
    except IntegrationError as exc:  # the next beat tick tries again
        return {"error": str(exc)}
