"""Exactly once through a real worker, per fault: Create Prospect, drop, SMT agreement and
DERMS device sync, each with the fault on for a while and then cleared. The simulator's
``_stats`` (what it carried out) must grow by exactly the number of operations attempted,
and every operation must end known to the product (its external id stored, distinct).

A malformed answer is a permanent error: the operation stops with a staff-visible reason,
and the staff retry (same idempotency key) lands on what the system already did. SMT has no
idempotency key: a lost or garbled NewAgreement answer is recovered by finding the
agreement in ``/v2/myagreements/`` before asking again. SMT cannot be protected from its own
gateway duplicating NewAgreement, so ``duplicate_delivery`` there targets what SMT sends us
(the agreement status answers, each agreement listed twice), as ``out_of_order`` does.

Set ``FAULTS_REPORT=path`` to append one JSON line per scenario (``bench/faults_report.py``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from conftest import wait_until

pytestmark = [pytest.mark.worker]

N = 2  # operations per fault
OPTIONS: dict[str, dict[str, object]] = {
    "lose_response": {"mode": "drop"},
    "rate_limit": {"retry_after_s": 1},
    "malformed": {"mode": "truncated"},
    "duplicate_delivery": {},
    "out_of_order": {},
    "slow_body": {"gap_ms": 2000, "chunks": 2},
}
# bench/faults_report.py may pick faults and add a fault-free baseline ("none")
FAULTS = [
    f for f in os.environ.get("FAULTS_ONLY", "").split(",") if f and (f in OPTIONS or f == "none")
] or list(OPTIONS)


@pytest.fixture
def fast_clients(monkeypatch):
    """Read by the worker subprocess: short read timeouts (slow_body trickles past them) and
    a 1 s first retry for DERMS syncs (30 s in production)."""
    for name in ("ESG", "DERMS", "SMT"):
        monkeypatch.setenv(f"{name}_READ_TIMEOUT_SECONDS", "1.0")
    monkeypatch.setenv("PROGRAMS_SYNC_BACKOFF_SECONDS", "1")


@dataclass
class Op:
    name: str
    system: str
    endpoint: str
    counter: str  # key of ``carried_out`` in the system's _stats
    start: Callable[[int], object]
    done: Callable[[object], bool]
    failed: Callable[[object], str]  # the staff-visible reason of a permanent failure, or ""
    retry: Callable[[object], None]  # what staff do about it
    external_id: Callable[[object], str]
    nudge: Callable[[], None]  # what beat does in production (sweepers, polls)
    endpoints: dict[str, str] = field(default_factory=dict)  # per-fault endpoint override
    check: Callable[[object], None] = lambda handle: None  # more to assert once done


# The simulators share two cores with the worker and Postgres: calls of the test itself get
# a patient timeout (a slow answer here is load, not the fault under test).
PATIENT = httpx.Timeout(30.0)


def _stats(sim: str, system: str) -> dict:
    return httpx.get(f"{sim}/{system}/_stats", timeout=PATIENT).json()


def set_fault(sim: str, system: str, **fault) -> None:
    httpx.post(
        f"{sim}/_faults", json={"system": system, **fault}, timeout=PATIENT
    ).raise_for_status()


def clear_faults(sim: str) -> None:
    httpx.delete(f"{sim}/_faults", timeout=PATIENT).raise_for_status()


def _fired(sim: str, system: str, fault: str) -> int:
    return _stats(sim, system)["faults"]["fired"].get(fault, 0)


def _every(seconds: float, action: Callable[[], object]) -> Callable[[], None]:
    """Beat's part, but not more often than ``seconds`` (each check_pending queues a check of
    every due agreement: every 0.5 s would bury the worker under checks)."""
    last = [0.0]

    def nudge() -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            action()

    return nudge


def _report(row: dict) -> None:
    path = os.environ.get("FAULTS_REPORT")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")


def run_fault(op: Op, sim: str, fault: str) -> dict:
    t0 = time.monotonic()
    before = _stats(sim, op.system)["carried_out"][op.counter]
    fired_before = _fired(sim, op.system, fault)
    endpoint = op.endpoints.get(fault, op.endpoint)
    if fault != "none":
        set_fault(sim, op.system, **{fault: {"endpoint": endpoint, **OPTIONS[fault]}})
    handles = [op.start(i) for i in range(N)]

    # the fault stays on for a while: until it hit every operation (rate_limit: twice each)
    hits = 0 if fault == "none" else N * (2 if fault == "rate_limit" else 1)

    def hit() -> bool:
        op.nudge()
        return _fired(sim, op.system, fault) - fired_before >= hits

    wait_until(hit, timeout=60, interval=0.5)
    retried = []
    if fault == "malformed":
        # a permanent error with a clear reason, or (SMT) the agreement found and kept
        def settled() -> bool:
            return all(op.failed(h) or op.done(h) for h in handles)

        wait_until(settled, timeout=60, interval=0.5)
        for handle in handles:
            reason = op.failed(handle)
            if reason:
                assert "malformed" in reason, reason
                retried.append(reason)
    clear_faults(sim)
    for handle in handles:
        if op.failed(handle):
            op.retry(handle)

    def all_done() -> bool:
        op.nudge()
        return all(op.done(h) for h in handles)

    wait_until(all_done, timeout=90, interval=0.5)
    for handle in handles:
        op.check(handle)
    carried_out = _stats(sim, op.system)["carried_out"][op.counter] - before
    ids = [op.external_id(h) for h in handles]
    row = {
        "operation": op.name,
        "fault": fault,
        "attempted": N,
        "carried_out": carried_out,
        "duplicates": max(carried_out - N, 0) + (len(ids) - len(set(ids))),
        "lost": max(N - carried_out, 0) + sum(1 for i in ids if not i),
        "fault_fired": _fired(sim, op.system, fault) - fired_before,
        "staff_retries": len(retried),
        "seconds": round(time.monotonic() - t0, 1),
    }
    _report(row)
    assert (row["carried_out"], row["duplicates"], row["lost"]) == (N, 0, 0), row
    return row


def run_all(op: Op, sim: str) -> None:
    for fault in FAULTS:
        run_fault(op, sim, fault)


# --- Create Prospect --------------------------------------------------------------------------
def test_create_prospect_exactly_once_under_every_fault(fast_clients, celery_worker):
    from billing.models import BillingRequest
    from billing.services import billing_request_retry
    from billing.tasks import billing_outbox_sweep, billing_prospect_status_poll
    from enrollments.models import Enrollment
    from enrollments.services import EnrollmentInput, enrollment_submit
    from enrollments.tests.factories import make_catalogue
    from opsadmin.models import ThirdPartyProvider

    sim = celery_worker.env["SIMULATORS_URL"]
    make_catalogue()
    provider = ThirdPartyProvider.load()
    provider.esg_api_url = f"{sim}/esg"
    provider.esg_api_key = "test-esg-key"
    provider.save()
    httpx.post(f"{sim}/esg/_config", json={"pending_seconds": 0.5}).raise_for_status()
    seq = iter(range(1, 1000))

    def start(_i: int) -> int:
        n = next(seq)
        return enrollment_submit(
            data=EnrollmentInput(
                zip_code="77002",
                utility_code="centerpoint",
                customer_type_code="residential",
                plan_code="SAVER12",
                first_name="Ana",
                last_name=f"Once{n}",
                email=f"once{n}@example.com",
                esiid=f"1008901000000{n:04d}",
                address_line1="100 Main St",
                city="Houston",
            ),
            channel="api",
        ).pk

    def row(pk: int) -> BillingRequest:
        return BillingRequest.objects.get(subject_type="enrollment", subject_id=pk)

    state = {"fault": ""}

    def done(pk: int) -> bool:
        wanted = "accepted" if state["fault"] == "out_of_order" else "pending"
        return Enrollment.objects.get(pk=pk).status == wanted

    def failed(pk: int) -> str:
        r = row(pk)
        return r.last_error if r.state == BillingRequest.State.FAILED else ""

    def nudge() -> None:
        billing_outbox_sweep.delay()
        if state["fault"] == "out_of_order":
            billing_prospect_status_poll.delay()

    def check(pk: int) -> None:
        steps = list(Enrollment.objects.get(pk=pk).events.values_list("from_status", "to_status"))
        expected = [("submitted", "pending")]
        if state["fault"] == "out_of_order":
            expected.append(("pending", "accepted"))
        assert steps[-len(expected) :] == expected, steps
        assert len(steps) == len(set(steps)), steps  # no step twice

    op = Op(
        name="create_prospect",
        system="esg",
        endpoint="POST /prospects",
        counter="prospects_created",
        start=start,
        done=done,
        failed=failed,
        retry=lambda pk: billing_request_retry(request=row(pk)),
        external_id=lambda pk: Enrollment.objects.get(pk=pk).esg_prospect_id,
        nudge=nudge,
        endpoints={"out_of_order": "GET /prospects/*"},
        check=check,
    )
    for fault in FAULTS:
        state["fault"] = fault
        run_fault(op, sim, fault)


# --- drop -------------------------------------------------------------------------------------
def test_drop_exactly_once_under_every_fault(fast_clients, celery_worker):
    from billing.models import BillingRequest
    from billing.services import billing_request_retry
    from billing.tasks import billing_outbox_sweep
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

    def start(_i: int) -> int:
        e = f.active_enrollment(util=util)
        return drop_request_create(
            customer=e.customer,
            enrollment=e,
            kind=DropRequest.Kind.DROP,
            requested_date=timezone.localdate() + timedelta(days=10),
            reason_code="CRD",
        ).drop_request.pk

    def row(pk: int) -> BillingRequest | None:
        return (
            BillingRequest.objects.filter(subject_id=pk).exclude(subject_type="enrollment").first()
        )

    def failed(pk: int) -> str:
        r = row(pk)
        return r.last_error if r is not None and r.state == BillingRequest.State.FAILED else ""

    def external_id(pk: int) -> str:
        r = row(pk)
        return str((r.response or {}).get("request_id", "")) if r is not None else ""

    run_all(
        Op(
            name="drop",
            system="esg",
            endpoint="POST /drops",
            counter="drops",
            start=start,
            done=lambda pk: DropRequest.objects.get(pk=pk).status == "sent",
            failed=failed,
            retry=lambda pk: billing_request_retry(request=row(pk)),
            external_id=external_id,
            nudge=lambda: billing_outbox_sweep.delay(),
        ),
        sim,
    )


# --- SMT agreement ----------------------------------------------------------------------------
def test_smt_agreement_exactly_once_under_every_fault(fast_clients, celery_worker):
    from authorizations.models import UsageAuthorization
    from authorizations.services import authorization_create
    from authorizations.tasks import check_pending
    from authorizations.tests.factories import reference, smt_on

    sim = celery_worker.env["SIMULATORS_URL"]
    ref = reference()
    smt_on(f"{sim}/smt")
    seq = iter(range(1, 1000))
    state = {"fault": ""}
    # the customer answers at once where the fault is about status answers, else never (here)
    approving = ("duplicate_delivery", "out_of_order")

    def start(_i: int) -> int:
        n = next(seq)
        after = 1.0 if state["fault"] in approving else 3600
        esiid = f"1008901{n:010d}"
        httpx.post(
            f"{sim}/smt/_sim/agreements/config", json={"approve_after_s": after}, timeout=PATIENT
        ).raise_for_status()
        # an approval pulls 24 months of reads: "no data" keeps the simulator's CPU for the
        # agreement calls under test (the pull itself is tested in authorizations/)
        httpx.post(
            f"{sim}/smt/_sim/no_data", json={"esiid": esiid}, timeout=PATIENT
        ).raise_for_status()
        return authorization_create(
            origin="shopper",
            channel="wizard",
            esiid=esiid,
            meter_number=f"M{n}",
            email=f"shopper{n}@example.com",
            language="en",
            customer_type=ref["res"],
        ).pk

    def auth(pk: int) -> UsageAuthorization:
        return UsageAuthorization.objects.get(pk=pk)

    def done(pk: int) -> bool:
        a = auth(pk)
        wanted = "approved" if state["fault"] in approving else "requested"
        return bool(a.agreement_number) and a.status == wanted

    def failed(pk: int) -> str:
        a = auth(pk)
        return a.last_error if a.status == "not_requested" else ""

    def check(pk: int) -> None:
        steps = list(auth(pk).events.filter(kind="status").values_list("from_status", "to_status"))
        assert len(steps) == len(set(steps)), steps  # never the same move twice
        assert ("approved", "requested") not in steps  # never backwards

    op = Op(
        name="smt_agreement",
        system="smt",
        endpoint="POST /v2/NewAgreement/",
        counter="agreements_created",
        start=start,
        done=done,
        failed=failed,
        retry=lambda pk: None,
        external_id=lambda pk: auth(pk).agreement_number,
        nudge=_every(3.0, check_pending.delay),
        endpoints={
            "duplicate_delivery": "POST /v2/myagreements/",
            "out_of_order": "POST /v2/myagreements/",
        },
        check=check,
    )
    for fault in FAULTS:
        state["fault"] = fault
        run_fault(op, sim, fault)


# --- DERMS device sync ------------------------------------------------------------------------
def test_derms_device_sync_exactly_once_under_every_fault(fast_clients, celery_worker):
    from programs import services
    from programs.models import Device, ProgramEnrollment, SyncRequest
    from programs.services import DeviceInput, sync_request_retry
    from programs.tasks import sync_requests_sweep
    from programs.tests.factories import customer_with_premise, point_derms_at, program_setup

    sim = celery_worker.env["SIMULATORS_URL"]
    point_derms_at(sim)
    setup = program_setup()
    seq = iter(range(1, 1000))

    def start(_i: int) -> int:
        n = next(seq)
        customer, premise = customer_with_premise()
        enrollment = services.program_enrollment_create(
            customer=customer,
            service_account=premise,
            program=setup.program,
            devices=[
                DeviceInput(
                    asset_type_id=setup.thermostat.pk,
                    specification_id=setup.spec.pk,
                    serial_number=f"TSTAT-{n:04d}",
                    network_address=f"10.20.0.{n}",
                )
            ],
            channel=ProgramEnrollment.Channel.AGENT,
        )
        return enrollment.sync_requests.get().pk

    def sync(pk: int) -> SyncRequest:
        return SyncRequest.objects.get(pk=pk)

    def done(pk: int) -> bool:
        return sync(pk).state == SyncRequest.State.SENT

    def failed(pk: int) -> str:
        s = sync(pk)
        return s.last_error if s.state == SyncRequest.State.FAILED else ""

    def check(pk: int) -> None:
        device = Device.objects.get(sync_items__sync_request_id=pk)
        assert device.head_end_status == Device.HeadEndStatus.REGISTERED

    run_all(
        Op(
            name="derms_device_sync",
            system="derms",
            endpoint="POST /v1/customer-asset-sync",
            counter="device_syncs_applied",
            start=start,
            done=done,
            failed=failed,
            retry=lambda pk: sync_request_retry(sync_request=sync(pk)),
            external_id=lambda pk: str((sync(pk).response or {}).get("message_id", "")),
            nudge=lambda: sync_requests_sweep.delay(),
            check=check,
        ),
        sim,
    )


# --- a worker SIGKILLed in the middle of lose_response ----------------------------------------
@pytest.fixture
def short_lease(monkeypatch):
    """Read by the worker subprocess: a claim lost with its worker expires in 2 s."""
    monkeypatch.setenv("BILLING_SEND_LEASE_SECONDS", "2")


def test_worker_killed_while_answers_are_being_lost(short_lease, fast_clients, celery_worker):
    from billing.models import BillingRequest
    from billing.tasks import billing_outbox_sweep
    from enrollments.models import Enrollment
    from enrollments.services import EnrollmentInput, enrollment_submit
    from enrollments.tests.factories import make_catalogue
    from opsadmin.models import ThirdPartyProvider

    sim = celery_worker.env["SIMULATORS_URL"]
    make_catalogue()
    provider = ThirdPartyProvider.load()
    provider.esg_api_url = f"{sim}/esg"
    provider.esg_api_key = "test-esg-key"
    provider.save()
    # the answer is lost after ESG acted, and slowly: time to kill the worker mid-call
    set_fault(sim, "esg", latency_ms=1500, lose_response={"endpoint": "POST /prospects"})
    ids = [
        enrollment_submit(
            data=EnrollmentInput(
                zip_code="77002",
                utility_code="centerpoint",
                customer_type_code="residential",
                plan_code="SAVER12",
                first_name="Ana",
                last_name=f"Kill{n}",
                email=f"kill{n}@example.com",
                esiid=f"10089010000009{n:03d}",
                address_line1="100 Main St",
                city="Houston",
            ),
            channel="api",
        ).pk
        for n in range(3)
    ]
    rows = BillingRequest.objects.filter(subject_type="enrollment", subject_id__in=ids)
    received = lambda: _stats(sim, "esg")["faults"]["received"]  # noqa: E731
    wait_until(lambda: received() >= 1 and rows.filter(state="sending").exists(), timeout=30)
    celery_worker.kill()
    in_flight = received()
    # ESG finishes what it received although its caller is dead; nobody heard the answers
    wait_until(lambda: _stats(sim, "esg")["carried_out"]["prospects_created"] == in_flight)
    assert not Enrollment.objects.filter(pk__in=ids).exclude(esg_prospect_id="").exists()

    clear_faults(sim)
    celery_worker.start()

    def all_pending() -> bool:
        billing_outbox_sweep.delay()
        return set(Enrollment.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
            "pending"
        }

    wait_until(all_pending, timeout=90, interval=0.5)
    stats = _stats(sim, "esg")
    assert stats["carried_out"]["prospects_created"] == 3  # each exactly once
    prospect_ids = set(
        Enrollment.objects.filter(pk__in=ids).values_list("esg_prospect_id", flat=True)
    )
    assert len(prospect_ids) == 3 and "" not in prospect_ids
    assert set(rows.values_list("state", flat=True)) == {"sent"}
    _report(
        {
            "operation": "create_prospect",
            "fault": "lose_response+worker_sigkill",
            "attempted": 3,
            "carried_out": stats["carried_out"]["prospects_created"],
            "duplicates": 0,
            "lost": 3 - len(prospect_ids),
            "fault_fired": stats["faults"]["fired"].get("lose_response", 0),
            "staff_retries": 0,
            "in_flight_at_kill": in_flight,
        }
    )
