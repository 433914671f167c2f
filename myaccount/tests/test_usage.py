"""The usage screen, its chart payload, the CSV and Green Button downloads."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from defusedxml import ElementTree as DET

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
    assert trace["y"] == [24] * 30
    estimated = [t for t in fig["data"] if t["name"] == "Estimated"]
    assert len(estimated) == 1
    assert estimated[0]["x"] == ["2024-06-03"]  # June 3, the one estimated day
    assert estimated[0]["y"] == [24]
    assert "1 estimated" in html
    assert "<td>2024-06-03</td>" in html


def test_hourly_across_spring_forward_starts_a_new_run(client, smt_customer):
    client.force_login(smt_customer.user)
    r = client.get(
        "/myaccount/usage/", {"period": "hourly", "start": "2024-03-09", "end": "2024-03-11"}
    )
    fig = chart_payload(r.content.decode())
    runs = [t for t in fig["data"] if t["legendgroup"] == "consumption"]
    assert [(t["x0"], t["dx"], len(t["y"])) for t in runs] == [
        ("2024-03-09 00:00", 3_600_000, 26),  # through 01:00 on the 10th
        ("2024-03-10 03:00", 3_600_000, 45),  # 02:00 does not exist that day
    ]
    assert [t["showlegend"] for t in runs] == [True, False]
    assert {v for t in runs for v in t["y"]} == {1}


def test_monthly_compare_previous_in_mwh_as_textured_area(client, smt_customer):
    client.force_login(smt_customer.user)
    r = client.get(
        "/myaccount/usage/",
        {
            "period": "monthly",
            "start": "2024-07-01",
            "end": "2024-09-30",
            "compare": "on",
            "unit": "MWh",
            "style": "area",
            "textured": "on",
        },
    )
    fig = chart_payload(r.content.decode())
    consumption = next(t for t in fig["data"] if t["name"] == "Consumption")
    assert consumption["type"] == "scatter"
    assert consumption["fill"] == "tozeroy"
    assert consumption["fillpattern"]["shape"] == "/"
    assert consumption["x"] == ["2024-07-01", "2024-08-01", "2024-09-01"]
    assert consumption["y"] == [0.744, 0.744, 0.72]  # 31, 31, 30 days of 24 kWh
    previous = next(t for t in fig["data"] if t["name"].startswith("Previous period"))
    assert previous["name"] == "Previous period (from Apr 01, 2024)"
    assert previous["y"] == [0.72, 0.744, 0.72]  # April, May, June
    assert fig["layout"]["yaxis"]["title"]["text"] == "Energy (MWh)"
    assert '<th scope="col" class="num">Consumption (MWh)</th>' in r.content.decode()


def test_textured_columns_and_generation_beside_consumption(client):
    smt_on()
    portal = portal_customer(first_name="Gen")
    intervals(
        portal.account, start=date(2024, 5, 1), end=date(2024, 5, 7), generation=Decimal("0.05")
    )
    client.force_login(portal.user)
    r = client.get(
        "/myaccount/usage/",
        {"period": "daily", "start": "2024-05-01", "end": "2024-05-07", "textured": "on"},
    )
    fig = chart_payload(r.content.decode())
    names = [t["name"] for t in fig["data"]]
    assert names == ["Consumption", "Generation"]
    consumption, generation = fig["data"]
    assert consumption["marker"]["pattern"]["shape"] == "/"
    assert generation["marker"]["pattern"]["shape"] == "x"
    assert generation["y"] == [4.8] * 7
    assert consumption["y"] == [24] * 7
    assert fig["layout"]["barmode"] == "group"
    assert "Generation (kWh)" in r.content.decode()


def test_a_year_of_hourly_points_is_a_compact_payload(client, smt_customer):
    client.force_login(smt_customer.user)
    r = client.get(
        "/myaccount/usage/", {"period": "hourly", "start": "2024-01-01", "end": "2024-12-31"}
    )
    html = r.content.decode()
    m = re.search(r'id="usage-chart-data" data-bytes="(\d+)"', html)
    size = int(m.group(1))
    fig = chart_payload(html)
    runs = [t for t in fig["data"] if t["legendgroup"] == "consumption"]
    assert len(runs) == 3  # split at spring-forward and fall-back
    assert sum(len(t["y"]) for t in runs) == 366 * 24
    assert not any("x" in t for t in runs)
    assert size < 30_000, size  # ~2 bytes per hour here, never a timestamp each
    assert "first 744 of 8784 rows" in html


def test_refresh_over_htmx_returns_only_the_chart_region(client, smt_customer):
    client.force_login(smt_customer.user)
    params = {"period": "daily", "start": "2024-06-01", "end": "2024-06-07"}
    partial = client.get("/myaccount/usage/", params, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert partial.status_code == 200
    assert body.lstrip().startswith('<section id="chart-region"')
    assert "<html" not in body and "Refresh" not in body
    assert chart_payload(body)["data"][0]["y"] == [24] * 7
    full = client.get("/myaccount/usage/", params)
    assert "<html" in full.content.decode() and ">Refresh</button>" in full.content.decode()


def test_a_range_too_long_for_the_period_is_refused(client, smt_customer):
    client.force_login(smt_customer.user)
    r = client.get(
        "/myaccount/usage/", {"period": "hourly", "start": "2024-01-01", "end": "2025-01-05"}
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert "Hourly shows at most 366 days" in html
    assert "Fix the highlighted choices above" in html


def test_billing_source_shows_the_four_charts_and_why(client, billing_customer):
    client.force_login(billing_customer.user)
    r = client.get("/myaccount/usage/")
    html = r.content.decode()
    assert "Source: billing system." in html
    assert "Smart Meter Texas usage is not enabled." in html
    for chart_id in ("bill-kwh", "bill-amount", "bill-avg-daily", "bill-yoy"):
        assert f'id="{chart_id}-data"' in html
    yoy = chart_payload(html, "bill-yoy-data")
    last_year, this_year = yoy["data"]
    assert last_year["name"] == "2023" and this_year["name"] == "2024"
    assert last_year["y"] == [1000 + 10 * i for i in range(12)]
    assert this_year["y"] == [1120 + 10 * i for i in range(12)]
    avg = chart_payload(html, "bill-avg-daily-data")["data"][0]["y"]
    assert avg[0] == 32.26  # 1000 kWh over the 31 days of January 2023
    assert 'name="period"' in html and "Compare previous" not in html


def test_csv_download_at_the_stable_url(client, smt_customer):
    client.force_login(smt_customer.user)
    r = client.get(
        "/myaccount/usage.csv", {"period": "daily", "start": "2024-06-02", "end": "2024-06-04"}
    )
    assert r.status_code == 200
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows == [
        ["period_start", "consumption_kwh", "generation_kwh", "source", "estimated"],
        ["2024-06-02T00:00:00-05:00", "24.0000", "0", "smt", "false"],
        ["2024-06-03T00:00:00-05:00", "24.0000", "0", "smt", "true"],
        ["2024-06-04T00:00:00-05:00", "24.0000", "0", "smt", "false"],
    ]


def test_csv_hourly_is_inclusive_of_the_end_day(client, smt_customer):
    client.force_login(smt_customer.user)
    r = client.get(
        "/myaccount/usage.csv", {"period": "hourly", "start": "2024-11-03", "end": "2024-11-03"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))[1:]
    assert len(rows) == 25  # the fall-back day has two 01:00 hours
    assert rows[1][0] == "2024-11-03T01:00:00-05:00"
    assert rows[2][0] == "2024-11-03T01:00:00-06:00"
    assert rows[-1][0] == "2024-11-03T23:00:00-06:00"


@pytest.mark.parametrize(
    "params",
    [
        {"period": "weekly", "start": "2024-06-01", "end": "2024-06-02"},
        {"period": "daily", "start": "2024-06-05", "end": "2024-06-01"},
        {"period": "daily", "start": "June 1", "end": "2024-06-02"},
        {"period": "daily", "end": "2024-06-02"},
        {"period": "hourly", "start": "2023-01-01", "end": "2024-06-02"},
    ],
)
def test_csv_rejects_malformed_queries(client, smt_customer, params):
    client.force_login(smt_customer.user)
    assert client.get("/myaccount/usage.csv", params).status_code == 400


def test_csv_for_another_of_my_accounts(client):
    smt_on()
    portal = portal_customer(first_name="Two", accounts=2)
    intervals(portal.accounts[1], start=date(2024, 6, 1), end=date(2024, 6, 2), kwh=Decimal("0.5"))
    client.force_login(portal.user)
    r = client.get(
        "/myaccount/usage.csv",
        {
            "period": "daily",
            "start": "2024-06-01",
            "end": "2024-06-02",
            "account": portal.accounts[1].pk,
        },
    )
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert [row[1] for row in rows[1:]] == ["48.0000", "48.0000"]


def test_green_button_has_15_minute_readings(client, smt_customer):
    client.force_login(smt_customer.user)
    r = client.get("/myaccount/usage.xml", {"start": "2024-06-03", "end": "2024-06-03"})
    assert r.status_code == 200
    assert r["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = DET.fromstring(r.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    reading_type = root.find(f".//{ESPI}ReadingType")
    assert reading_type.find(f"{ESPI}intervalLength").text == "900"
    assert reading_type.find(f"{ESPI}uom").text == "72"
    assert root.find(f".//{ESPI}LocalTimeParameters/{ESPI}tzOffset").text == "-21600"
    readings = root.findall(f".//{ESPI}IntervalReading")
    assert len(readings) == 96
    first = readings[0]
    assert first.find(f"{ESPI}timePeriod/{ESPI}start").text == "1717390800"  # 05:00Z
    assert first.find(f"{ESPI}timePeriod/{ESPI}duration").text == "900"
    assert first.find(f"{ESPI}value").text == "250"  # Wh
    assert first.find(f"{ESPI}ReadingQuality/{ESPI}quality").text == "8"  # estimated
    assert readings[1].find(f"{ESPI}ReadingQuality/{ESPI}quality").text == "0"  # valid
    block = root.find(f".//{ESPI}IntervalBlock/{ESPI}interval")
    assert block.find(f"{ESPI}duration").text == "86400"


def test_green_button_from_bills_when_billing_is_the_source(client, billing_customer):
    client.force_login(billing_customer.user)
    r = client.get("/myaccount/usage.xml", {"start": "2024-01-01", "end": "2024-03-31"})
    root = DET.fromstring(r.content)
    readings = root.findall(f".//{ESPI}IntervalReading")
    # The January, February and March 2024 bills (the 13th to 15th of the 24).
    values = [x.find(f"{ESPI}value").text for x in readings]
    assert values == ["1120000", "1130000", "1140000"]
    assert readings[1].find(f"{ESPI}timePeriod/{ESPI}duration").text == str(29 * 86400)
    assert readings[0].find(f"{ESPI}timePeriod/{ESPI}start").text == "1704088800"  # 06:00Z


def test_usage_page_query_count(client, smt_customer, django_assert_max_num_queries):
    client.force_login(smt_customer.user)
    with django_assert_max_num_queries(14):
        r = client.get(
            "/myaccount/usage/", {"period": "daily", "start": "2024-06-01", "end": "2024-06-30"}
        )
    assert r.status_code == 200
