from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="opsadmin.heartbeat")
def heartbeat() -> str:
    """Record that beat and a worker are alive (shown to operators)."""
    from opsadmin.models import TaskHeartbeat

    TaskHeartbeat.objects.update_or_create(name="beat", defaults={"last_seen": timezone.now()})
    return "ok"


@shared_task(name="opsadmin.ping")
def ping(value: int) -> int:
    """Round-trip check used by tests and health checks."""
    return value + 1


@shared_task(name="opsadmin.outbox_attempts_prune")
def outbox_attempts_prune() -> dict[str, int]:
    """Daily: attempt records of sent outbox rows older than OUTBOX_ATTEMPT_RETENTION_DAYS."""
    from django.conf import settings

    from opsadmin.outbox import attempts_prune

    return attempts_prune(older_than_days=settings.OUTBOX_ATTEMPT_RETENTION_DAYS)
