"""Periodic work of enrollments."""

from __future__ import annotations

from celery import shared_task

from enrollments.flow import drafts_purge


@shared_task(name="enrollments.drafts_purge")
def drafts_purge_task() -> int:
    return drafts_purge()


@shared_task(name="enrollments.contracts_roll_over")
def contracts_roll_over_task() -> dict[str, int]:
    """Contracts that ended without a renewal move to their month-to-month plan."""
    from enrollments.services import contracts_roll_over

    return contracts_roll_over()
