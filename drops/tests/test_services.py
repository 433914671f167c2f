from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from drops.models import ChangeOfTermsNotice, DropRequest
from drops.rules import Waiver
from drops.services import (
    ForwardingAddress,
    drop_confirmation_email_send,
    drop_request_billing_outcome,
    drop_request_cancel,
    drop_request_create,
    drop_request_release,
    drop_requests_release_expired,
    drop_requests_sync_billing,
)
from drops.tests import factories as f
from drops.tests.factories import drop_rows
from enrollments.models import Enrollment
from opsadmin.errors import ApplicationError
from opsadmin.models import SystemSetup

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def create(enrollment, **kwargs):
    kwargs.setdefault("kind", DropRequest.Kind.DROP)
    kwargs.setdefault("requested_date", today() + timedelta(days=10))
    return drop_request_create(customer=enrollment.customer, enrollment=enrollment, **kwargs)


def test_no_codes_sends_empty_reason_and_releases_automatically():
    e = f.active_enrollment()
    result = create(e)
    d = result.drop_request
    assert result.created is True
    assert (d.reason_code, d.status, d.released_how) == ("", "released", "auto")
    outbox = drop_rows().get()
    assert outbox.pk == d.billing_request_id
    assert (outbox.kind, outbox.subject_type, outbox.subject_id) == ("drop", "drop_request", d.pk)
    assert outbox.payload["reason_code"] == ""
    assert outbox.payload["esiid"] == e.service_account.esiid
    assert outbox.idempotency_key == f"drop:drop_request:{d.pk}"


def test_no_codes_refuses_a_posted_code():
    e = f.active_enrollment()
    with pytest.raises(ApplicationError) as exc:
        create(e, reason_code="CRD")
    assert exc.value.field == "reason"
    assert DropRequest.objects.count() == 0


def test_one_code_is_sent_without_asking_and_another_is_refused():
    util = f.utility()
    f.drop_code(util, "CRD", "Customer Requested Drop")
    f.drop_code(util, "XX", "Not in My Account", available_in_myaccount=False)
    e = f.active_enrollment(util=util)
    with pytest.raises(ApplicationError):
        create(e, reason_code="XX")
    d = create(e).drop_request
    assert (d.reason_code, d.reason_description) == ("CRD", "Customer Requested Drop")
    assert drop_rows().get().payload["reason_code"] == "CRD"


def test_many_codes_require_one_of_them():
    util = f.utility()
    f.drop_code(util, "MOV", "Moving")
    f.drop_code(util, "PRI", "Price")
    other = f.utility("oncor", "Oncor")
    f.drop_code(other, "ONC", "Oncor only")
    e = f.active_enrollment(util=util)
    with pytest.raises(ApplicationError, match="Choose a reason"):
        create(e)
    with pytest.raises(ApplicationError, match="not available"):
        create(e, reason_code="ONC")  # another utility's code
    assert DropRequest.objects.count() == 0
    assert create(e, reason_code="PRI").drop_request.reason_code == "PRI"


def test_hidden_drop_option_refused():
    e = f.active_enrollment(cust=f.customer(visible=False))
    with pytest.raises(ApplicationError) as exc:
        create(e)
    assert exc.value.code == "not_allowed"
    assert DropRequest.objects.count() == 0


def test_date_bounds_enforced():
    SystemSetup.objects.update_or_create(
        pk=1, defaults={"drop_days_in_advance": 5, "drop_max_days_ahead": 30}
    )
    e = f.active_enrollment()
    with pytest.raises(ApplicationError, match="earliest"):
        create(e, requested_date=today() + timedelta(days=4))
    with pytest.raises(ApplicationError, match="latest"):
        create(e, requested_date=today() + timedelta(days=31))
    assert DropRequest.objects.count() == 0
    assert create(e, requested_date=today() + timedelta(days=5)).created
    e2 = f.active_enrollment(cust=e.customer)
    assert create(e2, requested_date=today() + timedelta(days=30)).created


def test_second_request_returns_the_first():
    e = f.active_enrollment()
    first = create(e)
    second = create(e, requested_date=today() + timedelta(days=20))
    assert second.created is False
    assert second.drop_request.pk == first.drop_request.pk
    assert DropRequest.objects.count() == 1
    assert drop_rows().count() == 1


def test_other_customers_enrollment_refused():
    e = f.active_enrollment()
    stranger = f.customer()
    with pytest.raises(ApplicationError) as exc:
        drop_request_create(
            customer=stranger,
            enrollment=e,
            kind="drop",
            requested_date=today() + timedelta(days=10),
        )
    assert exc.value.code == "not_found"
    assert DropRequest.objects.count() == 0


