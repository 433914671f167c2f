"""Celery tasks of the partners app: thin, idempotent, call one service."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from partners import services


@shared_task(
    name="partners.import_batch_process",
    acks_late=True,  # idempotent: rows already imported are recognised by fingerprint
    soft_time_limit=60 * 60,
    time_limit=60 * 60 + 60,
)
def import_batch_process(batch_id: int) -> dict:
    try:
        batch = services.import_batch_process(batch_id=batch_id)
    except SoftTimeLimitExceeded:
        services.import_batch_fail(batch_id=batch_id, reason="The import took too long.")
        raise
    return {"batch_id": batch.pk, "state": batch.state, "created": batch.created_count}
