"""Pulls from the SMT simulator over real HTTP into the store."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import httpx
import pytest
from django.core.management import call_command

from conftest import set_fault
from opsadmin.errors import TransientIntegrationError
from usage.adapters import smt
from usage.adapters.smt import smt_client
from usage.models import IntervalDay, UsageSyncState
from usage.selectors import usage_for_chart
from usage.services import smt_sync
from usage.tests.factories import DEMO_ESIID, premise, smt_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def smt_url(simulators_url):
    smt.clear_token_cache()
    smt_on(f"{simulators_url}/smt")
    yield simulators_url
    smt.clear_token_cache()


def pull(sa, start, end):
    with smt_client() as client:
        return smt_sync(service_account=sa, client=client, start=start, end=end)


def test_pull_both_dst_days_both_channels(smt_url):
    sa = premise()
    with smt_client() as client:
        records = client.interval_reads(
            esiid=DEMO_ESIID, start=date(2025, 3, 8), end=date(2025, 3, 9)
        )
    result = pull(sa, date(2025, 3, 8), date(2025, 3, 9))
    pull(sa, date(2025, 11, 2), date(2025, 11, 2))
    rows = {(r.day, r.channel): r for r in IntervalDay.objects.filter(service_account=sa)}
    assert sorted(rows) == [
        (date(2025, 3, 8), "C"),
        (date(2025, 3, 8), "G"),
        (date(2025, 3, 9), "C"),
        (date(2025, 3, 9), "G"),
        (date(2025, 11, 2), "C"),
        (date(2025, 11, 2), "G"),
    ]
    assert result.days_stored == 4
    assert [
        len(rows[(d, "C")].kwh) for d in (date(2025, 3, 8), date(2025, 3, 9), date(2025, 11, 2))
    ] == [96, 92, 100]
    # what is stored is exactly what SMT sent, flags included
    for rec in records:
        stored = rows[(rec.day, rec.channel)]
        assert stored.total_kwh == sum((v for v in rec.values if v is not None), Decimal("0"))
        assert stored.estimated_count == sum(rec.estimated)
    state = UsageSyncState.objects.get(service_account=sa)
    assert state.data_through == date(2025, 11, 2) and state.last_error == ""
    hourly = usage_for_chart(
        service_account=sa, period="hourly", start=date(2025, 11, 2), end=date(2025, 11, 2)
    )
    assert hourly.source == "smt" and len(hourly.points) == 25 and hourly.has_generation


def test_revised_day_replaces_the_stored_one(smt_url):
    sa = premise()
    day = date(2025, 6, 10)
    pull(sa, day, day)
    before = IntervalDay.objects.get(service_account=sa, day=day, channel="C")
    httpx.post(f"{smt_url}/smt/_sim/revise", json={"esiid": DEMO_ESIID, "date": "06/10/2025"})
    result = pull(sa, day, day)
    after = IntervalDay.objects.get(service_account=sa, day=day, channel="C")
    assert result.days_stored == 2
    assert after.revised_at > before.revised_at
    assert after.kwh != before.kwh


def test_expired_token_is_replaced(smt_url):
    sa = premise()
    pull(sa, date(2025, 6, 1), date(2025, 6, 1))
    httpx.delete(f"{smt_url}/_state")  # the simulator forgets every token it issued
    pull(sa, date(2025, 6, 2), date(2025, 6, 2))
    stats = httpx.get(f"{smt_url}/smt/_sim/stats").json()
    assert stats["calls"] == {"15minintervalreads": 2, "token": 1}
    assert IntervalDay.objects.filter(service_account=sa).count() == 4


def test_outage_records_error_and_chart_falls_back(smt_url):
    sa = premise()
    set_fault(smt_url, "smt", outage=True)
    with pytest.raises(TransientIntegrationError):
        pull(sa, date(2025, 6, 1), date(2025, 6, 30))
    state = UsageSyncState.objects.get(service_account=sa)
    assert state.consecutive_failures == 1 and "503" in state.last_error
    result = usage_for_chart(
        service_account=sa, period="daily", start=date(2025, 6, 1), end=date(2025, 6, 30)
    )
    assert (result.source, result.reason) == (
        "billing",
        "Showing billing data: Smart Meter Texas is unavailable.",
    )


def test_no_data_from_smt_falls_back(smt_url):
    sa = premise()
    httpx.post(f"{smt_url}/smt/_sim/no_data", json={"esiid": DEMO_ESIID})
    result = pull(sa, date(2025, 6, 1), date(2025, 6, 30))
    assert result.days_stored == 0
    state = UsageSyncState.objects.get(service_account=sa)
    assert state.last_success_at is not None and state.data_through is None
    chart = usage_for_chart(
        service_account=sa, period="daily", start=date(2025, 6, 1), end=date(2025, 6, 30)
    )
    assert (chart.source, chart.reason) == (
        "billing",
        "Showing billing data: Smart Meter Texas has no usage data for this period.",
    )


def test_management_command_pulls_one_esiid(smt_url):
    sa = premise()
    out = StringIO()
    call_command("smt_sync", DEMO_ESIID, "--start", "2025-07-01", "--end", "2025-07-03", stdout=out)
    assert out.getvalue().strip() == (
        f"{DEMO_ESIID}: 6 day rows stored for 2025-07-01..2025-07-03; data through 2025-07-03"
    )
    assert IntervalDay.objects.filter(service_account=sa).count() == 6
