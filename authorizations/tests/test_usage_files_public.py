"""Real-world usage files: a one-year SMT export with every quirk SMT's site produces, and Green
Button files others published (tests/fixtures/README.md). Expected figures are computed here
independently of the parser under test: from the generator's own numbers, or with lxml XPath
over the raw file and the IANA zone the file's LocalTimeParameters describe."""

from __future__ import annotations

import io
import random
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from lxml import etree

from authorizations.models import MonthlyUsage, UsageAuthorization
from authorizations.parsers import (
    UploadRefused,
    UsagePointChoice,
    parse_green_button,
    parse_smt_csv,
)
from authorizations.selectors import pricing_months
from authorizations.services import authorization_create
from authorizations.tests.factories import ESIID, reference

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "greenbutton"
YEAR_DAILY = FIXTURES / "TestGBDataOneYearDailyBinnedMonthly.xml"
SPRING_EASTERN = FIXTURES / "test_usage_data_11.xml"
PACIFIC = FIXTURES / "electric_containerized.xml"
GAS = FIXTURES / "ngma_natural_gas_billing_billing_data_Service_1_1_2021-05-26_to_2024-04-25.xml"
NS = {"a": "http://www.w3.org/2005/Atom", "e": "http://naesb.org/espi"}
HEADER = (
    "ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,"
    "ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION"
)


def within(actual: Decimal, expected: Decimal, share: str = "0.001") -> bool:
    return abs(actual - expected) <= abs(expected) * Decimal(share)


# --- a one-year SMT export with the quirks of real ones ---------------------------------------


def smt_year_export(
    year: int = 2025, esiid: str = ESIID
) -> tuple[bytes, dict[date, Decimal], dict[date, Decimal], int]:
    """CSV bytes, expected consumption and generation by month, and the empty-kWh rows.

    Quirks, as SMT's export has them: the apostrophe before the ESIID; times with leading
    spaces and no zero padding; Consumption and Surplus Generation interleaved; on the
    spring-forward day the 02:00-02:45 rows with an empty kWh; on the fall-back day the
    01:00-01:45 rows twice (both real); on the 15th of each month the 10:00 interval revised
    later in the file with a newer REVISION_DATE, and an older revision after it that must lose.
    """
    rng = random.Random(17)
    chicago = ZoneInfo("America/Chicago")
    lines = [HEADER]
    consumption: dict[date, Decimal] = defaultdict(Decimal)
    generation: dict[date, Decimal] = defaultdict(Decimal)
    empty = 0
    day = date(year, 1, 1)
    while day.year == year:
        d = day.strftime("%m/%d/%Y")
        revised = (day + timedelta(days=2)).strftime("%m/%d/%Y") + " 07:00:00"
        midnight = datetime(day.year, day.month, day.day, tzinfo=chicago)
        # every real instant of the local day, 15 minutes apart, in UTC (92, 96 or 100 of them)
        after = datetime.combine(day + timedelta(days=1), datetime.min.time(), chicago)
        # aware datetimes sharing one tzinfo subtract as wall clocks: compare in UTC instead
        length = int((after.astimezone(UTC) - midnight.astimezone(UTC)).total_seconds())
        slots = [
            (midnight.astimezone(UTC) + timedelta(seconds=s)).astimezone(chicago)
            for s in range(0, length, 900)
        ]
        spring_gap = len(slots) == 92
        wall = [(t.hour, t.minute) for t in slots]
        if spring_gap:  # SMT lists the skipped hour anyway, without a kWh
            wall = wall[:8] + [(2, 0), (2, 15), (2, 30), (2, 45)] + wall[8:]
        for h, m in wall:
            start = f"{h:>2}:{m:02d}"
            end_h, end_m = divmod(h * 60 + m + 15, 60)
            end = f"{end_h % 24:>2}:{end_m:02d}"
            missing = spring_gap and h == 2
            kwh = "" if missing else f"{rng.randint(50, 900) / 1000:.3f}"
            gen = "" if missing else (f"{rng.randint(0, 400) / 1000:.3f}" if 9 <= h < 16 else "0")
            flag = rng.choice("AAAAE")
            lines.append(f"'{esiid},{d},{d} 23:00:00, {start}, {end},{kwh},{flag},Consumption")
            lines.append(f"'{esiid},{d},{d} 23:00:00, {start}, {end},{gen},A,Surplus Generation")
            if missing:
                empty += 2
                continue
            value = Decimal(kwh)
            if day.day == 15 and (h, m) == (10, 0):
                value = Decimal(f"{rng.randint(1000, 1500) / 1000:.3f}")
                lines.append(f"'{esiid},{d},{revised}, {start}, {end},{value},A,Consumption")
                older = (day + timedelta(days=1)).strftime("%m/%d/%Y")
                lines.append(f"'{esiid},{d},{older} 07:00:00, {start}, {end},9.999,A,Consumption")
            consumption[day.replace(day=1)] += value
            generation[day.replace(day=1)] += Decimal(gen)
        day += timedelta(days=1)
    return ("\n".join(lines) + "\n").encode(), consumption, generation, empty


