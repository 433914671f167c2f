"""Our Green Button download as standard consumers see it: valid against the ESPI schema
(espiDerived.xsd + atom.xsd, validated with lxml), read by a maintained third-party parser
(greenbutton-objects from PyPI) with the same interval count and kWh as our CSV, and read back
by our own importer (generation kept apart; bill periods priced as months)."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from greenbutton_objects import parse as gb_parse
from greenbutton_objects.enums import FlowDirectionType
from lxml import etree

from authorizations.parsers import parse_green_button
from authorizations.selectors import months_for, pricing_months
from authorizations.services import authorization_create, usage_upload
from authorizations.tests.factories import ESIID, reference
from myaccount.tests.factories import monthly_bills, portal_customer, smt_on
from usage.models import intervals_in_day
from usage.services import DayRow, intervals_ingest

pytestmark = pytest.mark.django_db

ESPI_DIR = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "espi"


@pytest.fixture(scope="module")
def espi_schema(tmp_path_factory) -> etree.XMLSchema:
    """espiDerived.xsd importing atom.xsd, which imports xml.xsd: pointed at the local copy so
    validation never touches the network."""
    folder = tmp_path_factory.mktemp("espi")
    atom = (ESPI_DIR / "atom.xsd").read_text(encoding="utf-8")
    atom = atom.replace(
        'schemaLocation="http://www.w3.org/2001/03/xml.xsd"', 'schemaLocation="xml.xsd"'
    )
    (folder / "atom.xsd").write_text(atom, encoding="utf-8")
    for name in ("espiDerived.xsd", "xml.xsd"):
        (folder / name).write_bytes((ESPI_DIR / name).read_bytes())
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(folder / "espiDerived.xsd"), parser))


@pytest.fixture
def varied_customer():
    """A year of 15-minute SMT data whose values differ interval by interval, with generation
    on one channel: totals that a wrong count or a wrong scale could not match by chance."""
    smt_on()
    portal = portal_customer(first_name="Gia")
    rng = random.Random(1704)
    rows = []
    revised = datetime(2025, 1, 1, tzinfo=UTC)
    day = date(2024, 1, 1)
    while day <= date(2024, 12, 31):
        n = intervals_in_day(day)
        values = [Decimal(rng.randint(40, 1200)) / 1000 for _ in range(n)]
        rows.append(DayRow(portal.account.pk, "C", day, values, [False] * n, revised))
        gen = [
            Decimal(rng.randint(0, 300)) / 1000 if 36 <= i < 64 else Decimal(0) for i in range(n)
        ]
        rows.append(DayRow(portal.account.pk, "G", day, gen, [False] * n, revised))
        day += timedelta(days=1)
    intervals_ingest(rows=rows)
    from usage.models import UsageSyncState

    state, _ = UsageSyncState.objects.get_or_create(service_account=portal.account)
    state.data_from, state.data_through = date(2024, 1, 1), date(2024, 12, 31)
    state.last_success_at = datetime.now(UTC)
    state.save()
    return portal


def _download(client, start: str, end: str) -> bytes:
    r = client.get("/myaccount/usage.xml", {"start": start, "end": end})
    assert r.status_code == 200
    return r.content


def _csv(client, period: str, start: str, end: str) -> list[list[str]]:
    r = client.get("/myaccount/usage.csv", {"period": period, "start": start, "end": end})
    assert r.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))[1:]


MONTHS = [
    ("2024-06-01", "2024-06-30"),  # a normal month
    ("2024-03-01", "2024-03-31"),  # spring forward: one 23-hour day
    ("2024-11-01", "2024-11-30"),  # fall back: one 25-hour day
]


@pytest.mark.parametrize("start, end", MONTHS)
def test_download_is_valid_espi_and_a_third_party_parser_agrees_with_our_csv(
    client, varied_customer, espi_schema, start, end
):
    client.force_login(varied_customer.user)
    body = _download(client, start, end)
    document = etree.fromstring(body, etree.XMLParser(no_network=True, resolve_entities=False))
    assert espi_schema.validate(document), espi_schema.error_log.filter_from_errors()

    usage_points = gb_parse.parse_feed(io.BytesIO(body))
    assert len(usage_points) == 1
    readings = {
        mr.readingType.flowDirection: list(mr.intervalReadings)
        for mr in usage_points[0].meterReadings
    }
    forward = readings[FlowDirectionType.forward]
    reverse = readings[FlowDirectionType.reverse]

    hourly = _csv(client, "hourly", start, end)
    daily = _csv(client, "daily", start, end)
    csv_kwh = sum(Decimal(row[1]) for row in daily)
    csv_gen = sum(Decimal(row[2]) for row in daily)
    # every CSV hour holds four 15-minute readings (743 hours in March, 721 in November)
    assert len(forward) == 4 * len(hourly)
    expected_hours = {"2024-06-01": 720, "2024-03-01": 743, "2024-11-01": 721}[start]
    assert len(hourly) == expected_hours
    assert Decimal(sum(r.value for r in forward)) / 1000 == csv_kwh
    assert Decimal(sum(r.value for r in reverse)) / 1000 == csv_gen
    assert all(r.timePeriod.duration == timedelta(minutes=15) for r in forward)


def test_download_reads_back_with_generation_kept_apart(client, varied_customer):
    client.force_login(varied_customer.user)
    body = _download(client, "2024-03-01", "2024-03-31")
    parsed = parse_green_button(body)
    daily = _csv(client, "daily", "2024-03-01", "2024-03-31")
    assert [(m.month, m.days) for m in parsed.months] == [(date(2024, 3, 1), 31)]
    assert parsed.months[0].kwh == sum(Decimal(row[1]) for row in daily)
    assert parsed.generation_kwh == sum(Decimal(row[2]) for row in daily)


def test_bill_period_download_reads_back_as_priced_months(client):
    portal = portal_customer(first_name="Bill")
    monthly_bills(portal.account, first=date(2024, 1, 1), count=12, kwh=lambda i: 900 + 25 * i)
    client.force_login(portal.user)
    parsed = parse_green_button(_download(client, "2024-01-01", "2024-12-31"))
    assert [(m.month, m.kwh) for m in parsed.months] == [
        (date(2024, i + 1, 1), Decimal(900 + 25 * i)) for i in range(12)
    ]
    # one reading per bill period is a month of its own length, not a 1-day month
    assert [m.days for m in parsed.months] == [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def test_bill_period_upload_is_priced_on_twelve_months(client):
    portal = portal_customer(first_name="Pia")
    monthly_bills(portal.account, first=date(2024, 1, 1), count=12, kwh=lambda i: 900 + 25 * i)
    client.force_login(portal.user)
    body = _download(client, "2024-01-01", "2024-12-31")
    auth = authorization_create(
        origin="shopper",
        channel="wizard",
        esiid=ESIID,
        meter_number="M1",
        email="p@example.com",
        language="en",
        customer_type=reference()["res"],
        request_agreement=False,
    )
    result = usage_upload(authorization=auth, kind="green_button", data=body)
    assert result.months == 12
    priced = pricing_months(months_for(auth))
    assert [m.kwh for m in priced] == [Decimal(900 + 25 * i) for i in range(12)]
