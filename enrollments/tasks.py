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


@shared_task(name="enrollments.customer_welcome", acks_late=True)
def customer_welcome(enrollment_id: int) -> bool:
    """Give the enrollment's customer a My Account login (once) and email the link to set
    its password. Idempotent: a customer who has a login is left alone."""
    from django.conf import settings

    from enrollments.models import Enrollment
    from enrollments.services import customer_login_create, set_password_email_send

    enrollment = Enrollment.objects.select_related("customer").filter(pk=enrollment_id).first()
    if enrollment is None:
        return False
    user, created = customer_login_create(customer=enrollment.customer)
    if created and user is not None:
        set_password_email_send(
            user=user, base_url=settings.PUBLIC_BASE_URL, language=enrollment.customer.language
        )
    return created
