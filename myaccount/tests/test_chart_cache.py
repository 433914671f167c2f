"""The usage chart's cache: a repeated request skips the aggregate, and anything that would
change the chart (a revised or new day, a deleted day, the source rule) is never served stale."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from myaccount.tests.factories import intervals, portal_customer, smt_on
from opsadmin.models import ThirdPartyProvider
from usage.models import IntervalDay, intervals_in_day
from usage.services import DayRow, intervals_ingest

pytestmark = pytest.mark.django_db

PARAMS = {"period": "hourly", "start": "2024-06-01", "end": "2024-06-03"}


def facts(html: str) -> str:
    m = re.search(r'<p class="chart-facts">(.*?)</p>', html, re.S)
    assert m, "no chart facts"
    return re.sub(r"\s+", " ", m.group(1))


def chart(client, params=PARAMS, **headers):
    r = client.get("/myaccount/usage/", params, headers=headers)
    assert r.status_code == 200
    return r.content.decode()


@pytest.fixture
def sam(client):
    smt_on()
    portal = portal_customer(first_name="Sam")
    intervals(portal.account, start=date(2024, 6, 1), end=date(2024, 6, 3))
    client.force_login(portal.user)
    return portal


@pytest.fixture
def aggregates(monkeypatch):
    """How many times the chart's aggregate ran (a counting wrapper around the real one)."""
    from usage import selectors

    calls = []
    real = selectors._context_and_points

    def counting(**kwargs):
        calls.append(kwargs["period"])
        return real(**kwargs)

    monkeypatch.setattr(selectors, "_context_and_points", counting)
    return calls


def test_a_repeated_chart_is_served_from_the_cache_with_the_same_html(client, sam):
    first = chart(client, HX_Request="true")
    assert "72 hourly values · total consumption 72.000 kWh" in facts(first)
    again = chart(client, HX_Request="true")
    assert again == first
    # the full page (no htmx) shows the same chart section
    assert facts(chart(client)) == facts(first)


def test_a_revised_day_changes_the_chart_at_once(client, sam):
    assert "total consumption 72.000 kWh" in facts(chart(client))
    day = date(2024, 6, 2)
    n = intervals_in_day(day)
    revised = datetime(2025, 2, 1, tzinfo=UTC)
    intervals_ingest(
        rows=[DayRow(sam.account.pk, "C", day, [Decimal("0.5")] * n, [False] * n, revised)]
    )
    assert "total consumption 96.000 kWh" in facts(chart(client))


def test_a_new_day_and_a_deleted_day_change_the_chart(client, sam):
    params = {**PARAMS, "end": "2024-06-04"}
    assert "72 hourly values" in facts(chart(client, params))
    intervals(sam.account, start=date(2024, 6, 4), end=date(2024, 6, 4))
    assert "96 hourly values · total consumption 96.000 kWh" in facts(chart(client, params))
    IntervalDay.objects.filter(service_account=sam.account, day=date(2024, 6, 4)).delete()
    assert "72 hourly values · total consumption 72.000 kWh" in facts(chart(client, params))


def test_switching_smt_off_is_seen_at_once(client, sam):
    assert "Source: Smart Meter Texas." in chart(client)
    provider = ThirdPartyProvider.load()
    provider.smt_enabled = False
    provider.save()
    html = chart(client)
    assert "Source: billing system." in html
    assert "Smart Meter Texas usage is not enabled" in html


def test_each_language_and_option_has_its_own_entry(client, sam):
    kwh = chart(client, {**PARAMS, "unit": "kWh"})
    mwh = chart(client, {**PARAMS, "unit": "MWh"})
    assert "total consumption 72.000 kWh" in facts(kwh)
    assert "total consumption 0.072000 MWh" in facts(mwh)
    sam.customer.language = "es"
    sam.customer.save()
    es = chart(client)
    assert "Fuente: Smart Meter Texas." in es
    assert facts(es) != facts(kwh)


def test_a_cache_hit_does_not_run_the_aggregate(client, sam, aggregates):
    first = chart(client, HX_Request="true")
    assert aggregates == ["hourly"]  # the first request aggregates
    assert chart(client, HX_Request="true") == first
    assert aggregates == ["hourly"]  # the second answers from the cache under the same stamp
    chart(client, {**PARAMS, "period": "daily"})
    assert aggregates == ["hourly", "daily"]
