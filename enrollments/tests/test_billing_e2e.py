"""End to end: enrollment_submit -> outbox -> real Celery worker -> ESG simulator over HTTP
-> status poll -> accepted (billing account number stored) or rejected (reason)."""

from __future__ import annotations

import httpx
import pytest
from django.core.management import call_command

from billing.adapters.esg import esg_client
from billing.models import BillingRequest
from billing.tasks import billing_outbox_sweep, billing_prospect_status_poll
from conftest import set_fault, wait_until
from enrollments.models import Enrollment
from enrollments.services import EnrollmentInput, enrollment_submit

pytestmark = pytest.mark.worker


def _input(esiid: str, *, utility: str = "centerpoint", zip_code: str = "77002") -> EnrollmentInput:
    return EnrollmentInput(
        zip_code=zip_code,
        utility_code=utility,
        customer_type_code="residential",
        plan_code="SAVER12",
        first_name="Ana",
        last_name="Flores",
        email=f"ana{esiid[-5:]}@example.com",
        esiid=esiid,
        address_line1="100 Main St",
        city="Houston",
    )


def _stats(sim: str) -> dict:
    return httpx.get(f"{sim}/esg/_stats").json()


def _status(pk: int) -> str:
    return Enrollment.objects.get(pk=pk).status


def _poll_until(pk: int, wanted: str) -> Enrollment:
    def check():
        enrollment = Enrollment.objects.get(pk=pk)
        if enrollment.status == wanted:
            return enrollment
        billing_prospect_status_poll.delay()
        return None

    return wait_until(check, timeout=30, interval=0.5)


@pytest.fixture
def demo(transactional_db, simulators_url):
    call_command("seed_demo", password="pw-demo-1", stdout=open("/dev/null", "w"))  # noqa: SIM115
    httpx.post(f"{simulators_url}/esg/_config", json={"pending_seconds": 0.5}).raise_for_status()
    return simulators_url


def test_submit_pending_accepted_and_rejected(demo, celery_worker):
    ok = enrollment_submit(data=_input("10089010000000001"), channel="quick")
    bad = enrollment_submit(data=_input("10089010000099999"), channel="quick")
    token = enrollment_submit(
        data=_input("10400510000000003", utility="tnmp", zip_code="77510"), channel="quick"
    )

    wait_until(lambda: {_status(ok.pk), _status(bad.pk), _status(token.pk)} == {"pending"})
    ok.refresh_from_db()
    assert ok.esg_prospect_id.startswith("P")
    assert ok.billing_account_number == ""

    ok = _poll_until(ok.pk, "accepted")
    bad = _poll_until(bad.pk, "rejected")
    token = _poll_until(token.pk, "accepted")

    with esg_client() as client:
        expected_ban = client.billing_account_lookup("10089010000000001")
    assert expected_ban is not None
    assert ok.billing_account_number == expected_ban
    assert ok.rejection_reason == ""
    assert bad.rejection_reason == "Unknown ESIID"
    assert bad.billing_account_number == ""
    # TNMP bills through the legacy token interface: no billing account number.
    assert token.billing_account_number == ""

    assert [(e.from_status, e.to_status, e.source) for e in ok.events.all()] == [
        ("draft", "submitted", "quick"),
        ("submitted", "pending", "billing-system"),
        ("pending", "accepted", "billing-system"),
    ]
    assert [e.to_status for e in bad.events.all()] == ["submitted", "pending", "rejected"]
    assert bad.events.last().note == "Unknown ESIID"
    rows = BillingRequest.objects.filter(
        subject_type="enrollment", subject_id__in=[ok.pk, bad.pk, token.pk]
    ).order_by("subject_id")
    assert [(r.state, r.prospect_status, r.attempts) for r in rows] == [
        ("sent", "accepted", 1),
        ("sent", "rejected", 1),
        ("sent", "accepted", 1),
    ]
    assert _stats(demo)["prospects"] == 3


@pytest.fixture
def short_lease(monkeypatch):
    """The worker subprocess reads this: a claim lost with a killed worker expires in 2 s."""
    monkeypatch.setenv("BILLING_SEND_LEASE_SECONDS", "2")


def test_outage_and_killed_worker_reach_billing_exactly_once(demo, short_lease, celery_worker):
    set_fault(demo, "esg", outage=True)
    esiids = [f"100890100000{n:05d}" for n in range(11, 17)]
    enrollments = [enrollment_submit(data=_input(e), channel="api") for e in esiids]
    ids = [e.pk for e in enrollments]
    rows = BillingRequest.objects.filter(subject_type="enrollment", subject_id__in=ids)

    # 100 % failure: every row is tried, fails with 503 and waits in ``retrying``.
    wait_until(lambda: all(r.state == "retrying" and r.attempts >= 1 for r in rows.all()))
    assert {r.last_error for r in rows.all()} == {
        "ESG POST /prospects: HTTP 503 service unavailable (outage)"
    }

    # The vendor comes back but slowly: sends hang in the worker; kill it mid-send.
    set_fault(demo, "esg", latency_ms=4000)

    def some_sending():
        if rows.filter(state="sending").exists():
            return True
        billing_outbox_sweep.delay()
        return False

    wait_until(some_sending, timeout=30, interval=0.5)
    in_flight = set(rows.filter(state="sending").values_list("pk", flat=True))
    celery_worker.kill()
    assert set(rows.filter(state="sending").values_list("pk", flat=True)) == in_flight

    # Recovery: faults cleared, a new worker, the sweeper finds retries and lost claims.
    httpx.delete(f"{demo}/_faults").raise_for_status()
    celery_worker.start()

    def all_sent():
        if rows.exclude(state="sent").exists():
            billing_outbox_sweep.delay()
            return False
        return True

    wait_until(all_sent, timeout=60, interval=0.5)
    wait_until(lambda: all(_status(pk) == "pending" for pk in ids))

    stats = _stats(demo)
    assert stats["prospects"] == len(ids)  # exactly once each, however many attempts
    keys = {r.idempotency_key: r for r in rows.all()}
    assert set(stats["prospect_keys"]) == set(keys)
    for key, row in keys.items():
        assert row.prospect_id == stats["prospect_keys"][key]
        assert Enrollment.objects.get(pk=row.subject_id).esg_prospect_id == row.prospect_id
        assert row.attempts >= 2
    assert len({r.prospect_id for r in keys.values()}) == len(ids)
