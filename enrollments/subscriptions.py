"""What enrollments does when its own life-cycle events happen (``opsadmin.events``)."""

from __future__ import annotations

from opsadmin.events import Event, ServiceStarted


def on_service_started(event: Event) -> None:
    """Service started: make sure the customer has a My Account login. Customers enrolled
    by a partner (Enrollment API, Sales Importer) get theirs now, with the emailed
    set-password link; Quick Enrollment and the Signup Wizard made one at submission."""
    assert isinstance(event, ServiceStarted)
    from enrollments.tasks import customer_welcome

    customer_welcome.delay(event.enrollment_id)


SUBSCRIPTIONS = [(ServiceStarted, on_service_started)]
