"""Verbs of enrollments: the one ``enrollment_submit`` every channel calls, and transitions."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.services import billing_request_create
from enrollments.models import Customer, Enrollment, EnrollmentEvent, Plan, ServiceAccount
from enrollments.validators import validate_esiid_for_utility
from opsadmin.errors import ApplicationError
from opsadmin.models import CustomerType, ServiceArea, Utility

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrollmentInput:
    """What any channel (Quick Enrollment, Signup Wizard, Sales Importer, API) submits."""

    zip_code: str
    utility_code: str
    customer_type_code: str
    plan_code: str
    first_name: str
    last_name: str
    email: str
    esiid: str
    address_line1: str
    city: str
    phone: str = ""
    company_name: str = ""
    address_line2: str = ""
    state: str = "TX"
    meter_number: str = ""
    enrollment_type: str = Enrollment.EnrollmentType.SWITCH
    requested_start_date: date | None = None
    language: str = Customer.Language.ENGLISH
    notice_preference: str = Customer.NoticePreference.EMAIL
    date_of_birth: str = ""
    ssn: str = ""
    billing_address_line1: str = ""
    billing_city: str = ""
    billing_state: str = ""
    billing_zip: str = ""
    extra: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A stable hash of the submission (for idempotency checks)."""
        data = asdict(self)
        data["requested_start_date"] = str(data["requested_start_date"] or "")
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# Allowed life-cycle transitions (ESG statuses mapped onto TX SET: 814_01/16 submit, 814_08
# cancel, 814_24 move-out). Anything else is refused.
TRANSITIONS: dict[str, set[str]] = {
    Enrollment.Status.DRAFT: {Enrollment.Status.SUBMITTED, Enrollment.Status.CANCELLED},
    Enrollment.Status.SUBMITTED: {
        Enrollment.Status.PENDING,
        Enrollment.Status.REJECTED,
        Enrollment.Status.RESCINDED,
        Enrollment.Status.CANCELLED,
    },
    Enrollment.Status.PENDING: {
        Enrollment.Status.ACCEPTED,
        Enrollment.Status.REJECTED,
        Enrollment.Status.RESCINDED,
        Enrollment.Status.CANCELLED,
    },
    Enrollment.Status.ACCEPTED: {
        Enrollment.Status.ACTIVE,
        Enrollment.Status.RESCINDED,
        Enrollment.Status.CANCELLED,
    },
    Enrollment.Status.ACTIVE: {Enrollment.Status.DROPPED, Enrollment.Status.MOVED_OUT},
    Enrollment.Status.REJECTED: set(),
    Enrollment.Status.DROPPED: set(),
    Enrollment.Status.MOVED_OUT: set(),
    Enrollment.Status.RESCINDED: set(),
    Enrollment.Status.CANCELLED: set(),
}


@transaction.atomic
def enrollment_transition(
    *, enrollment: Enrollment, to_status: str, source: str, actor=None, note: str = "", **changes
) -> Enrollment:
    """Move an enrollment to ``to_status`` if the life cycle allows it; record the event.

    Extra keyword arguments are field updates saved with the transition
    (e.g. ``billing_account_number=...``, ``rejection_reason=...``).
    """
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if to_status not in TRANSITIONS[locked.status]:
        raise ApplicationError(
            f"An enrollment that is {locked.get_status_display().lower()} cannot become "
            f"{Enrollment.Status(to_status).label.lower()}.",
            code="bad_transition",
        )
    from_status = locked.status
    locked.status = to_status
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save()
    EnrollmentEvent.objects.create(
        enrollment=locked,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        source=source,
        note=note,
    )
    logger.info(
        "enrollment.transition",
        extra={"enrollment_id": locked.pk, "from": from_status, "to": to_status, "source": source},
    )
    enrollment.refresh_from_db()
    return locked


def plans_available(*, utility: Utility, customer_type: CustomerType, channel: str) -> list[Plan]:
    """Plans a channel may sell for a utility and customer type (web plans only on the web
    channels, seed 002: Quick Enrollment and the Signup Wizard sell web plans)."""
    qs = Plan.objects.filter(active=True, utilities=utility, customer_types=customer_type)
    if channel in (Enrollment.Channel.QUICK, Enrollment.Channel.WIZARD):
        qs = qs.filter(is_web_plan=True)
    return list(qs.order_by("energy_charge_cents", "code"))


