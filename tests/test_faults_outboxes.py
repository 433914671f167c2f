"""The outboxes and the status poll under the exactly-once faults (real simulators over HTTP,
sends run in-process; the same paths through a real worker: test_faults_exactly_once.py).

- a 429's ``Retry-After`` is the earliest next attempt (never sooner), longer than backoff;
- a malformed answer is a permanent failure with a reason on the staff exceptions screen,
  and the staff retry lands on the same prospect (idempotency key): carried out once;
- an earlier status delivered after a later one, or the same status twice, never moves an
  enrollment backwards or twice.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from billing import outbox
from billing.adapters.esg import esg_client
from billing.models import BillingRequest
from billing.services import billing_request_retry, prospect_status_record, prospect_statuses_poll
from conftest import set_fault, wait_until
from enrollments.models import Enrollment
from enrollments.services import EnrollmentInput, enrollment_submit
from enrollments.tests.factories import make_catalogue, make_staff
from opsadmin.models import ThirdPartyProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def esg(simulators_url, db):
    from billing.adapters.esg import shared_esg_client_reset

    provider = ThirdPartyProvider.load()
    provider.esg_api_url = f"{simulators_url}/esg"
    provider.esg_api_key = "test-esg-key"
    provider.save()
    shared_esg_client_reset()
    yield simulators_url
    shared_esg_client_reset()


def _enroll(n: int) -> Enrollment:
    return enrollment_submit(
        data=EnrollmentInput(
            zip_code="77002",
            utility_code="centerpoint",
            customer_type_code="residential",
            plan_code="SAVER12",
            first_name="Ana",
            last_name=f"Order{n}",
            email=f"order{n}@example.com",
            esiid=f"10089010000000{n:03d}",
            address_line1="100 Main St",
            city="Houston",
        ),
        channel="api",
    )


def _row(enrollment: Enrollment) -> BillingRequest:
    return BillingRequest.objects.get(subject_type="enrollment", subject_id=enrollment.pk)


def _carried_out(url: str) -> dict:
    return httpx.get(f"{url}/esg/_stats").json()["carried_out"]


def test_retry_after_is_the_earliest_next_attempt(esg):
    make_catalogue()
    set_fault(esg, "esg", rate_limit={"endpoint": "POST /prospects", "retry_after_s": 9})
    row = _row(_enroll(1))
    before = timezone.now()
    assert outbox.send(row.pk) == "retrying"
    row.refresh_from_db()
    assert row.attempts == 1 and "HTTP 429" in row.last_error
    # backoff alone would be 2 s after the first attempt; the vendor asked for 9
    assert row.next_attempt_at >= before + timedelta(seconds=9)
    assert row.next_attempt_at <= timezone.now() + timedelta(seconds=9)
    assert outbox.send(row.pk) == "skipped"  # not due: nothing sent sooner
    assert _carried_out(esg)["prospects_created"] == 0
    assert httpx.get(f"{esg}/esg/_stats").json()["faults"]["fired"] == {"rate_limit": 1}


def test_malformed_answer_fails_visibly_and_the_staff_retry_is_exactly_once(esg, client):
    make_catalogue()
    set_fault(esg, "esg", malformed={"endpoint": "POST /prospects", "mode": "schema"})
    enrollment = _enroll(2)
    row = _row(enrollment)
    assert outbox.send(row.pk) == "failed"  # permanent: not retried on its own
    row.refresh_from_db()
    assert row.attempts == 1 and row.next_attempt_at is None
    assert row.last_error == "ESG Create Prospect: malformed answer (missing prospect_id, status)"
    assert _carried_out(esg)["prospects_created"] == 1  # ESG acted; its answer was garbled
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.esg_prospect_id) == ("submitted", "")

    staff = make_staff("ops1", "Ops")
    client.force_login(staff)
    page = client.get("/billing/exceptions/").content.decode()
    assert "malformed answer (missing prospect_id, status)" in page

    httpx.delete(f"{esg}/_faults").raise_for_status()
    billing_request_retry(request=row)
    assert outbox.send(row.pk) == "sent"
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.esg_prospect_id) == ("pending", "P00000001")
    assert _carried_out(esg)["prospects_created"] == 1


def test_status_out_of_order_and_twice_never_moves_an_enrollment_back_or_twice(esg):
    make_catalogue()
    httpx.post(f"{esg}/esg/_config", json={"pending_seconds": 0.4}).raise_for_status()
    enrollment = _enroll(3)
    row = _row(enrollment)
    assert outbox.send(row.pk) == "sent"
    set_fault(esg, "esg", out_of_order={"endpoint": "GET /prospects/*"})

    def accepted():
        prospect_statuses_poll()
        return Enrollment.objects.get(pk=enrollment.pk).status == "accepted"

    wait_until(accepted, timeout=15, interval=0.2)
    enrollment.refresh_from_db()
    transitions = list(enrollment.events.values_list("from_status", "to_status"))
    # the stale "pending" answer is now due from the simulator: feed it, and the later one
    # twice, through the same recording path the poll uses
    with esg_client() as client:
        stale = client.prospect_status("P00000001")
        again = client.prospect_status("P00000001")
    assert (stale.status, again.status) == ("pending", "accepted")
    for status in (stale, again, again):
        prospect_status_record(request_id=row.pk, status=status)
    prospect_statuses_poll()
    enrollment.refresh_from_db()
    row.refresh_from_db()
    assert enrollment.status == "accepted" and row.prospect_status == "accepted"
    assert list(enrollment.events.values_list("from_status", "to_status")) == transitions
    assert transitions[-2:] == [("submitted", "pending"), ("pending", "accepted")]
    assert enrollment.billing_account_number.startswith("BA")


def test_derms_retry_after_longer_than_backoff_is_honoured(simulators_url, db):
    from programs import outbox as programs_outbox
    from programs import services
    from programs.models import ProgramEnrollment, SyncRequest
    from programs.services import DeviceInput
    from programs.tests.factories import customer_with_premise, point_derms_at, program_setup

    point_derms_at(simulators_url)
    set_fault(simulators_url, "derms", rate_limit={"retry_after_s": 95})
    setup = program_setup()
    customer, premise = customer_with_premise()
    enrollment = services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk,
                specification_id=setup.spec.pk,
                serial_number="TSTAT-RA1",
                network_address="10.20.0.9",
            )
        ],
        channel=ProgramEnrollment.Channel.AGENT,
    )
    sync = enrollment.sync_requests.get()
    before = timezone.now()
    sent = programs_outbox.sync_request_send(request_id=sync.pk)
    assert sent is not None and sent.state == SyncRequest.State.RETRYING
    sync.refresh_from_db()
    assert sync.next_attempt_at >= before + timedelta(seconds=95)  # backoff alone: 30 s
    assert "429" in sync.last_error
    stats = httpx.get(f"{simulators_url}/derms/_stats").json()
    assert stats["carried_out"] == {"device_syncs_applied": 0}
