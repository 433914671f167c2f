"""Periodic work of enrollments."""

from __future__ import annotations

from celery import shared_task

from enrollments.flow import drafts_purge


@shared_task(name="enrollments.drafts_purge")
def drafts_purge_task() -> int:
    return drafts_purge()