def _validate(data: EnrollmentInput, channel: str) -> tuple[Utility, CustomerType, Plan]:
    if not (len(data.zip_code) == 5 and data.zip_code.isdigit()):
        raise ApplicationError("Enter a 5-digit zip code.", field="zip_code")
    utility = Utility.objects.filter(code=data.utility_code, active=True).first()
    if utility is None:
        raise ApplicationError("Unknown utility.", field="utility_code")
    if not ServiceArea.objects.filter(utility=utility, zip_code=data.zip_code).exists():
        raise ApplicationError("Oops! We don't service your area!", field="zip_code")
    customer_type = CustomerType.objects.filter(code=data.customer_type_code, active=True).first()
    if customer_type is None:
        raise ApplicationError("Unknown customer type.", field="customer_type_code")
    plan = Plan.objects.filter(code=data.plan_code).first()
    if plan is None or plan not in plans_available(
        utility=utility, customer_type=customer_type, channel=channel
    ):
        raise ApplicationError("That plan is not available here.", field="plan_code")
    if utility.is_ercot:
        validate_esiid_for_utility(data.esiid, utility)
    if Enrollment.objects.filter(
        service_account__esiid=data.esiid, status__in=Enrollment.OPEN_STATUSES
    ).exists():
        raise ApplicationError(
            "This ESIID already has a pending or active enrollment.",
            field="esiid",
            code="esiid_taken",
        )
    return utility, customer_type, plan


@transaction.atomic
def enrollment_submit(
    *,
    data: EnrollmentInput,
    channel: str,
    actor=None,
    customer: Customer | None = None,
    source: str = "",
) -> Enrollment:
    """Validate and write customer, premise, enrollment and the Create Prospect outbox row
    in one transaction. The billing system hears of it after commit.

    ``customer`` attaches the enrollment to an existing customer (enroll another account).
    Raises ``ApplicationError`` (with ``field``) for anything a person must correct.
    """
    utility, customer_type, plan = _validate(data, channel)
    if customer is None:
        customer = Customer.objects.create(
            customer_type=customer_type,
            first_name=data.first_name,
            last_name=data.last_name,
            company_name=data.company_name,
            email=data.email,
            phone=data.phone,
            language=data.language,
            notice_preference=data.notice_preference,
            date_of_birth=data.date_of_birth,
            ssn=data.ssn,
            ssn_last4=data.ssn[-4:] if data.ssn else "",
            billing_address_line1=data.billing_address_line1 or data.address_line1,
            billing_city=data.billing_city or data.city,
            billing_state=data.billing_state or data.state,
            billing_zip=data.billing_zip or data.zip_code,
        )
    premise = ServiceAccount.objects.create(
        customer=customer,
        utility=utility,
        esiid=data.esiid,
        meter_number=data.meter_number,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        city=data.city,
        state=data.state,
        zip_code=data.zip_code,
    )
    enrollment = Enrollment.objects.create(
        customer=customer,
        service_account=premise,
        plan=plan,
        channel=channel,
        status=Enrollment.Status.DRAFT,
        enrollment_type=data.enrollment_type,
        requested_start_date=data.requested_start_date,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    try:
        with transaction.atomic():
            enrollment_transition(
                enrollment=enrollment,
                to_status=Enrollment.Status.SUBMITTED,
                source=source or channel,
                actor=actor if getattr(actor, "pk", None) else None,
                submitted_at=timezone.now(),
            )
    except IntegrityError as exc:  # the partial unique index: a concurrent double submit
        raise ApplicationError(
            "This ESIID already has a pending or active enrollment.",
            field="esiid",
            code="esiid_taken",
        ) from exc
    billing_request_create(
        kind="create_prospect",
        subject_type="enrollment",
        subject_id=enrollment.pk,
        utility_code=utility.code,
        payload=create_prospect_payload(enrollment),
        idempotency_key=f"create_prospect:enrollment:{enrollment.pk}",
    )
    logger.info("enrollment.submitted", extra={"enrollment_id": enrollment.pk, "channel": channel})
    return enrollment


def create_prospect_payload(enrollment: Enrollment) -> dict:
    """What the billing system's Create Prospect receives (no SSN: billing gets it through
    the credit check on its side; see docs/esg-contract.md)."""
    c = enrollment.customer
    p = enrollment.service_account
    return {
        "enrollment_id": enrollment.pk,
        "utility": p.utility.code,
        "esiid": p.esiid,
        "meter_number": p.meter_number,
        "plan_code": enrollment.plan.code,
        "enrollment_type": enrollment.enrollment_type,
        "requested_start_date": enrollment.requested_start_date.isoformat()
        if enrollment.requested_start_date
        else None,
        "customer": {
            "first_name": c.first_name,
            "last_name": c.last_name,
            "company_name": c.company_name,
            "email": c.email,
            "phone": c.phone,
            "language": c.language,
            "customer_type": c.customer_type.code,
        },
        "service_address": {
            "line1": p.address_line1,
            "line2": p.address_line2,
            "city": p.city,
            "state": p.state,
            "zip": p.zip_code,
        },
        "billing_address": {
            "line1": c.billing_address_line1,
            "city": c.billing_city,
            "state": c.billing_state,
            "zip": c.billing_zip,
        },
    }
