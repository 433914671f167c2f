from __future__ import annotations

from celery import shared_task

from opsadmin import clock


@shared_task(name="renewals.daily")
def renewals_daily() -> dict:
    """Schedule notices for contracts nearing expiration, then send the due ones."""
    from renewals.services import renewal_notices_schedule, renewal_notices_send_due

    today = clock.today()
    created = renewal_notices_schedule(today=today)
    return {"scheduled": created, **renewal_notices_send_due(today=today)}


@shared_task(name="renewals.export_build", acks_late=True, soft_time_limit=1800, time_limit=1900)
def renewal_export_build(export_id: int) -> int:
    """Build a large Renewal Notices export (idempotent: a finished one is left as is)."""
    from renewals.services import renewal_export_build as build

    return build(export_id=export_id).done
