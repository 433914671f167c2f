"""The batched outbox path (claim many in one statement, send concurrently, record in one
transaction) and the coalesced after-commit enqueue, against the ESG simulator over HTTP."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

from billing import outbox
from billing.models import BillingRequest
from billing.services import billing_request_create, billing_requests_enqueue
from billing.tasks import billing_outbox_sweep
from billing.tests.outbox_rows import request_payload, request_row
from conftest import set_fault
from enrollments.services import EnrollmentInput, enrollment_submit, enrollment_transition
from enrollments.tests.factories import make_catalogue
from opsadmin import events as core_events
from opsadmin.celery import app as celery_app
from opsadmin.errors import ApplicationError
from opsadmin.outbox import _AfterCommit

_payload, _row = request_payload, request_row


def _stats(esg_url: str) -> dict:
    return httpx.get(f"{esg_url}/_stats").json()


@pytest.fixture
def events():
    seen: list[tuple] = []

    def on_ack(event):
        seen.append(("ack", event.subject_type, event.subject_id, event.ack.prospect_id))

    def on_request(event):
        seen.append(
            (event.kind, event.subject_type, event.subject_id, event.response["request_id"])
        )

    core_events.subscribe(core_events.ProspectAcknowledged, on_ack)
    core_events.subscribe(core_events.BillingRequestAcknowledged, on_request)
    yield seen
    core_events.unsubscribe(core_events.ProspectAcknowledged, on_ack)
    core_events.unsubscribe(core_events.BillingRequestAcknowledged, on_request)


@pytest.fixture
def eager_celery():
    """Tasks run in-process when queued (the batch task itself, not a stand-in)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


# -- create ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_create_is_one_row_per_key_and_returns_the_stored_row():
    first = _row(1)
    again = billing_request_create(
        kind="cancel",
        subject_type="other",
        subject_id=9,
        payload={"x": 1},
        idempotency_key="create_prospect:test:1",
    )
    assert again.pk == first.pk
    assert (again.kind, again.subject_type, again.subject_id) == ("create_prospect", "test", 1)
    stored = BillingRequest.objects.get(pk=first.pk)
    assert (stored.state, stored.attempts, stored.payload, stored.utility_code) == (
        "queued",
        0,
        _payload(1),
        "centerpoint",
    )
    assert stored.next_attempt_at == first.next_attempt_at == stored.created_at
    assert BillingRequest.objects.count() == 1


# -- claim -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_claim_batch_takes_only_due_rows_oldest_first_up_to_limit():
    rows = [_row(n) for n in range(1, 6)]
    now = timezone.now()
    BillingRequest.objects.filter(pk=rows[0].pk).update(
        state="retrying", next_attempt_at=now + timedelta(minutes=5)
    )  # not due yet
    BillingRequest.objects.filter(pk=rows[1].pk).update(state="sent", next_attempt_at=None)
    BillingRequest.objects.filter(pk=rows[2].pk).update(
        state="sending", attempts=1, next_attempt_at=now - timedelta(minutes=30)
    )  # lease ran out: claimable again
    BillingRequest.objects.filter(pk=rows[3].pk).update(next_attempt_at=now - timedelta(hours=1))

    claimed = outbox.claim_batch(limit=2)
    assert [r.pk for r in claimed] == [rows[2].pk, rows[3].pk]  # oldest due first
    assert [(r.state, r.attempts) for r in claimed] == [("sending", 2), ("sending", 1)]
    assert all(r.next_attempt_at > timezone.now() + timedelta(seconds=50) for r in claimed)
    assert claimed[0].payload == _payload(3)  # full rows come back, JSON decoded

    assert [r.pk for r in outbox.claim_batch(ids=[rows[0].pk, rows[1].pk, rows[4].pk])] == [
        rows[4].pk
    ]
    assert outbox.claim_batch() == []  # nothing else is due
    assert outbox.claim_batch(ids=[]) == []


