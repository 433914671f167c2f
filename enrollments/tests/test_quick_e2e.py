"""End to end: a Quick Enrollment typed by an agent reaches the ESG simulator as a Create
Prospect through the outbox and a real Celery worker."""

from __future__ import annotations

import httpx
import pytest
from django.core.management import call_command

from billing.models import BillingRequest
from conftest import wait_until
from enrollments.models import Enrollment
from enrollments.tests.factories import ensure_reference_data
from enrollments.tests.test_quick import run_to_review, submit
from opsadmin.models import User

pytestmark = pytest.mark.worker


def test_quick_enrollment_reaches_billing_as_create_prospect(client, simulators_url, celery_worker):
    ensure_reference_data()
    call_command("seed_demo", password="pw-demo-1", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client.force_login(User.objects.get(username="agent"))
    before = httpx.get(f"{simulators_url}/esg/_stats").json()
    draft = run_to_review(client, esiid="1008901000000000000777")
    assert submit(client, draft).status_code == 303
    enrollment = Enrollment.objects.get(service_account__esiid="1008901000000000000777")
    request = BillingRequest.objects.get(
        kind="create_prospect", subject_type="enrollment", subject_id=enrollment.pk
    )
    sent = wait_until(
        lambda: BillingRequest.objects.filter(pk=request.pk, state="sent").first(), timeout=30
    )
    assert sent.attempts >= 1
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.PENDING
    assert enrollment.esg_prospect_id.startswith("P")
    after = httpx.get(f"{simulators_url}/esg/_stats").json()
    assert after["prospects"] == before["prospects"] + 1
    assert enrollment.esg_prospect_id in after["prospect_keys"].values()

    # Rescission within the window: a cancel with no ETF reaches billing too.
    resp = client.post(f"/enrollments/{enrollment.pk}/rescind/")
    assert resp.status_code == 302
    cancel = wait_until(
        lambda: BillingRequest.objects.filter(
            kind="cancel", subject_id=enrollment.pk, state="sent"
        ).first(),
        timeout=30,
    )
    assert cancel.payload["etf"] == "0.00"
    assert httpx.get(f"{simulators_url}/esg/_stats").json()["cancels"] == after["cancels"] + 1
