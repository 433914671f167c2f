"""What enrollments does when the billing system (ESG) answers (in-transaction events of
``opsadmin.events``, listed in ``enrollments/subscriptions.py``), and the billing account
number.
"""

from __future__ import annotations

import logging

from billing.selectors import esg_billing_account_lookup
from enrollments.models import Customer, Enrollment
from enrollments.services import enrollment_service_start, enrollment_transition
from opsadmin.errors import IntegrationError
from opsadmin.events import Event, ProspectAcknowledged, ProspectStatusChanged

logger = logging.getLogger(__name__)

SOURCE = "billing-system"


def on_prospect_acknowledged(event: Event) -> None:
    """Create Prospect acknowledged: the enrollment is pending in the billing system."""
    assert isinstance(event, ProspectAcknowledged)
    subject_id, ack = event.subject_id, event.ack
    if event.subject_type != "enrollment":
        return
    enrollment = Enrollment.objects.filter(pk=subject_id).first()
    if enrollment is None:
        return
    # The billing system has the customer now: keep only the SSN's last 4 (PUCT 25.472).
    Customer.objects.filter(pk=enrollment.customer_id).exclude(ssn="").update(ssn="")
    if enrollment.status != Enrollment.Status.SUBMITTED:
        # Cancelled or rescinded while the request was in flight: keep the id, no transition.
        Enrollment.objects.filter(pk=subject_id, esg_prospect_id="").update(
            esg_prospect_id=ack.prospect_id
        )
        return
    enrollment_transition(
        enrollment=enrollment,
        to_status=Enrollment.Status.PENDING,
        source=SOURCE,
        note=f"Create Prospect acknowledged (prospect {ack.prospect_id}).",
        esg_prospect_id=ack.prospect_id,
    )


def on_prospect_status(event: Event) -> None:
    """The billing system's word on a prospect, applied to the enrollment's life cycle:

    - accepted: pending -> accepted (+ billing account number for ESG REST utilities);
    - active (the switch / move-in completed): -> active with the actual service start and
      the contract's dates; an enrollment still pending passes through accepted first (the
      accepted answer was missed or arrived late);
    - rejected: pending or accepted -> rejected with the reason (a switch hold or a competing
      enrollment can reject a switch after it was accepted).

    Anything else (a duplicate, an older status after a newer one, an enrollment cancelled
    meanwhile) changes nothing: the life cycle never moves backwards or twice.
    """
    assert isinstance(event, ProspectStatusChanged)
    subject_id, status = event.subject_id, event.status
    if event.subject_type != "enrollment":
        return
    enrollment = (
        Enrollment.objects.select_related("service_account__utility", "plan")
        .filter(pk=subject_id)
        .first()
    )
    if enrollment is None:
        return
    if status.status in ("accepted", "active") and enrollment.status == Enrollment.Status.PENDING:
        changes = {}
        utility = enrollment.service_account.utility
        if utility.has_billing_account_numbers and status.billing_account_number:
            changes["billing_account_number"] = status.billing_account_number
        enrollment = enrollment_transition(
            enrollment=enrollment,
            to_status=Enrollment.Status.ACCEPTED,
            source=SOURCE,
            note="Accepted by the billing system.",
            **changes,
        )
    if (
        status.status == "active"
        and enrollment.status == Enrollment.Status.ACCEPTED
        and status.service_start_date is not None
    ):
        enrollment_service_start(
            enrollment=enrollment, service_start_date=status.service_start_date, source=SOURCE
        )
    elif status.status == "rejected" and enrollment.status in (
        Enrollment.Status.PENDING,
        Enrollment.Status.ACCEPTED,
    ):
        reason = status.reason or "Rejected by the billing system (no reason given)."
        enrollment_transition(
            enrollment=enrollment,
            to_status=Enrollment.Status.REJECTED,
            source=SOURCE,
            note=reason,
            rejection_reason=reason,
        )


def billing_account_number_get(*, enrollment: Enrollment) -> str:
    """The enrollment's billing account number: the stored one, else asked of the billing
    system and stored. Only ESG REST utilities have one; others get "".

    Returns "" when the billing system has none or cannot be reached now (the caller shows
    nothing rather than failing). Replacement values must never call this: they read
    ``enrollment.billing_account_number`` (a notice renders in bulk, never waiting on ESG).
    """
    if enrollment.billing_account_number:
        return enrollment.billing_account_number
    utility = enrollment.service_account.utility
    if not utility.has_billing_account_numbers:
        return ""
    try:
        number = esg_billing_account_lookup(esiid=enrollment.service_account.esiid)
    except IntegrationError as exc:
        logger.warning(
            "billing.account_number_lookup_failed",
            extra={"enrollment_id": enrollment.pk, "error": str(exc)},
        )
        return ""
    if not number:
        return ""
    # Only fill a blank: never overwrite a number stored meanwhile.
    Enrollment.objects.filter(pk=enrollment.pk, billing_account_number="").update(
        billing_account_number=number
    )
    enrollment.refresh_from_db(fields=["billing_account_number"])
    return enrollment.billing_account_number