def test_smt_year_export_with_every_quirk_gives_the_generators_months():
    data, expected, generated, empty = smt_year_export()
    parsed = parse_smt_csv(data, esiid=ESIID)
    got = {m.month: m.kwh for m in parsed.months}
    assert sorted(got) == sorted(expected) and len(got) == 12
    for month, kwh in expected.items():
        assert within(got[month], kwh), (month, got[month], kwh)
    assert empty == 8 and parsed.skipped_empty == 8  # one hour, both channels
    assert {m.month: m.days for m in parsed.months}[date(2025, 11, 1)] == 30
    # generation is kept apart, never added to consumption
    assert {m.month: m.kwh for m in parsed.generation} == dict(generated)
    assert sum(got.values()) == sum(expected.values())


def test_smt_fall_back_hour_is_kept_twice_and_revisions_newest_wins():
    d = "11/02/2025"
    rows = [HEADER]
    for start, kwh, revision in [
        (" 1:00", "0.100", "11/03/2025 07:00:00"),
        (" 1:00", "0.200", "11/03/2025 07:00:00"),  # the repeated 01:00 after fall-back
        (" 3:00", "0.400", "11/03/2025 07:00:00"),
        (" 3:00", "0.800", "11/05/2025 07:00:00"),  # a revision: newest wins
        (" 3:00", "5.000", "11/04/2025 07:00:00"),  # older than the one above: loses
    ]:
        rows.append(f"'{ESIID},{d},{revision},{start}, 1:15,{kwh},A,Consumption")
    parsed = parse_smt_csv(("\n".join(rows) + "\n").encode(), esiid=ESIID)
    assert [(m.month, m.kwh, m.days) for m in parsed.months] == [
        (date(2025, 11, 1), Decimal("1.100"), 1)
    ]


def test_smt_daily_and_monthly_exports():
    daily = [HEADER] + [
        f"'{ESIID},{d:%m/%d/%Y},{d:%m/%d/%Y},,,{20 + d.day}.5,A,Consumption"
        for d in (date(2025, 1, 1) + timedelta(days=i) for i in range(59))
    ]
    months = parse_smt_csv(("\n".join(daily) + "\n").encode(), esiid=ESIID).months
    jan = sum(Decimal(f"{20 + n}.5") for n in range(1, 32))
    feb = sum(Decimal(f"{20 + n}.5") for n in range(1, 29))
    assert [(m.month, m.kwh, m.days) for m in months] == [
        (date(2025, 1, 1), jan, 31),
        (date(2025, 2, 1), feb, 28),
    ]
    monthly = [
        HEADER,
        f"'{ESIID},01/20/2025,01/21/2025,12/18/2024,01/17/2025,1210.000,A,Consumption",
        f"'{ESIID},02/19/2025,02/20/2025,01/18/2025,02/16/2025,1100.000,A,Consumption",
        f"'{ESIID},02/19/2025,02/20/2025,01/18/2025,02/16/2025,80.000,A,Surplus Generation",
    ]
    parsed = parse_smt_csv(("\n".join(monthly) + "\n").encode(), esiid=ESIID)
    # each billing read belongs to the month of its middle day, with its own length
    assert [(m.month, m.kwh, m.days) for m in parsed.months] == [
        (date(2025, 1, 1), Decimal("1210.000"), 31),
        (date(2025, 2, 1), Decimal("1100.000"), 30),
    ]
    assert parsed.generation_kwh == Decimal("80.000")


