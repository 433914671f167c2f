"""Faults: Redis (the Celery broker) stops while enrollments are submitted.

Nothing is lost: each enrollment and its billing outbox row are committed whatever the
broker does, and once Redis is back the sweeper hands the rows to the worker, which sends
each to the billing system (ESG simulator) exactly once.
"""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
import redis
from django.core.management import call_command

from billing.models import BillingRequest
from billing.tasks import billing_outbox_sweep
from conftest import free_port, wait_until
from enrollments.models import Enrollment
from enrollments.services import EnrollmentInput, enrollment_submit
from opsadmin.embedded import redis_server_binary

pytestmark = [pytest.mark.worker]


class RedisServer:
    """A redis-server of this test's own (the shared one is not ours to stop)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_until(lambda: _pings(client), timeout=10, interval=0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _use_broker(app, url: str) -> None:
    app.conf.broker_url = url
    app.conf.result_backend = url
    from kombu import pools

    pools.reset()  # kombu keeps connection pools per broker process-wide
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None  # the next use builds a result backend for the new URL
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def own_redis(settings):
    """Point this process and the worker (started after) at a Redis we may stop."""
    from opsadmin.celery import app

    server = RedisServer()
    server.start()
    before = (app.conf.broker_url, app.conf.result_backend)
    settings.REDIS_URL = server.url
    _use_broker(app, server.url)
    yield server
    server.stop()
    _use_broker(app, before[0])
    app.conf.result_backend = before[1]


@pytest.fixture
def demo(transactional_db, simulators_url):
    call_command("seed_demo", password="pw-demo-1", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return simulators_url


def _input(n: int) -> EnrollmentInput:
    esiid = f"100890100000{n:05d}"
    return EnrollmentInput(
        zip_code="77002",
        utility_code="centerpoint",
        customer_type_code="residential",
        plan_code="SAVER12",
        first_name="Ana",
        last_name=f"Redis{n}",
        email=f"redis{n}@example.com",
        esiid=esiid,
        address_line1="100 Main St",
        city="Houston",
    )


def test_enrollments_submitted_while_redis_is_down_are_sent_once_it_returns(
    own_redis, demo, celery_worker
):
    # Before the fault: the normal path works through this Redis.
    first = enrollment_submit(data=_input(101), channel="api")
    wait_until(lambda: Enrollment.objects.get(pk=first.pk).status == "pending", timeout=30)

    own_redis.stop()
    during = []
    for n in range(102, 108):
        # The agent's submit succeeds: enqueueing after commit is best effort.
        during.append(enrollment_submit(data=_input(n), channel="api"))
    ids = [e.pk for e in during]
    rows = BillingRequest.objects.filter(subject_type="enrollment", subject_id__in=ids)
    assert rows.count() == len(ids)
    assert set(rows.values_list("state", flat=True)) == {"queued"}
    assert set(Enrollment.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "submitted"
    }

    time.sleep(1)  # the worker notices the lost broker (not a timing assertion)
    own_redis.start()  # same port: the worker reconnects by itself

    def all_sent() -> bool:
        if rows.exclude(state="sent").exists():
            billing_outbox_sweep.delay()  # beat runs this every 15 s in production
            return False
        return True

    wait_until(all_sent, timeout=90, interval=1.0)
    wait_until(lambda: all(Enrollment.objects.get(pk=pk).status == "pending" for pk in ids))
    stats = httpx.get(f"{demo}/esg/_stats").json()
    assert stats["prospects"] == len(ids) + 1  # exactly once each, none lost
    keys = set(rows.values_list("idempotency_key", flat=True))
    assert keys <= set(stats["prospect_keys"])
