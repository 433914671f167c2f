"""The outbox sender against the ESG simulator over real HTTP (no worker: send() in-process)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from billing import outbox
from billing.models import BillingRequest
from billing.services import billing_request_create, billing_request_retry, prospect_statuses_poll
from conftest import set_fault
from opsadmin import events as core_events
from opsadmin.errors import ApplicationError
from opsadmin.models import User

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "esiid": "10089010000000001",
    "utility": "centerpoint",
    "plan_code": "SAVER12",
    "customer": {"first_name": "Ann", "last_name": "Lee"},
    "service_address": {"line1": "1 Main", "city": "Houston", "state": "TX", "zip": "77002"},
}


def _row(n: int = 1, payload: dict | None = None, kind: str = "create_prospect") -> BillingRequest:
    return billing_request_create(
        kind=kind,
        subject_type="test",
        subject_id=n,
        payload=payload or PAYLOAD,
        idempotency_key=f"{kind}:test:{n}",
        utility_code="centerpoint",
    )


def _stats(esg_url: str) -> dict:
    return httpx.get(f"{esg_url}/_stats").json()


@pytest.fixture
def events():
    """Record what billing reports upward (as enrollments' handlers would receive it)."""
    seen: list[tuple] = []

    def on_ack(event):
        seen.append(("ack", event.subject_type, event.subject_id, event.ack.prospect_id))

    def on_status(event):
        status = event.status
        seen.append(("status", event.subject_type, event.subject_id, status.status, status.reason))

    core_events.subscribe(core_events.ProspectAcknowledged, on_ack)
    core_events.subscribe(core_events.ProspectStatusChanged, on_status)
    yield seen
    core_events.unsubscribe(core_events.ProspectAcknowledged, on_ack)
    core_events.unsubscribe(core_events.ProspectStatusChanged, on_status)


def test_send_acknowledged_once(esg_url, events):
    row = _row()
    assert outbox.send(row.pk) == "sent"
    assert outbox.send(row.pk) == "skipped"  # already sent: nothing goes out again
    row.refresh_from_db()
    assert (row.state, row.attempts, row.prospect_id, row.prospect_status) == (
        "sent",
        1,
        "P00000001",
        "pending",
    )
    assert row.response == {"prospect_id": "P00000001", "status": "pending"}
    assert row.next_attempt_at is None
    assert events == [("ack", "test", 1, "P00000001")]
    assert _stats(esg_url)["create_calls"] == 1


def test_transient_error_backs_off_then_succeeds_with_same_prospect(esg_url, events):
    row = _row()
    set_fault(esg_url.removesuffix("/esg"), "esg", outage=True)
    before = timezone.now()
    assert outbox.send(row.pk) == "retrying"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("retrying", 1)
    assert row.last_error == "ESG POST /prospects: HTTP 503 service unavailable (outage)"
    assert (
        before + timedelta(seconds=2)
        <= row.next_attempt_at
        <= timezone.now() + timedelta(seconds=2)
    )
    assert outbox.send(row.pk) == "skipped"  # not due yet
    assert outbox.due_request_ids() == []

    BillingRequest.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert outbox.due_request_ids() == [row.pk]
    assert outbox.send(row.pk) == "retrying"
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=3)  # 4 s after attempt 2

    httpx.delete(f"{esg_url.removesuffix('/esg')}/_faults")
    BillingRequest.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert outbox.send(row.pk) == "sent"
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, "")
    assert _stats(esg_url)["prospects"] == 1


def test_backoff_is_exponential_and_capped():
    assert [outbox.backoff_seconds(n) for n in (1, 2, 3, 4, 10)] == [2, 4, 8, 16, 1024]
    assert outbox.backoff_seconds(20) == 3600


def test_out_of_attempts_fails(esg_url):
    row = _row()
    BillingRequest.objects.filter(pk=row.pk).update(attempts=outbox.MAX_ATTEMPTS - 1)
    set_fault(esg_url.removesuffix("/esg"), "esg", error_rate=1.0)
    assert outbox.send(row.pk) == "failed"
    row.refresh_from_db()
    assert (row.state, row.attempts, row.next_attempt_at) == ("failed", outbox.MAX_ATTEMPTS, None)
    assert row.last_error == "ESG POST /prospects: HTTP 500 injected server error"


def test_permanent_error_fails_at_once(esg_url, events):
    row = _row(payload={"esiid": "10089010000000001"})
    assert outbox.send(row.pk) == "failed"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error == (
        "ESG POST /prospects: HTTP 422 missing fields: utility, plan_code, customer, "
        "service_address"
    )
    assert events == []


def test_lost_claim_is_swept_and_sent_once(esg_url):
    row = _row()
    claimed = outbox._claim(row.pk)  # a worker claimed it ... and died
    assert claimed is not None
    assert outbox.send(row.pk) == "skipped"  # the lease still holds
    assert outbox.due_request_ids() == []
    BillingRequest.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.due_request_ids() == [row.pk]
    assert outbox.send(row.pk) == "sent"
    # The dead worker's late answer (if it ever came) does not overwrite the newer one.
    assert outbox._record_failure(claimed, RuntimeError("late"), transient=True) == "skipped"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("sent", 2)