def test_smt_export_for_another_esiid_is_one_clear_message():
    data, *_ = smt_year_export(esiid="10443720009999999")
    with pytest.raises(UploadRefused) as exc:
        parse_smt_csv(data, esiid=ESIID)
    assert exc.value.message == (
        f"This file is for ESIID 10443720009999999, not this premise's ESIID ({ESIID}). "
        "Download the export for this premise; nothing was stored."
    )


# --- Green Button samples published by others ----------------------------------------------------


def independent_months(path: Path | bytes, zone: str) -> dict[date, Decimal]:
    """kWh by local month straight from the XML: every IntervalReading of the (single) meter
    reading, Wh x 10^powerOfTenMultiplier, its start put into ``zone`` with zoneinfo."""
    data = path.read_bytes() if isinstance(path, Path) else path
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    power = int(root.xpath("string(//e:ReadingType/e:powerOfTenMultiplier)", namespaces=NS) or 0)
    tz = ZoneInfo(zone)
    out: dict[date, Decimal] = defaultdict(Decimal)
    for reading in root.xpath("//e:IntervalReading", namespaces=NS):
        start = int(reading.xpath("string(e:timePeriod/e:start)", namespaces=NS))
        value = Decimal(reading.xpath("string(e:value)", namespaces=NS))
        local = datetime.fromtimestamp(start, tz)
        out[local.date().replace(day=1)] += value * Decimal(10) ** power / 1000
    return dict(out)


def test_year_of_daily_readings_in_eastern_time_has_no_phantom_month():
    parsed = parse_green_button(YEAR_DAILY.read_bytes())
    expected = independent_months(YEAR_DAILY, "America/New_York")
    got = {m.month: m.kwh for m in parsed.months}
    assert sorted(got) == sorted(expected)
    assert date(2012, 12, 1) not in got  # what reading it in Chicago time made up
    for month, kwh in expected.items():
        assert within(got[month], kwh), month
    days = {m.month: m.days for m in parsed.months}
    assert days[date(2013, 2, 1)] == 28 and days[date(2013, 3, 1)] == 31
    assert len([m for m in parsed.months if m.days >= 27]) == 14  # full months, priced


def test_spring_forward_day_in_eastern_time_is_one_day():
    parsed = parse_green_button(SPRING_EASTERN.read_bytes())
    expected = independent_months(SPRING_EASTERN, "America/New_York")
    assert [(m.month, m.days) for m in parsed.months] == [(date(2012, 3, 1), 1)]
    assert within(parsed.months[0].kwh, expected[date(2012, 3, 1)])


def test_pacific_feed_and_its_zip():
    expected = independent_months(PACIFIC, "America/Los_Angeles")
    parsed = parse_green_button(PACIFIC.read_bytes())
    assert {m.month: m.kwh for m in parsed.months} == expected
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Download My Data/electric_60_Minute.xml", PACIFIC.read_bytes())
        archive.writestr("__MACOSX/._electric_60_Minute.xml", b"\x00\x05")
    assert parse_green_button(buffer.getvalue()).months == parsed.months