def test_etf_recorded_charged_and_waived():
    e = f.active_enrollment(
        the_plan=f.plan(etf_type="per_month", etf_amount="10.00"),
        contract_end=today() + timedelta(days=10 + 95),  # 95 days after the drop date
    )
    d = create(e).drop_request
    # 95 days from the drop date: 3 whole months and a started one -> 4 x $10 (or 3 when the
    # day-of-month lines up); compute the exact expectation from the calendar.
    from drops.rules import remaining_months

    months = remaining_months(drop_date=d.requested_date, contract_end=e.contract_end_date)
    assert d.etf_amount == Decimal("10.00") * months
    assert d.etf_waiver == ""


def test_etf_waived_after_change_of_terms_notice():
    e = f.active_enrollment()
    ChangeOfTermsNotice.objects.create(
        service_account=e.service_account, sent_on=today() - timedelta(days=3)
    )
    d = create(e).drop_request
    assert (d.etf_amount, d.etf_waiver) == (Decimal("0.00"), Waiver.CHANGE_OF_TERMS)


def test_etf_waived_within_rescission():
    e = f.active_enrollment(submitted_days_ago=0)
    d = create(e).drop_request
    assert (d.etf_amount, d.etf_waiver) == (Decimal("0.00"), Waiver.RESCISSION)


def test_move_out_with_forwarding_address_waives_and_is_sent():
    e = f.active_enrollment()
    d = create(
        e,
        kind=DropRequest.Kind.MOVE_OUT,
        meter_removal=True,
        forwarding_address=ForwardingAddress(
            line1="9 Elm St", city="Austin", state="tx", zip_code="78701"
        ),
    ).drop_request
    assert (d.etf_amount, d.etf_waiver) == (Decimal("0.00"), Waiver.MOVE_OUT_FORWARDING)
    outbox = drop_rows().get()
    assert outbox.kind == "move_out"
    assert outbox.payload["meter_removal"] is True
    assert outbox.payload["forwarding_address"] == {
        "line1": "9 Elm St",
        "line2": "",
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
    }


def test_move_out_without_forwarding_address_pays_etf():
    e = f.active_enrollment()
    d = create(e, kind=DropRequest.Kind.MOVE_OUT).drop_request
    assert (d.etf_amount, d.etf_waiver) == (Decimal("150.00"), "")


def test_etf_hidden_still_lets_customer_drop():
    SystemSetup.objects.update_or_create(pk=1, defaults={"show_etf_message_on_drops": False})
    e = f.active_enrollment()
    d = create(e).drop_request
    assert d.etf_amount == Decimal("150.00")  # recorded for staff even when not shown


def test_hold_then_staff_release():
    util = f.utility()
    f.hold(util, 24)
    e = f.active_enrollment(util=util)
    d = create(e).drop_request
    assert d.status == "held"
    assert drop_rows().count() == 0
    assert d.hold_until > timezone.now() + timedelta(hours=23)
    staff = f.customer().user  # actor only recorded; permissions are the view's job
    d = drop_request_release(drop_request=d, actor=staff)
    assert (d.status, d.released_how, d.released_by_id) == ("released", "staff", staff.pk)
    assert drop_rows().get().subject_id == d.pk
    with pytest.raises(ApplicationError):
        drop_request_release(drop_request=d)
    assert drop_rows().count() == 1


def test_staff_cancel_during_hold_sends_nothing():
    util = f.utility()
    f.hold(util, 24)
    d = create(f.active_enrollment(util=util)).drop_request
    d = drop_request_cancel(drop_request=d)
    assert d.status == "cancelled"
    assert drop_requests_release_expired(now=timezone.now() + timedelta(days=2)) == 0
    assert drop_rows().count() == 0


def test_customer_cancel_only_when_allowed_and_inside_hold():
    util = f.utility()
    f.hold(util, 24, customer_may_cancel=False)
    d = create(f.active_enrollment(util=util)).drop_request
    with pytest.raises(ApplicationError):
        drop_request_cancel(drop_request=d, by_customer=True)
    f.hold(util, 24, customer_may_cancel=True)
    with pytest.raises(ApplicationError):
        drop_request_cancel(
            drop_request=d, by_customer=True, now=timezone.now() + timedelta(hours=25)
        )
    d.refresh_from_db()
    assert d.status == "held"
    assert drop_request_cancel(drop_request=d, by_customer=True).status == "cancelled"


def test_expired_holds_are_released_once():
    util = f.utility()
    f.hold(util, 2)
    d = create(f.active_enrollment(util=util)).drop_request
    assert drop_requests_release_expired(now=timezone.now() + timedelta(hours=1)) == 0
    assert drop_requests_release_expired(now=timezone.now() + timedelta(hours=3)) == 1
    assert drop_requests_release_expired(now=timezone.now() + timedelta(hours=3)) == 0
    d.refresh_from_db()
    assert (d.status, d.released_how) == ("released", "hold_expired")
    assert drop_rows().count() == 1