def test_cancel_and_drop_kinds(esg_url):
    cancel = _row(1, {"esiid": "10089010000000001"}, kind="cancel")
    move_out = _row(2, {"esiid": "10089010000000001"}, kind="move_out")
    assert outbox.send(cancel.pk) == outbox.send(move_out.pk) == "sent"
    move_out.refresh_from_db()
    assert move_out.response == {"request_id": "DR0000002", "status": "received"}
    stats = _stats(esg_url)
    assert (stats["cancels"], stats["drops"], stats["prospects"]) == (1, 1, 0)


def test_status_poll_reports_final_statuses(esg_url, events):
    httpx.post(f"{esg_url}/_config", json={"pending_seconds": 0}).raise_for_status()
    ok = _row(1)
    bad = _row(2, {**PAYLOAD, "esiid": "10089010000088888"})
    outbox.send(ok.pk)
    outbox.send(bad.pk)
    assert prospect_statuses_poll() == {
        "checked": 2,
        "accepted": 1,
        "active": 0,
        "rejected": 1,
        "pending": 0,
        "errors": 0,
    }
    ok.refresh_from_db()
    bad.refresh_from_db()
    assert (ok.prospect_status, bad.prospect_status) == ("accepted", "rejected")
    assert ok.response["final_status"]["billing_account_number"].startswith("BA")
    assert events[2:] == [
        ("status", "test", 1, "accepted", ""),
        ("status", "test", 2, "rejected", "Switch hold on the premise"),
    ]
    # the rejected one is final; the accepted one is asked again (its switch has yet to
    # complete) and the same answer changes nothing
    again = prospect_statuses_poll()
    assert (again["checked"], again["accepted"]) == (1, 1)
    assert len(events) == 4


def test_status_poll_stops_when_vendor_down(esg_url, events):
    row = _row()
    outbox.send(row.pk)
    set_fault(esg_url.removesuffix("/esg"), "esg", outage=True)
    assert prospect_statuses_poll()["errors"] == 1
    row.refresh_from_db()
    assert row.prospect_status == "pending"


def test_retry_service_only_for_waiting_rows(esg_url, django_capture_on_commit_callbacks):
    row = _row(payload={"esiid": "1"})
    outbox.send(row.pk)
    row.refresh_from_db()
    assert row.state == "failed"
    with django_capture_on_commit_callbacks() as callbacks:
        billing_request_retry(request=row)
    assert len(callbacks) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts, row.attempts_at_retry) == ("queued", 1, 1)
    # Still waiting (queued): "retry now" queues it again.
    billing_request_retry(request=row)
    BillingRequest.objects.filter(pk=row.pk).update(payload=PAYLOAD)
    assert outbox.send(row.pk) == "sent"
    with pytest.raises(ApplicationError, match="Only a waiting request"):
        billing_request_retry(request=row)
    row.refresh_from_db()
    assert row.state == "sent"


def _ops(client):
    user = User.objects.create_user(username="ops1", password="pw-x-123456", kind="staff")
    user.groups.add(Group.objects.get(name="Ops"))
    client.force_login(user)
    return user


def test_exceptions_queue_lists_failed_and_retries(esg_url, client):
    failed = _row(1, payload={"esiid": "1"})
    fine = _row(2)
    outbox.send(failed.pk)
    outbox.send(fine.pk)
    _ops(client)
    page = client.get("/billing/exceptions/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="billing-request-{failed.pk}"' in html
    assert f'id="billing-request-{fine.pk}"' not in html
    assert "HTTP 422 missing fields" in html

    response = client.post(f"/billing/exceptions/{failed.pk}/retry/")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.state == "queued"

    # htmx: the row comes back in place, with the message out of band.
    BillingRequest.objects.filter(pk=failed.pk).update(state="failed")
    response = client.post(f"/billing/exceptions/{failed.pk}/retry/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="billing-request-{failed.pk}">')
    assert "queued to be sent again" in body
    assert 'hx-swap-oob="true"' in body

    # Not retryable (being sent right now): refused, nothing changes.
    BillingRequest.objects.filter(pk=failed.pk).update(state="sending")
    response = client.post(f"/billing/exceptions/{failed.pk}/retry/", HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    failed.refresh_from_db()
    assert failed.state == "sending"


def test_exceptions_queue_needs_permission(client):
    row = _row(payload={"esiid": "1"})
    BillingRequest.objects.filter(pk=row.pk).update(state="failed")
    agent = User.objects.create_user(username="agent1", password="pw-x-123456", kind="staff")
    agent.groups.add(Group.objects.get(name="Agent"))
    client.force_login(agent)
    assert client.get("/billing/exceptions/").status_code == 403
    assert client.post(f"/billing/exceptions/{row.pk}/retry/").status_code == 403
    row.refresh_from_db()
    assert row.state == "failed"
    client.logout()
    response = client.get("/billing/exceptions/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
