"""What enrollments does when life-cycle events happen (``opsadmin.events``): its own, and
the billing system's answers about an enrollment (in the transaction that records them)."""

from __future__ import annotations

from enrollments.billing_handlers import on_prospect_acknowledged, on_prospect_status
from opsadmin.events import Event, ProspectAcknowledged, ProspectStatusChanged, ServiceStarted


def on_service_started(event: Event) -> None:
    """Service started: make sure the customer has a My Account login. Customers enrolled
    by a partner (Enrollment API, Sales Importer) get theirs now, with the emailed
    set-password link; Quick Enrollment and the Signup Wizard made one at submission."""
    assert isinstance(event, ServiceStarted)
    from enrollments.tasks import customer_welcome

    customer_welcome.delay(event.enrollment_id)


SUBSCRIPTIONS = [
    (ProspectAcknowledged, on_prospect_acknowledged),
    (ProspectStatusChanged, on_prospect_status),
    (ServiceStarted, on_service_started),
]