@pytest.mark.django_db(transaction=True)
def test_claim_batch_skips_rows_another_worker_holds():
    rows = [_row(n) for n in range(1, 4)]
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        from django.db import connection

        with transaction.atomic():
            BillingRequest.objects.select_for_update().filter(pk=rows[1].pk).get()
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        claimed = outbox.claim_batch(ids=[r.pk for r in rows])  # does not wait for the lock
        assert [r.pk for r in claimed] == [rows[0].pk, rows[2].pk]
    finally:
        release.set()
        thread.join(10)
    assert [r.pk for r in outbox.claim_batch()] == [rows[1].pk]


# -- send --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_send_batch_mixed_outcomes_report_each_row_once(esg_url, events):
    good = [_row(n) for n in (1, 2, 3)]
    invalid = _row(4, payload={"esiid": "10089010000000004"})
    cancel = _row(5, payload={"esiid": "10089010000000005"}, kind="cancel")
    later = _row(6)
    BillingRequest.objects.filter(pk=later.pk).update(
        state="retrying", next_attempt_at=timezone.now() + timedelta(minutes=1)
    )

    results = outbox.send_batch(limit=50)

    assert results == {
        good[0].pk: "sent",
        good[1].pk: "sent",
        good[2].pk: "sent",
        invalid.pk: "failed",
        cancel.pk: "sent",
    }
    rows = {r.pk: r for r in BillingRequest.objects.all()}
    prospects = _stats(esg_url)["prospect_keys"]
    for row in good:
        stored = rows[row.pk]
        assert (stored.state, stored.attempts, stored.prospect_status, stored.last_error) == (
            "sent",
            1,
            "pending",
            "",
        )
        assert stored.prospect_id == prospects[row.idempotency_key]
        assert stored.response == {"prospect_id": stored.prospect_id, "status": "pending"}
        assert stored.next_attempt_at is None and stored.sent_at is not None
    assert len(prospects) == 3
    assert (rows[invalid.pk].state, rows[invalid.pk].attempts) == ("failed", 1)
    assert rows[invalid.pk].last_error == (
        "ESG POST /prospects: HTTP 422 missing fields: utility, plan_code, customer, "
        "service_address"
    )
    assert rows[cancel.pk].response == {"request_id": "CR0000001", "status": "received"}
    assert rows[cancel.pk].prospect_id == ""
    assert (rows[later.pk].state, rows[later.pk].attempts) == ("retrying", 0)

    # Each acknowledged row was reported once, with its own subject and answer.
    assert sorted(events) == sorted(
        [("ack", "test", n, rows[good[n - 1].pk].prospect_id) for n in (1, 2, 3)]
        + [("cancel", "test", 5, "CR0000001")]
    )
    assert outbox.send_batch() == {}  # nothing due: nothing goes out again
    assert _stats(esg_url)["create_calls"] == 4


@pytest.mark.django_db
def test_send_batch_outage_backs_every_row_off(esg_url, events):
    rows = [_row(n) for n in range(1, 5)]
    set_fault(esg_url.removesuffix("/esg"), "esg", outage=True)
    before = timezone.now()
    assert set(outbox.send_batch().values()) == {"retrying"}
    for row in BillingRequest.objects.filter(pk__in=[r.pk for r in rows]):
        assert (row.state, row.attempts) == ("retrying", 1)
        assert row.last_error == "ESG POST /prospects: HTTP 503 service unavailable (outage)"
        assert before + timedelta(seconds=2) <= row.next_attempt_at
        assert row.next_attempt_at <= timezone.now() + timedelta(seconds=2)
    assert events == []
    assert outbox.due_request_ids() == []