def test_gas_file_is_refused_in_plain_words():
    with pytest.raises(UploadRefused) as exc:
        parse_green_button(GAS.read_bytes())
    assert exc.value.message.startswith("This file holds gas usage, not electricity.")
    water = GAS.read_bytes().replace(b"<kind>1</kind>", b"<kind>2</kind>")
    with pytest.raises(UploadRefused) as exc:
        parse_green_button(water)
    assert exc.value.message.startswith("This file holds water usage, not electricity.")


def two_meters() -> bytes:
    """The Pacific sample with a second electric usage point (values x3) beside the first."""
    root = etree.fromstring(PACIFIC.read_bytes())
    feed = root
    for entry in list(root.findall("a:entry", NS)):
        hrefs = [link.get("href") for link in entry.findall("a:link", NS)]
        if not any("/UsagePoint/1" in h for h in hrefs):
            continue
        twin = etree.fromstring(etree.tostring(entry))
        for link in twin.findall("a:link", NS):
            link.set("href", link.get("href").replace("/UsagePoint/1", "/UsagePoint/2"))
        for title in twin.findall("a:title", NS):
            title.text = (
                "Garage meter"
                if twin.find("a:content/e:UsagePoint", NS) is not None
                else title.text
            )
        for value in twin.findall(".//e:value", NS):
            value.text = str(int(value.text) * 3)
        feed.append(twin)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_several_usage_points_ask_which_one_and_are_never_summed():
    data = two_meters()
    with pytest.raises(UsagePointChoice) as exc:
        parse_green_button(data)
    assert exc.value.choices == ["Coastal Multi-Family 12hr", "Garage meter"]
    assert "holds 2 electricity meters" in exc.value.message
    assert exc.value.errors == ["Meter 1: Coastal Multi-Family 12hr", "Meter 2: Garage meter"]
    first = parse_green_button(data, usage_point=1).months
    second = parse_green_button(data, usage_point=2).months
    expected = independent_months(PACIFIC, "America/Los_Angeles")[date(2011, 1, 1)]
    assert first[0].kwh == expected
    assert second[0].kwh == expected * 3


def test_generation_meter_reading_is_kept_apart():
    """A second MeterReading with flowDirection 19 (reverse) under the same usage point."""
    root = etree.fromstring(PACIFIC.read_bytes())
    for entry in list(root.findall("a:entry", NS)):
        self_href = entry.find("a:link[@rel='self']", NS).get("href")
        if "/MeterReading/01" not in self_href and "/ReadingType/07" not in self_href:
            continue
        twin = etree.fromstring(etree.tostring(entry))
        for link in twin.findall("a:link", NS):
            href = link.get("href")
            link.set(
                "href",
                href.replace("MeterReading/01", "MeterReading/02").replace(
                    "ReadingType/07", "ReadingType/08"
                ),
            )
        flow = twin.find(".//e:flowDirection", NS)
        if flow is not None:
            flow.text = "19"
        for value in twin.findall(".//e:value", NS):
            value.text = "1000"
        root.append(twin)
    parsed = parse_green_button(etree.tostring(root))
    assert [m.kwh for m in parsed.months] == list(
        independent_months(PACIFIC, "America/Los_Angeles").values()
    )
    assert parsed.generation_kwh == Decimal(
        len(root.xpath("//e:IntervalReading", namespaces=NS)) // 2
    )


# --- through the page: stored once, bad files store nothing -----------------------------------


@pytest.fixture
def auth(db):
    ref = reference()
    return authorization_create(
        origin="shopper",
        channel="wizard",
        esiid=ESIID,
        meter_number="M1",
        email="a@example.com",
        language="en",
        customer_type=ref["res"],
        request_agreement=False,
    )


def _upload(client, auth: UsageAuthorization, kind: str, name: str, data: bytes, **extra):
    return client.post(
        f"/usage-authorization/s/{auth.token}/upload/",
        {"kind": kind, "file": SimpleUploadedFile(name, data), **extra},
        headers={"HX-Request": "true"},
    )


