"""The core outbox engine (``opsadmin.outbox``) as the billing and DERMS outboxes use it:
concurrent claims, lease expiry, backoff, attempt records, retry-now and its permission."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from billing import outbox
from billing.models import BillingRequest
from billing.services import billing_requests_create
from conftest import set_fault
from opsadmin import outbox as engine
from opsadmin.errors import ApplicationError
from opsadmin.models import OutboxAttempt, User
from programs import outbox as programs_outbox

PAYLOAD = {
    "utility": "centerpoint",
    "plan_code": "SAVER12",
    "customer": {"first_name": "Ann", "last_name": "Lee"},
    "service_address": {"line1": "1 Main", "city": "Houston", "state": "TX", "zip": "77002"},
}


def _rows(count: int) -> list[BillingRequest]:
    """Outbox rows written as a service writes them (one transaction, sent after commit)."""
    with transaction.atomic():
        return billing_requests_create(
            rows=[
                {
                    "kind": "create_prospect",
                    "subject_type": "test",
                    "subject_id": n,
                    "payload": {**PAYLOAD, "esiid": f"1008901{n:010d}"},
                    "idempotency_key": f"engine:test:{n}",
                    "utility_code": "centerpoint",
                }
                for n in range(1, count + 1)
            ]
        )


@pytest.fixture
def no_enqueue():
    """The after-commit enqueue records the ids instead of queueing Celery tasks (this test
    plays the workers itself)."""
    queued: list[list[int]] = []
    original = outbox.OUTBOX.enqueue
    outbox.OUTBOX.enqueue = queued.append
    yield queued
    outbox.OUTBOX.enqueue = original


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_claim_the_same_row(no_enqueue):
    rows = _rows(30)
    assert sorted(i for batch in no_enqueue for i in batch) == [r.pk for r in rows]
    barrier = threading.Barrier(2)
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            # Each thread has its own database connection: two real concurrent claims.
            claimed[name] = [r.pk for r in outbox.claim_batch(limit=20)]
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    a, b = claimed["a"], claimed["b"]
    assert set(a).isdisjoint(b)
    assert sorted(a + b) == [r.pk for r in rows]  # every row once
    # Each claim stays within its limit; how the 30 split depends on how the two scans
    # interleave (SKIP LOCKED passes over the rows the other is locking at that moment).
    assert max(len(a), len(b)) <= 20
    states = set(BillingRequest.objects.values_list("state", "attempts"))
    assert states == {("sending", 1)}


@pytest.mark.django_db
def test_a_lost_claim_is_claimed_again_after_its_lease(esg_url, no_enqueue):
    (row,) = _rows(1)
    first = outbox.claim_batch(ids=[row.pk])
    assert [r.pk for r in first] == [row.pk]
    assert outbox.claim_batch(ids=[row.pk]) == []  # leased: nobody else takes it
    assert outbox.due_request_ids() == []
    # The worker died; its lease runs out.
    BillingRequest.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.due_request_ids() == [row.pk]
    assert outbox.send(row.pk) == "sent"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("sent", 2)
    # The first worker's late answer finds the claim no longer its own.
    assert outbox._record_failure(first[0], RuntimeError("late"), transient=True) == "skipped"
    row.refresh_from_db()
    assert (row.state, row.last_error) == ("sent", "")
    attempts = list(OutboxAttempt.objects.filter(outbox="billing", message_id=row.pk))
    assert [(a.number, a.outcome, a.error) for a in attempts] == [(2, "sent", "")]


def test_backoff_schedules():
    assert [outbox.backoff_seconds(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 16, 32]
    assert outbox.backoff_seconds(30) == 3600
    derms = programs_outbox.OUTBOX
    assert [derms.backoff_seconds(n) for n in (1, 2, 3, 8)] == [30, 60, 120, 3600]

    class Limited(Exception):
        retry_after = 95.0

    assert derms.retry_delay_seconds(1, Limited()) == 95.0  # never sooner than asked
    assert derms.retry_delay_seconds(3, Limited()) == 120.0  # our backoff is longer


@pytest.mark.django_db
def test_each_attempt_is_recorded_and_retry_now_sends_a_waiting_row(
    esg_url, no_enqueue, django_capture_on_commit_callbacks
):
    (row,) = _rows(1)
    set_fault(esg_url.removesuffix("/esg"), "esg", outage=True)
    assert outbox.send(row.pk) == "retrying"
    row.refresh_from_db()
    assert row.next_attempt_at > timezone.now()  # backing off
    assert outbox.send(row.pk) == "skipped"  # not due

    # Ops: "Send now" on a row that is waiting (not failed).
    with django_capture_on_commit_callbacks(execute=True):
        outbox.OUTBOX.retry_now(row.pk)
    assert no_enqueue[-1] == [row.pk]
    row.refresh_from_db()
    assert row.state == "queued" and row.next_attempt_at <= timezone.now()
    httpx.delete(f"{esg_url.removesuffix('/esg')}/_faults").raise_for_status()
    assert outbox.send(row.pk) == "sent"
    with pytest.raises(ApplicationError, match="Only a waiting request"):
        outbox.OUTBOX.retry_now(row.pk)

    attempts = OutboxAttempt.objects.filter(outbox="billing", message_id=row.pk)
    assert [(a.number, a.outcome) for a in attempts] == [(1, "retrying"), (2, "sent")]
    assert "503" in attempts[0].error
    assert attempts[0].started_at <= attempts[0].finished_at


def _staff(client, username: str, group: str) -> User:
    user = User.objects.create_user(username=username, password="pw-x-123456", kind="staff")
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


@pytest.mark.django_db
def test_outbox_screen_lists_both_outboxes_and_ops_sends_a_waiting_row_now(
    esg_url, client, no_enqueue, django_capture_on_commit_callbacks
):
    (row,) = _rows(1)
    assert {o.name for o in engine.outboxes()} >= {"billing", "programs"}
    _staff(client, "ops1", "Ops")
    page = client.get("/outbox/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="outbox-billing-{row.pk}"' in html
    assert 'id="outbox-programs"' in html  # one screen for both outboxes
    assert f'action="/outbox/billing/{row.pk}/retry/"' in html  # queued: waiting too

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/outbox/billing/{row.pk}/retry/")
    assert response.status_code == 302
    assert response["Location"] == "/outbox/?outbox=billing"
    assert no_enqueue[-1] == [row.pk]
    row.refresh_from_db()
    assert row.state == "queued"


@pytest.mark.django_db
def test_an_agent_may_not_send_now(esg_url, client, no_enqueue):
    (row,) = _rows(1)
    set_fault(esg_url.removesuffix("/esg"), "esg", outage=True)
    assert outbox.send(row.pk) == "retrying"
    row.refresh_from_db()
    before = (row.state, row.attempts, row.next_attempt_at)
    enqueued = len(no_enqueue)
    _staff(client, "agent1", "Agent")
    assert client.get("/outbox/").status_code == 403
    assert client.post(f"/outbox/billing/{row.pk}/retry/").status_code == 403
    row.refresh_from_db()
    assert (row.state, row.attempts, row.next_attempt_at) == before
    assert len(no_enqueue) == enqueued


@pytest.mark.django_db
def test_the_agent_is_told_when_a_submission_waits_on_the_billing_system(
    esg_url, client, no_enqueue
):
    from enrollments.services import EnrollmentInput, enrollment_submit
    from enrollments.tests.factories import make_catalogue

    make_catalogue()
    enrollment = enrollment_submit(
        data=EnrollmentInput(
            zip_code="77002",
            utility_code="centerpoint",
            customer_type_code="residential",
            plan_code="SAVER12",
            first_name="Maya",
            last_name="Reyes",
            email="maya.wait@example.com",
            esiid="10089010000077701",
            address_line1="5 Elm St",
            city="Houston",
        ),
        channel="quick",
    )
    row = BillingRequest.objects.get(subject_type="enrollment", subject_id=enrollment.pk)
    _staff(client, "agent1", "Agent")
    url = f"/enrollments/{enrollment.pk}/"
    assert "Waiting on the billing system" not in client.get(url).content.decode()  # just sent

    set_fault(esg_url.removesuffix("/esg"), "esg", outage=True)
    assert outbox.send(row.pk) == "retrying"
    html = client.get(url).content.decode()
    since = timezone.localtime(row.created_at).strftime("%H:%M")
    assert f"Waiting on the billing system since {since}" in html
    assert "it will be sent automatically" in html
    # The Quick Enrollment done screen asks the same a few seconds after the submission.
    poll = f"/enrollments/{enrollment.pk}/billing-waiting/"
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        answer = client.get(poll, **headers)
        assert answer.status_code == 200
        assert f"Waiting on the billing system since {since}" in answer.content.decode()

    httpx.delete(f"{esg_url.removesuffix('/esg')}/_faults").raise_for_status()
    BillingRequest.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert outbox.send(row.pk) == "sent"
    assert "Waiting on the billing system" not in client.get(url).content.decode()
    answer = client.get(poll, HTTP_HX_REQUEST="true")
    assert (answer.status_code, answer.content) == (286, b"")  # acknowledged: stop asking
