"""Service started -> a real Celery worker pulls SMT over HTTP -> the chart shows SMT data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import wait_until
from enrollments.models import Enrollment
from opsadmin.management import journeys as lifecycle
from opsadmin.models import ThirdPartyProvider
from usage.models import Bill, IntervalDay, UsageSyncState
from usage.selectors import usage_for_chart
from usage.services import today_chicago
from usage.tests.factories import premise, smt_on

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_service_start_gets_smt_data_through_the_worker(celery_worker, simulators_url):
    smt_on(f"{simulators_url}/smt")
    provider = ThirdPartyProvider.load()
    provider.esg_api_url = f"{simulators_url}/esg"
    provider.esg_api_key = "sim-key"
    provider.save()
    sa = premise(status=Enrollment.Status.ACCEPTED, billing_account_number="BA0000000042")
    enrollment = Enrollment.objects.get(service_account=sa)
    # accepted is not served: nothing is pulled before the switch completes
    assert not UsageSyncState.objects.filter(service_account=sa).exists()

    # ESG reports the switch complete: the product starts service and queues the pulls
    lifecycle.answer(enrollment, "active", service_start=today_chicago() - timedelta(days=1))

    state = wait_until(
        lambda: UsageSyncState.objects.filter(
            service_account=sa, data_through__isnull=False
        ).first(),
        timeout=60,
    )
    yesterday = today_chicago() - timedelta(days=1)
    assert state.data_through == yesterday  # one day of SMT lag
    assert state.data_from == yesterday - timedelta(days=729)  # 24 months at once
    assert IntervalDay.objects.filter(service_account=sa, channel="C").count() == 730
    result = usage_for_chart(
        service_account=sa,
        period="daily",
        start=yesterday - timedelta(days=29),
        end=yesterday,
        compare_previous=True,
    )
    assert result.source == "smt"
    assert len(result.points) == 30 and len(result.previous) == 30
    assert result.data_through == yesterday
    assert result.has_generation is True  # the demo ESIID has rooftop solar
    # the bills fetch ran on the same trigger (ESG simulator: 24 monthly bills)
    assert wait_until(lambda: Bill.objects.filter(service_account=sa).count() == 24, timeout=30)