def _held(auth) -> list[tuple]:
    return list(
        MonthlyUsage.objects.filter(authorization=auth)
        .order_by("month")
        .values_list("pk", "month", "kwh", "days", "source", "stored_at")
    )


def test_smt_year_upload_is_stored_once_and_a_reupload_changes_nothing(client, auth):
    data, expected, _generated, _empty = smt_year_export()
    response = _upload(client, auth, "smt_csv", "IntervalData.csv", data)
    assert response.status_code == 200 and "HX-Redirect" in response
    page = client.get(f"/usage-authorization/s/{auth.token}/").content.decode()
    assert "12 months of usage stored from your file." in page
    assert "8 rows without a kWh value were skipped" in page
    assert "Surplus generation (" in page and "kept apart" in page
    held = _held(auth)
    assert [(m, k) for _pk, m, k, *_ in held] == [
        (m, expected[m].quantize(Decimal("0.001"))) for m in sorted(expected)
    ]
    assert len(pricing_months(list(MonthlyUsage.objects.filter(authorization=auth)))) == 12
    events = auth.events.count()
    assert _upload(client, auth, "smt_csv", "IntervalData.csv", data).status_code == 200
    assert _held(auth) == held
    assert auth.events.count() == events


@pytest.mark.parametrize(
    "kind, data, shown",
    [
        ("green_button", GAS.read_bytes(), "This file holds gas usage, not electricity."),
        (
            "green_button",
            YEAR_DAILY.read_bytes()[: len(YEAR_DAILY.read_bytes()) // 2],
            "This is not a well-formed XML file",
        ),
        ("smt_csv", b"ESIID,USAGE_DATE,USAGE_KWH\n'1044,01/01/2025,1\n", "first line must be"),
        ("smt_csv", smt_year_export(esiid="10443720009999999")[0], "This file is for ESIID"),
        ("green_button", two_meters(), "holds 2 electricity meters"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message_and_store_nothing(
    client, auth, kind, data, shown
):
    assert (
        _upload(client, auth, "green_button", "year.xml", YEAR_DAILY.read_bytes()).status_code
        == 200
    )
    before = _held(auth)
    assert len(before) == 15
    response = _upload(client, auth, kind, "bad", data)
    assert response.status_code == 422
    assert shown in response.content.decode()
    if kind == "green_button" and b"Garage" in data:
        assert "Meter 2: Garage meter" in response.content.decode()  # the choices, listed
    assert _held(auth) == before


def test_the_chosen_meter_of_a_two_meter_file_is_stored(client, auth):
    response = _upload(client, auth, "green_button", "two.xml", two_meters(), usage_point="2")
    assert response.status_code == 200
    row = MonthlyUsage.objects.get(authorization=auth)
    expected = independent_months(PACIFIC, "America/Los_Angeles")[date(2011, 1, 1)] * 3
    assert row.kwh == expected.quantize(Decimal("0.001"))


def test_zip_bombs_and_damaged_zips_are_refused_before_inflating():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("usage.xml", b"<feed>" + b" " * (16 * 1024 * 1024) + b"</feed>")
    bomb = buffer.getvalue()
    assert len(bomb) < 100_000  # small on the wire, 16 MB inflated
    with pytest.raises(UploadRefused) as exc:
        parse_green_button(bomb)
    assert exc.value.message == "The ZIP file holds too much data; nothing was stored."
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("usage.xml", PACIFIC.read_bytes())
    with pytest.raises(UploadRefused) as exc:
        parse_green_button(buffer.getvalue()[:400])
    assert exc.value.message == "This ZIP file is damaged or cut short; nothing was stored."
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", b"no xml here")
    with pytest.raises(UploadRefused) as exc:
        parse_green_button(buffer.getvalue())
    assert exc.value.message == "The ZIP file holds no Green Button XML file; nothing was stored."