def test_acknowledgement_keeps_service_until_the_order_takes_effect():
    from billing.services import RequestStatus
    from opsadmin import events

    e = f.active_enrollment()
    d = create(e).drop_request
    assert drop_requests_sync_billing() == 0
    drop_rows().filter(pk=d.billing_request_id).update(state="sent")
    assert drop_requests_sync_billing() == 1
    assert drop_requests_sync_billing() == 0
    d.refresh_from_db()
    e.refresh_from_db()
    # acknowledged is not effective: the customer is served (and billed) until the drop date
    assert (d.status, e.status, e.service_end_date) == ("sent", "active", None)
    completed = RequestStatus("DR1", "completed", service_end_date=d.requested_date)
    for _ in range(2):  # a duplicate completion changes nothing
        events.dispatch(
            events.ServiceOrderCompleted(
                kind="drop",
                subject_type="drop_request",
                subject_id=d.pk,
                status=completed,
            )
        )
    d.refresh_from_db()
    e.refresh_from_db()
    assert (d.status, e.status) == ("completed", Enrollment.Status.DROPPED)
    assert e.service_end_date == d.requested_date
    assert e.events.last().source == "billing-drop"
    assert e.events.filter(to_status="dropped").count() == 1


def test_billing_failure_keeps_enrollment_active():
    e = f.active_enrollment()
    d = create(e, kind=DropRequest.Kind.MOVE_OUT).drop_request
    drop_rows().filter(pk=d.billing_request_id).update(state="failed", last_error="400")
    assert drop_request_billing_outcome(drop_request_id=d.pk, acknowledged=False) is True
    d.refresh_from_db()
    e.refresh_from_db()
    assert (d.status, d.last_error, e.status) == ("failed", "400", "active")


def test_confirmation_email():
    e = f.active_enrollment()
    d = create(e, meter_removal=True).drop_request
    assert drop_confirmation_email_send(drop_request_id=d.pk) is True
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == [e.customer.email]
    assert msg.subject == "Your cancellation request"
    assert f"Request number: {d.pk}" in msg.body
    assert "Meter removal: requested" in msg.body
    assert "Early termination fee: $150.00" in msg.body


def test_confirmation_email_in_the_customers_language():
    """PUCT Subst. R. 25.473: a customer who asked for Spanish gets the confirmation in it."""
    e = f.active_enrollment()
    e.customer.language = "es"
    e.customer.save(update_fields=["language"])
    d = create(e, kind=DropRequest.Kind.MOVE_OUT, meter_removal=True).drop_request
    assert drop_confirmation_email_send(drop_request_id=d.pk) is True
    msg = mail.outbox[0]
    assert msg.subject == "Su solicitud de mudanza"
    assert msg.body.startswith(f"Hola, {e.customer.first_name}:")
    assert f"Número de solicitud: {d.pk}" in msg.body
    assert "Retiro del medidor: solicitado" in msg.body
    assert f"Fecha: {d.requested_date:%d/%m/%Y}" in msg.body
    assert "Si usted no hizo esta solicitud, llámenos de inmediato." in msg.body


def test_billing_registry_acknowledgement_reaches_drops():
    from billing.services import RequestStatus
    from opsadmin import events

    e = f.active_enrollment()
    d = create(e, kind=DropRequest.Kind.MOVE_OUT).drop_request
    events.dispatch(
        events.BillingRequestAcknowledged(
            kind="enrollment",
            subject_type="enrollment",
            subject_id=d.pk,
            response={},
        )
    )
    d.refresh_from_db()
    assert d.status == "released"  # not ours: ignored
    events.dispatch(
        events.BillingRequestAcknowledged(
            kind="move_out",
            subject_type="drop_request",
            subject_id=d.pk,
            response={"request_id": "DR0000001"},
        )
    )
    d.refresh_from_db()
    e.refresh_from_db()
    assert (d.status, e.status) == ("sent", "active")
    events.dispatch(
        events.ServiceOrderCompleted(
            kind="move_out",
            subject_type="drop_request",
            subject_id=d.pk,
            status=RequestStatus("DR0000001", "completed", service_end_date=d.requested_date),
        )
    )
    e.refresh_from_db()
    assert (e.status, e.service_end_date) == ("moved_out", d.requested_date)


def test_failed_drop_resent_and_acknowledged_becomes_sent():
    e = f.active_enrollment()
    d = create(e).drop_request
    drop_rows().filter(pk=d.billing_request_id).update(state="failed")
    assert drop_requests_sync_billing() == 1
    d.refresh_from_db()
    assert d.status == "failed"
    assert drop_request_billing_outcome(drop_request_id=d.pk, acknowledged=False) is False
    assert drop_request_billing_outcome(drop_request_id=d.pk, acknowledged=True) is True
    d.refresh_from_db()
    e.refresh_from_db()
    assert (d.status, e.status) == ("sent", "active")