@pytest.mark.django_db
def test_late_answers_of_a_lost_batch_do_not_overwrite_newer_ones(esg_url, events):
    rows = [_row(n) for n in (1, 2)]
    stale = outbox.claim_batch()  # a worker claimed both ... and stalled
    BillingRequest.objects.filter(pk=rows[1].pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.send_batch() == {rows[1].pk: "sent"}  # another worker, after the lease

    late = [
        outbox.Outcome(stale[0], error=RuntimeError("late"), transient=True),
        outbox.Outcome(stale[1], error=RuntimeError("late"), transient=True),
    ]
    with transaction.atomic():
        assert outbox._record_all(late) == {rows[0].pk: "retrying", rows[1].pk: "skipped"}
    second = BillingRequest.objects.get(pk=rows[1].pk)
    assert (second.state, second.attempts, second.last_error) == ("sent", 2, "")
    assert [e[2] for e in events] == [2]


@pytest.mark.django_db
def test_a_failing_handler_holds_back_only_its_row(esg_url):
    rows = [_row(n) for n in (1, 2, 3)]

    def handler(event):
        subject_id, ack = event.subject_id, event.ack
        # What the handler writes commits with the row's answer, or not at all (a second
        # create of the same key would raise if a rolled-back pass had left it behind).
        BillingRequest.objects.create(
            kind="cancel",
            subject_type="marker",
            subject_id=subject_id,
            payload={"prospect_id": ack.prospect_id},
            idempotency_key=f"marker:{subject_id}",
        )
        if subject_id == 2:
            raise RuntimeError("handler bug")
        if subject_id == 3:
            raise ApplicationError("not now")  # refused: logged, the answer still stands

    core_events.subscribe(core_events.ProspectAcknowledged, handler)
    try:
        results = outbox.send_batch()
    finally:
        core_events.unsubscribe(core_events.ProspectAcknowledged, handler)

    assert results == {rows[0].pk: "sent", rows[1].pk: "error", rows[2].pk: "sent"}
    stored = {r.subject_id: r for r in BillingRequest.objects.filter(subject_type="test")}
    assert (stored[1].state, stored[3].state) == ("sent", "sent")
    # The failing row stays claimed; after its lease the sweeper sends it again (same key).
    assert (stored[2].state, stored[2].attempts, stored[2].prospect_id) == ("sending", 1, "")
    markers = dict(
        BillingRequest.objects.filter(subject_type="marker").values_list("subject_id", "payload")
    )
    assert markers == {
        1: {"prospect_id": stored[1].prospect_id},
        3: {"prospect_id": stored[3].prospect_id},
    }
    BillingRequest.objects.filter(pk=rows[1].pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.send_batch(ids=[rows[1].pk]) == {rows[1].pk: "sent"}
    assert _stats(esg_url)["prospects"] == 3


@pytest.mark.django_db
def test_rows_that_would_outlive_the_lease_are_not_sent(esg_url, settings):
    settings.BILLING_SEND_THREADS = 1
    settings.BILLING_SEND_LEASE_SECONDS = 0  # the deadline has passed before the first call
    rows = [_row(n) for n in (1, 2, 3)]
    assert outbox.send_batch() == {
        rows[0].pk: "sent",  # the first wave always goes
        rows[1].pk: "retrying",
        rows[2].pk: "retrying",
    }
    for row in BillingRequest.objects.filter(pk__in=[rows[1].pk, rows[2].pk]):
        assert (row.attempts, row.last_error) == (1, outbox.NOT_ATTEMPTED)
    assert _stats(esg_url)["create_calls"] == 1


# -- enqueue -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_one_transaction_queues_one_callback_sent_in_batches(
    esg_url, settings, eager_celery, events, django_capture_on_commit_callbacks
):
    settings.BILLING_SEND_BATCH = 4
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        rows = [_row(n) for n in range(1, 11)]
    assert len(callbacks) == 1
    assert callbacks[0].ids == [r.pk for r in rows]
    assert billing_requests_enqueue(request_ids=[]) == 0

    callbacks[0]()  # commit: 3 tasks of 4, 4 and 2 rows (run in-process here)
    assert BillingRequest.objects.filter(state="sent").count() == 10
    assert sorted(e[2] for e in events) == list(range(1, 11))
    assert _stats(esg_url)["prospects"] == 10


@pytest.mark.django_db
def test_enqueue_callback_survives_savepoint_rollbacks(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                lost = _row(1)  # its callback is dropped with the savepoint
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        kept = _row(2)
        try:
            with transaction.atomic():
                gone = _row(3)  # joins the outer callback; its row is rolled back
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert [type(c) for c in callbacks] == [_AfterCommit]
    assert callbacks[0].ids == [kept.pk, gone.pk]
    assert not BillingRequest.objects.filter(pk__in=[lost.pk, gone.pk]).exists()
    assert outbox.claim_batch(ids=callbacks[0].ids) != []  # the missing id is simply skipped


@pytest.mark.django_db
def test_sweeper_sends_due_retries_and_lost_claims(esg_url, eager_celery, settings):
    settings.BILLING_SEND_BATCH = 2
    rows = [_row(n) for n in range(1, 6)]
    past = timezone.now() - timedelta(seconds=1)
    BillingRequest.objects.filter(pk__in=[r.pk for r in rows[:2]]).update(
        state="retrying", attempts=1, next_attempt_at=past
    )
    BillingRequest.objects.filter(pk=rows[2].pk).update(
        state="sending", attempts=1, next_attempt_at=past
    )
    BillingRequest.objects.filter(pk=rows[3].pk).update(
        state="sending", attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=1)
    )  # a claim still held by a live worker
    assert billing_outbox_sweep() == 4  # three past due + one queued
    states = dict(BillingRequest.objects.values_list("subject_id", "state"))
    assert states == {1: "sent", 2: "sent", 3: "sent", 4: "sending", 5: "sent"}
    assert _stats(esg_url)["prospects"] == 4


# -- the handlers enrollments registered, called per row of a batch ----------------------
@pytest.mark.django_db
def test_batch_moves_each_enrollment_to_pending_with_its_own_prospect(esg_url):
    make_catalogue()
    esiids = [f"100890100000{n:05d}" for n in (601, 602, 603)]
    with transaction.atomic():  # one transaction: one callback, one batch
        enrollments = [
            enrollment_submit(
                data=EnrollmentInput(
                    zip_code="77002",
                    utility_code="centerpoint",
                    customer_type_code="residential",
                    plan_code="SAVER12",
                    first_name="Maya",
                    last_name="Reyes",
                    email=f"maya{esiid[-3:]}@example.com",
                    esiid=esiid,
                    address_line1="5 Elm St",
                    city="Houston",
                ),
                channel="quick",
            )
            for esiid in esiids
        ]
    enrollment_transition(enrollment=enrollments[1], to_status="cancelled", source="test")

    rows = BillingRequest.objects.filter(subject_type="enrollment")
    assert set(outbox.send_batch(ids=list(rows.values_list("pk", flat=True))).values()) == {"sent"}
    prospects = {r.subject_id: r.prospect_id for r in rows}
    assert len(set(prospects.values())) == 3
    by_key = _stats(esg_url)["prospect_keys"]
    assert sorted(by_key.values()) == sorted(prospects.values())
    for enrollment in enrollments:
        enrollment.refresh_from_db()
        assert enrollment.esg_prospect_id == prospects[enrollment.pk]
    ok = [enrollments[0], enrollments[2]]
    assert [e.status for e in ok] == ["pending", "pending"]
    for enrollment in ok:
        assert [(ev.from_status, ev.to_status, ev.source) for ev in enrollment.events.all()] == [
            ("draft", "submitted", "quick"),
            ("submitted", "pending", "billing-system"),
        ]
    # Cancelled while in flight: the prospect id is kept, no transition.
    assert enrollments[1].status == "cancelled"
    assert [ev.to_status for ev in enrollments[1].events.all()] == ["submitted", "cancelled"]
