"""The usage screen, its chart payload, the CSV and Green Button downloads."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from myaccount.tests.factories import intervals, monthly_bills, portal_customer, smt_on

pytestmark = pytest.mark.django_db

ESPI = "{http://naesb.org/espi}"


def chart_payload(html: str, block_id: str = "usage-chart-data") -> dict:
    m = re.search(
        rf'<script type="application/json" id="{block_id}"[^>]*>(.*?)</script>', html, re.S
    )
    assert m, f"no {block_id} block"
    return json.loads(m.group(1))


@pytest.fixture
def smt_customer():
    smt_on()
    portal = portal_customer(first_name="Sam")
    intervals(
        portal.account,
        start=date(2024, 1, 1),
        end=date(2024, 12, 31),
        estimated_days=(date(2024, 6, 3),),
    )
    monthly_bills(portal.account, first=date(2024, 1, 1), count=12, kwh=lambda i: 700 + 10 * i)
    return portal


@pytest.fixture
def billing_customer():
    portal = portal_customer(first_name="Bea")
    monthly_bills(portal.account, first=date(2023, 1, 1), count=24, kwh=lambda i: 1000 + 10 * i)
    return portal


def test_smt_daily_chart_uses_x0_dx_and_marks_estimates(client, smt_customer):
    client.force_login(smt_customer.user)
    r = client.get(
        "/myaccount/usage/", {"period": "daily", "start": "2024-06-01", "end": "2024-06-30"}
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "Source: Smart Meter Texas." in html
    assert "Data through December 31, 2024." in html
    fig = chart_payload(html)
    consumption = [t for t in fig["data"] if t["name"] == "Consumption"]
    assert len(consumption) == 1
    trace = consumption[0]
    assert trace["type"] == "bar"
    assert trace["x0"] == "2024-06-01"
    assert trace["dx"] == 86_400_000
    assert "x" not in trace
    assert trace["y"] == [24.0] * 30
    estimated = [t for t in fig["data"] if t["name"] == "Estimated"]
    assert len(estimated) == 1
    assert estimated[0]["y"][2] == 24.0  # June 3
    assert [v for v in estimated[0]["y"] if v is not None] == [24.0]
    assert "1 estimated" in html
    assert "<td>2024-06-03</td>" in html
