"""End to end: a held drop -> hold ends -> periodic task releases it -> outbox -> real Celery
worker -> ESG simulator over HTTP (once) -> acknowledged -> enrollment dropped."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from billing.tasks import billing_outbox_sweep, billing_service_orders_poll
from conftest import wait_until
from drops.models import DropRequest
from drops.services import drop_request_create
from drops.tasks import drops_release_expired_holds
from drops.tests import factories as f
from drops.tests.factories import drop_rows
from enrollments.models import Enrollment
from opsadmin.models import ThirdPartyProvider

pytestmark = pytest.mark.worker


def _esg_drops(sim: str) -> int:
    return httpx.get(f"{sim}/esg/_stats").json()["drops"]


def test_held_drop_reaches_billing_once_after_the_hold(
    transactional_db, celery_worker, market_clock
):
    sim = celery_worker.env["SIMULATORS_URL"]
    provider = ThirdPartyProvider.load()
    provider.esg_api_url = f"{sim}/esg"
    provider.esg_api_key = "test-esg-key"
    provider.save()
    util = f.utility()
    f.hold(util, 4)
    f.drop_code(util, "CRD", "Customer Requested Drop")
    e = f.active_enrollment(util=util)

    d = drop_request_create(
        customer=e.customer,
        enrollment=e,
        kind=DropRequest.Kind.MOVE_OUT,
        requested_date=timezone.localdate() + timedelta(days=10),
        meter_removal=True,
    ).drop_request
    assert d.status == "held"

    # Inside the hold: the sweeper releases nothing and billing hears nothing.
    drops_release_expired_holds.delay().get(timeout=30)
    assert DropRequest.objects.get(pk=d.pk).status == "held"
    assert drop_rows().count() == 0
    assert _esg_drops(sim) == 0

    # The hold ends (moved into the past rather than waited for).
    DropRequest.objects.filter(pk=d.pk).update(hold_until=timezone.now() - timedelta(seconds=1))
    result = drops_release_expired_holds.delay().get(timeout=30)
    assert result["released"] == 1

    done = wait_until(
        lambda: DropRequest.objects.filter(pk=d.pk, status="sent").first(), timeout=30
    )
    assert done.released_how == "hold_expired"
    # Acknowledged, not yet effective: still served until the move-out date.
    assert Enrollment.objects.get(pk=e.pk).status == Enrollment.Status.ACTIVE
    row = drop_rows().get()
    assert (row.kind, row.state, row.attempts) == ("move_out", "sent", 1)
    assert row.payload["reason_code"] == "CRD"
    assert row.payload["meter_removal"] is True
    assert row.response["request_id"].startswith("DR")

    # Sweeping again sends nothing more.
    drops_release_expired_holds.delay().get(timeout=30)
    billing_outbox_sweep.delay().get(timeout=30)
    assert _esg_drops(sim) == 1
    assert drop_rows().count() == 1

    # The move-out date comes: ESG reports the order completed and service ends then.
    billing_service_orders_poll.delay().get(timeout=30)
    assert Enrollment.objects.get(pk=e.pk).status == Enrollment.Status.ACTIVE
    market_clock.set(d.requested_date)
    assert billing_service_orders_poll.delay().get(timeout=30)["completed"] == 1
    ended = Enrollment.objects.get(pk=e.pk)
    assert (ended.status, ended.service_end_date) == ("moved_out", d.requested_date)
    assert DropRequest.objects.get(pk=d.pk).status == "completed"
    assert billing_service_orders_poll.delay().get(timeout=30)["checked"] == 0
