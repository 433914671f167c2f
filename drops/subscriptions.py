"""What drops does when the billing system answers about a drop / move-out
(``opsadmin.events``; in the transaction that records the answer, so the outbox row and the
drop request's status commit together)."""

from __future__ import annotations

from drops.services import drop_request_billing_outcome, drop_request_completed, market_today
from opsadmin.events import BillingRequestAcknowledged, Event, ServiceOrderCompleted


def on_billing_request_acknowledged(event: Event) -> None:
    """ESG acknowledged a drop / move-out: the request is with the billing system."""
    assert isinstance(event, BillingRequestAcknowledged)
    if event.subject_type != "drop_request":
        return
    drop_request_billing_outcome(drop_request_id=event.subject_id, acknowledged=True)


def on_service_order_completed(event: Event) -> None:
    """The drop / move-out took effect: the enrollment's service ends on that day."""
    assert isinstance(event, ServiceOrderCompleted)
    if event.subject_type != "drop_request":
        return
    drop_request_completed(
        drop_request_id=event.subject_id,
        service_end_date=event.status.service_end_date or market_today(),
    )


SUBSCRIPTIONS = [
    (BillingRequestAcknowledged, on_billing_request_acknowledged),
    (ServiceOrderCompleted, on_service_order_completed),
]
