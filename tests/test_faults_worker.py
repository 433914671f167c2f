"""Faults in the middle of real work: Postgres connections terminated under a running worker,
and a worker SIGKILLed in the middle of an SMT interval pull. Nothing is lost or duplicated."""

from __future__ import annotations

import httpx
import pytest
from django.core.management import call_command
from django.db import connection

from billing.models import BillingRequest
from billing.tasks import billing_outbox_sweep
from conftest import set_fault, wait_until
from enrollments.models import Enrollment
from enrollments.services import EnrollmentInput, enrollment_submit

pytestmark = [pytest.mark.worker]


def _input(n: int) -> EnrollmentInput:
    return EnrollmentInput(
        zip_code="77002",
        utility_code="centerpoint",
        customer_type_code="residential",
        plan_code="SAVER12",
        first_name="Ana",
        last_name=f"Fault{n}",
        email=f"fault{n}@example.com",
        esiid=f"100890100000{n:05d}",
        address_line1="100 Main St",
        city="Houston",
    )


@pytest.fixture
def short_lease(monkeypatch):
    """Read by the worker subprocess: a claim lost with its connection expires in 2 s."""
    monkeypatch.setenv("BILLING_SEND_LEASE_SECONDS", "2")


@pytest.fixture
def demo(transactional_db, simulators_url):
    call_command("seed_demo", password="pw-demo-1", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return simulators_url


def _terminate_other_backends() -> int:
    """pg_terminate_backend on every other connection to the test database (the worker's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _sweep_until_sent(rows) -> None:
    def all_sent() -> bool:
        if rows.exclude(state="sent").exists():
            billing_outbox_sweep.delay()
            return False
        return True

    wait_until(all_sent, timeout=90, interval=0.5)


def test_worker_recovers_when_postgres_connections_are_terminated(demo, short_lease, celery_worker):
    set_fault(demo, "esg", latency_ms=2500)  # sends in flight long enough to cut under them
    enrollments = [enrollment_submit(data=_input(n), channel="api") for n in range(201, 207)]
    ids = [e.pk for e in enrollments]
    rows = BillingRequest.objects.filter(subject_type="enrollment", subject_id__in=ids)

    wait_until(lambda: rows.filter(state="sending").exists(), timeout=30)
    terminated = _terminate_other_backends()
    assert terminated >= 1  # the worker held connections, and lost them mid-send
    httpx.delete(f"{demo}/_faults").raise_for_status()

    _sweep_until_sent(rows)
    # The same worker processes keep working on new connections.
    later = [enrollment_submit(data=_input(n), channel="api") for n in range(207, 209)]
    later_rows = BillingRequest.objects.filter(
        subject_type="enrollment", subject_id__in=[e.pk for e in later]
    )
    _sweep_until_sent(later_rows)

    all_ids = ids + [e.pk for e in later]
    wait_until(lambda: all(Enrollment.objects.get(pk=pk).status == "pending" for pk in all_ids))
    stats = httpx.get(f"{demo}/esg/_stats").json()
    assert stats["prospects"] == len(all_ids)  # each exactly once
    prospect_ids = [Enrollment.objects.get(pk=pk).esg_prospect_id for pk in all_ids]
    assert len(set(prospect_ids)) == len(all_ids) and all(prospect_ids)


def test_killed_worker_mid_interval_pull_loses_and_duplicates_nothing(
    celery_worker, simulators_url
):
    from datetime import timedelta

    from opsadmin.celery import app
    from usage.models import IntervalDay, UsageSyncState
    from usage.services import today_chicago
    from usage.tasks import smt_pull, smt_refresh_all
    from usage.tests.factories import premise, smt_on

    smt_on(f"{simulators_url}/smt")
    sa = premise()
    set_fault(simulators_url, "smt", latency_ms=2000)
    smt_pull.delay(sa.pk, full=True)

    def in_flight() -> bool:
        active = app.control.inspect(timeout=0.5).active() or {}
        return any(t["name"] == "usage.smt_pull" for tasks in active.values() for t in tasks)

    wait_until(in_flight, timeout=30, interval=0.3)
    calls = lambda: sum(httpx.get(f"{simulators_url}/smt/_sim/stats").json()["calls"].values())  # noqa: E731
    before = calls()
    wait_until(lambda: calls() > before, timeout=30, interval=0.2)  # mid-pull, not before it
    celery_worker.kill()
    # the pull did not finish: no sync state says the data is through any day
    assert not UsageSyncState.objects.filter(
        service_account=sa, data_through__isnull=False
    ).exists()

    httpx.delete(f"{simulators_url}/_faults").raise_for_status()
    celery_worker.start()
    smt_refresh_all.delay()  # the daily refresh: how production recovers a lost pull

    state = wait_until(
        lambda: UsageSyncState.objects.filter(
            service_account=sa, data_through__isnull=False
        ).first(),
        timeout=90,
    )
    yesterday = today_chicago() - timedelta(days=1)
    assert state.data_through == yesterday
    consumption = IntervalDay.objects.filter(service_account=sa, channel="C")
    assert consumption.count() == 730  # every day of the 24 months, once
    assert consumption.values("day").distinct().count() == 730
    # A redelivered copy of the killed task (acks_late) is harmless: run the pull again.
    smt_pull(sa.pk, full=True)
    assert consumption.count() == 730


def test_killed_worker_mid_drop_send_loses_and_duplicates_no_drop(
    transactional_db, short_lease, celery_worker
):
    from datetime import timedelta

    from django.utils import timezone

    from drops.models import DropRequest
    from drops.services import drop_request_create
    from drops.tests import factories as f
    from opsadmin.models import ThirdPartyProvider

    sim = celery_worker.env["SIMULATORS_URL"]
    provider = ThirdPartyProvider.load()
    provider.esg_api_url = f"{sim}/esg"
    provider.esg_api_key = "test-esg-key"
    provider.save()
    util = f.utility()
    f.drop_code(util, "CRD", "Customer Requested Drop")
    set_fault(sim, "esg", latency_ms=3000)  # sends hang long enough to kill the worker
    drops = []
    for _ in range(5):
        e = f.active_enrollment(util=util)
        drops.append(
            drop_request_create(
                customer=e.customer,
                enrollment=e,
                kind=DropRequest.Kind.DROP,
                requested_date=timezone.localdate() + timedelta(days=10),
                reason_code="CRD",
            ).drop_request
        )
    ids = [d.pk for d in drops]
    rows = BillingRequest.objects.filter(subject_id__in=ids).exclude(subject_type="enrollment")
    wait_until(lambda: rows.count() == 5, timeout=30)

    def some_sending() -> bool:
        if rows.filter(state="sending").exists():
            return True
        billing_outbox_sweep.delay()
        return False

    wait_until(some_sending, timeout=30, interval=0.5)
    in_flight = set(rows.filter(state="sending").values_list("pk", flat=True))
    celery_worker.kill()
    assert set(rows.filter(state="sending").values_list("pk", flat=True)) == in_flight

    httpx.delete(f"{sim}/_faults").raise_for_status()
    celery_worker.start()
    _sweep_until_sent(rows)
    wait_until(
        lambda: (
            set(DropRequest.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}
        ),
        timeout=30,
    )
    stats = httpx.get(f"{sim}/esg/_stats").json()
    assert stats["drops"] == 5  # each drop reached billing exactly once
    assert rows.count() == 5
