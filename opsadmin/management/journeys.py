"""Bring an enrollment to any state the way production does: for the demo and for tests.

Every state is reached through the product's own flows: ``enrollment_submit`` (the one
verb every channel calls), then the billing system's answers recorded by billing's own
functions — the ones the outbox and the status polls call with what ESG said
(``_record_success`` for an acknowledgement, ``prospect_status_record`` for a prospect's
status, ``service_order_record`` for a drop that took effect). Dates come from those answers
(the service start ERCOT reported, the drop's effective day), never from setting fields.

``seed_demo`` plays the billing system's part with these (the simulators may not be running
while it loads); tests about what comes after a state use them too. The real HTTP
conversation is walked by ``tests/test_lifecycle_e2e.py`` (a worker and the simulators).
Like ``seed_demo``, this module sits above every app (import-linter exempts both).
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from billing import outbox
from billing.models import BillingRequest
from billing.selectors import ProspectAck, ProspectStatus, RequestAck, RequestStatus
from billing.services import prospect_status_record, service_order_record
from enrollments.dates import add_months, earliest_start_date, start_date_problem
from enrollments.models import Customer, Enrollment, Plan
from enrollments.services import EnrollmentInput, enrollment_submit
from opsadmin import clock
from opsadmin.models import CustomerType, ServiceArea, SystemSetup, Utility

S = Enrollment.Status
_seq = itertools.count(1)
FINAL = (S.DROPPED, S.MOVED_OUT)


def sellable(
    *, utility: Utility, plan: Plan, customer_type: CustomerType, zip_code: str = "77002"
) -> None:
    """Make ``plan`` sellable to ``customer_type`` at ``zip_code`` (catalogue set-up)."""
    ServiceArea.objects.get_or_create(utility=utility, zip_code=zip_code)
    plan.utilities.add(utility)
    plan.customer_types.add(customer_type)


def next_esiid(utility: Utility) -> str:
    prefix = (utility.esiid_prefixes or ["1008901"])[0]
    n = next(_seq)
    return f"{prefix}{n:0{22 - len(prefix)}d}"


def submit(
    *,
    utility: Utility,
    plan: Plan,
    customer_type: CustomerType | None = None,
    customer: Customer | None = None,
    esiid: str = "",
    zip_code: str = "77002",
    channel: str = Enrollment.Channel.QUICK,
    on: date | None = None,
    requested_start: date | None = None,
    enrollment_type: str = Enrollment.EnrollmentType.SWITCH,
    **person,
) -> Enrollment:
    """Submit through ``enrollment_submit`` as of market day ``on`` (default today)."""
    customer_type = customer_type or (customer.customer_type if customer else None)
    if customer_type is None:
        customer_type = CustomerType.objects.get_or_create(
            code="residential", defaults={"name": "Residential"}
        )[0]
    sellable(utility=utility, plan=plan, customer_type=customer_type, zip_code=zip_code)
    n = next(_seq)
    defaults: dict[str, Any] = {
        "first_name": customer.first_name if customer else "Ana",
        "last_name": customer.last_name if customer else f"Lopez{n}",
        "email": customer.email if customer else f"customer{n}@example.com",
        "address_line1": f"{n} Main St",
        "city": "Houston",
    }
    defaults.update(person)
    with clock.travel(on or clock.today()):
        requested = requested_start or earliest_start_date(enrollment_type)
        data = EnrollmentInput(
            zip_code=zip_code,
            utility_code=utility.code,
            customer_type_code=customer_type.code,
            plan_code=plan.code,
            esiid=esiid or next_esiid(utility),
            enrollment_type=enrollment_type,
            requested_start_date=requested,
            **defaults,
        )
        return enrollment_submit(data=data, channel=channel, customer=customer, source="test")


def _prospect_row(enrollment: Enrollment) -> BillingRequest:
    return BillingRequest.objects.get(
        kind=BillingRequest.Kind.CREATE_PROSPECT,
        subject_type="enrollment",
        subject_id=enrollment.pk,
    )


def acknowledge(enrollment: Enrollment) -> Enrollment:
    """ESG answered Create Prospect (the outbox records it: submitted -> pending)."""
    row = _prospect_row(enrollment)
    claimed = outbox.claim_batch(ids=[row.pk])
    if claimed:
        ack = ProspectAck(prospect_id=f"P{enrollment.pk:08d}", status="pending")
        outbox._record_success(claimed[0], ack)
    enrollment.refresh_from_db()
    return enrollment


def answer(
    enrollment: Enrollment,
    status: str,
    *,
    ban: str | None = None,
    reason: str = "",
    service_start: date | None = None,
) -> Enrollment:
    """ESG's status poll answered ``status`` for the enrollment's prospect."""
    row = _prospect_row(enrollment)
    prospect_status_record(
        request_id=row.pk,
        status=ProspectStatus(
            prospect_id=row.prospect_id,
            status=status,
            billing_account_number=ban,
            reason=reason,
            service_start_date=service_start,
        ),
    )
    enrollment.refresh_from_db()
    return enrollment


def end_service(enrollment: Enrollment, *, on: date, move_out: bool = False) -> Enrollment:
    """The customer cancels / moves out effective ``on`` and ESG reports it done: through
    ``drops.services`` (request, release, acknowledgement) and the service-order poll."""
    from drops.models import DropCode, DropRequest
    from drops.services import drop_request_create, drop_request_release

    customer_type = enrollment.customer.customer_type
    if not customer_type.drop_visible_in_myaccount:
        CustomerType.objects.filter(pk=customer_type.pk).update(drop_visible_in_myaccount=True)
        enrollment.customer.customer_type.refresh_from_db()
    asked = on - timedelta(days=SystemSetup.load().drop_days_in_advance)
    code = (
        DropCode.objects.filter(
            utility_id=enrollment.service_account.utility_id, available_in_myaccount=True
        )
        .values_list("code", flat=True)
        .first()
    )
    with clock.travel(asked):
        drop = drop_request_create(
            customer=enrollment.customer,
            enrollment=enrollment,
            kind=DropRequest.Kind.MOVE_OUT if move_out else DropRequest.Kind.DROP,
            requested_date=on,
            reason_code=code or "",
            today=asked,
        ).drop_request
        if drop.status == DropRequest.Status.HELD:
            drop = drop_request_release(drop_request=drop)
    assert drop.billing_request_id is not None  # a released drop has its outbox row
    row = BillingRequest.objects.get(pk=drop.billing_request_id)
    claimed = outbox.claim_batch(ids=[row.pk])
    if claimed:
        outbox._record_success(claimed[0], RequestAck(request_id=f"DR{drop.pk:07d}", status="ok"))
    row.refresh_from_db()
    service_order_record(
        request_id=row.pk,
        status=RequestStatus(request_id=row.order_id, status="completed", service_end_date=on),
    )
    enrollment.refresh_from_db()
    return enrollment


def enrolled(
    status: str = S.ACTIVE,
    *,
    utility: Utility,
    plan: Plan,
    service_start: date | None = None,
    contract_end: date | None = None,
    service_end: date | None = None,
    submitted_on: date | None = None,
    ban: str | None = None,
    reason: str = "Rejected by the billing system.",
    **submit_kwargs,
) -> Enrollment:
    """An enrollment brought to ``status`` through the product's flows.

    ``contract_end`` picks the service start that gives it (start = end - the plan's term);
    otherwise service starts ``service_start`` (default 30 days ago). The enrollment is
    submitted ``submitted_on`` (default two weeks before its service start), on that day's
    market rules.
    """
    if contract_end is not None:
        service_start = add_months(contract_end, -plan.term_months)
    start = service_start or clock.today() - timedelta(days=30)
    on = submitted_on or start - timedelta(days=14)
    kind = submit_kwargs.get("enrollment_type", "switch")
    # ask for the day service will start when the market rules allow it that day
    requested = start if start_date_problem(start, kind, today=on) is None else None
    requested = requested or earliest_start_date(kind, today=on)
    enrollment = submit(
        utility=utility, plan=plan, on=on, requested_start=requested, **submit_kwargs
    )
    if status == S.SUBMITTED:
        return enrollment
    acknowledge(enrollment)
    if status == S.PENDING:
        return enrollment
    if status == S.REJECTED:
        return answer(enrollment, "rejected", reason=reason)
    answer(enrollment, "accepted", ban=ban)
    if status == S.ACCEPTED:
        return enrollment
    answer(enrollment, "active", ban=ban, service_start=start)
    if status in FINAL:
        return end_service(
            enrollment,
            on=service_end or clock.today() - timedelta(days=1),
            move_out=status == S.MOVED_OUT,
        )
    return enrollment


def basic_plan(code: str = "FIX12", *, term_months: int = 12, **fields) -> Plan:
    plan, _ = Plan.objects.get_or_create(
        code=code,
        defaults={
            "name": fields.pop("name", f"Fixed {term_months}"),
            "term_months": term_months,
            "energy_charge_cents": Decimal("12.5"),
            **fields,
        },
    )
    return plan
