"""Fallback files: SMT CSV and Green Button parsed safely; hostile or malformed files are
refused with a clear message, line by line, and store nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from authorizations.models import MonthlyUsage, UsageAuthorization
from authorizations.parsers import (
    MAX_XML_BYTES,
    ParsedMonth,
    UploadRefused,
    parse_green_button,
    parse_smt_csv,
)
from authorizations.services import authorization_create
from authorizations.tests.factories import ESIID, reference

HEADER = (
    "ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH,"
    "ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\n"
)


def smt_csv(days: list[date], esiid: str = ESIID, kwh: str = "0.250") -> bytes:
    lines = [HEADER]
    for day in days:
        for i in range(96):
            start = f"{i // 4:02d}:{i % 4 * 15:02d}"
            end_i = i + 1
            end = "00:00" if end_i == 96 else f"{end_i // 4:02d}:{end_i % 4 * 15:02d}"
            d = day.strftime("%m/%d/%Y")
            lines.append(f"'{esiid},{d},{d} 23:00:00, {start}, {end},{kwh},A,Consumption\n")
            lines.append(f"'{esiid},{d},{d} 23:00:00, {start}, {end},0.100,A,Surplus Generation\n")
    return "".join(lines).encode()


def green_button(hours: int = 48, start_epoch: int = 1704088800, wh: str = "500") -> bytes:
    # 1704088800 = 2024-01-01 00:00 America/Chicago
    readings = "".join(
        f"<espi:IntervalReading><espi:timePeriod><espi:duration>3600</espi:duration>"
        f"<espi:start>{start_epoch + 3600 * h}</espi:start></espi:timePeriod>"
        f"<espi:value>{wh}</espi:value></espi:IntervalReading>"
        for h in range(hours)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">'
        "<entry><content><espi:ReadingType><espi:uom>72</espi:uom>"
        "<espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier>"
        "<espi:intervalLength>3600</espi:intervalLength></espi:ReadingType></content></entry>"
        f"<entry><content><espi:IntervalBlock>{readings}</espi:IntervalBlock></content></entry>"
        "</feed>"
    ).encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<feed xmlns:espi="http://naesb.org/espi"><espi:value>&lol4;</espi:value></feed>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns:espi="http://naesb.org/espi"><espi:value>&xxe;</espi:value></feed>"""


def test_smt_csv_sums_consumption_by_month_and_skips_surplus():
    months = parse_smt_csv(
        smt_csv([date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1)]), esiid=ESIID
    ).months
    assert months == [
        ParsedMonth(month=date(2025, 1, 1), kwh=Decimal("48.000"), days=2),
        ParsedMonth(month=date(2025, 2, 1), kwh=Decimal("24.000"), days=1),
    ]


def test_smt_csv_wrong_format_is_refused():
    with pytest.raises(UploadRefused) as exc:
        parse_smt_csv(b"date,kwh\n01/01/2025,3\n", esiid=ESIID)
    assert "does not look like a Smart Meter Texas interval CSV" in exc.value.message
    with pytest.raises(UploadRefused) as exc:
        parse_smt_csv(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", esiid=ESIID)
    assert exc.value.message == "This is not a text CSV file; nothing was stored."


def test_smt_csv_errors_are_reported_per_line():
    body = (
        HEADER
        + f"'{ESIID},01/01/2025,,00:00,00:15,0.2,A,Consumption\n"
        + f"'{ESIID},13/45/2025,,00:15,00:30,0.2,A,Consumption\n"
        + f"'{ESIID},01/01/2025,,00:30,00:45,lots,A,Consumption\n"
        + "'1.00890102380668E+21,01/01/2025,,00:45,01:00,0.2,A,Consumption\n"
        + "'10443720001234567,01/01/2025,,01:00,01:15,0.2,A,Consumption\n"
        + f"'{ESIID},01/01/2025,,01:15,01:30\n"
        + f"'{ESIID},01/01/2025,,01:30,01:45,0.2,A,Gas\n"
    )
    with pytest.raises(UploadRefused) as exc:
        parse_smt_csv(body.encode(), esiid=ESIID)
    assert exc.value.message == "We could not read this CSV; nothing was stored."
    assert exc.value.errors == [
        "Line 3: the date '13/45/2025' is not MM/DD/YYYY.",
        "Line 4: the kWh 'lots' is not a number.",
        "Line 5: the ESIID is in scientific notation (a spreadsheet changed it).",
        f"Line 6: ESIID 10443720001234567 is not this premise's ESIID ({ESIID}).",
        "Line 7: expected 8 columns, found 5.",
        "Line 8: unknown channel 'Gas'.",
    ]


def test_green_button_parses_wh_into_monthly_kwh():
    months = parse_green_button(green_button(hours=48)).months
    assert months == [ParsedMonth(month=date(2024, 1, 1), kwh=Decimal("24"), days=2)]


@pytest.mark.parametrize(
    "data, message",
    [
        (BILLION_LAUGHS, "declares a DTD or XML entities"),
        (EXTERNAL_ENTITY, "declares a DTD or XML entities"),
        (b"<feed><unclosed></feed>", "not a well-formed XML file (line 1)"),
        (b"hello, world", "not a well-formed XML file"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "no ReadingType"),
        (green_button().replace(b"<espi:uom>72<", b"<espi:uom>38<"), "not in watt-hours"),
    ],
)
def test_hostile_and_malformed_xml_is_refused(data, message):
    with pytest.raises(UploadRefused) as exc:
        parse_green_button(data)
    assert message in exc.value.message
    assert "nothing was stored" in exc.value.message


def test_green_button_bad_readings_are_listed():
    data = green_button(hours=3).replace(b"<espi:value>500<", b"<espi:value>x<", 1)
    with pytest.raises(UploadRefused) as exc:
        parse_green_button(data)
    assert exc.value.errors == ["IntervalReading 1: the value 'x' is not a number."]


def test_huge_xml_is_refused_before_parsing():
    with pytest.raises(UploadRefused) as exc:
        parse_green_button(b"<a>" + b" " * MAX_XML_BYTES + b"</a>")
    assert exc.value.message == "The file is larger than 15 MB; nothing was stored."


# --- through the page: nothing stored on refusal, the source labeled on success --------------


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


def _upload(client, auth: UsageAuthorization, kind: str, name: str, data: bytes, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        f"/usage-authorization/s/{auth.token}/upload/",
        {"kind": kind, "file": SimpleUploadedFile(name, data)},
        headers=headers,
    )


@pytest.mark.parametrize(
    "kind, data, shown",
    [
        ("green_button", BILLION_LAUGHS, "declares a DTD or XML entities"),
        ("green_button", b"<a>" + b" " * (MAX_XML_BYTES + 1) + b"</a>", "larger than 15 MB"),
        ("smt_csv", b"date,kwh\n", "does not look like a Smart Meter Texas interval CSV"),
    ],
)
def test_refused_upload_stores_nothing(client, auth, kind, data, shown):
    smt_csv_ok = smt_csv([date(2025, 1, 1)])
    assert _upload(client, auth, "smt_csv", "ok.csv", smt_csv_ok).status_code == 302
    before = list(MonthlyUsage.objects.filter(authorization=auth).values_list("kwh", "source"))
    response = _upload(client, auth, kind, "bad", data, htmx=True)
    assert response.status_code == 422
    assert shown in response.content.decode()
    after = list(MonthlyUsage.objects.filter(authorization=auth).values_list("kwh", "source"))
    assert after == before == [(Decimal("24.000"), "smt_csv")]


def test_line_errors_are_shown_on_the_page(client, auth):
    body = HEADER + f"'{ESIID},01/01/2025,,00:00,00:15,lots,A,Consumption\n"
    response = _upload(client, auth, "smt_csv", "bad.csv", body.encode())
    assert response.status_code == 422
    html = response.content.decode()
    assert "Line 2: the kWh &#x27;lots&#x27; is not a number." in html
    assert not MonthlyUsage.objects.filter(authorization=auth).exists()


def test_green_button_upload_is_labeled(client, auth):
    response = _upload(client, auth, "green_button", "usage.xml", green_button(hours=24 * 31))
    assert response.status_code == 302
    html = client.get(f"/usage-authorization/s/{auth.token}/").content.decode()
    assert "Uploaded Green Button file" in html
    row = MonthlyUsage.objects.get(authorization=auth)
    assert (row.month, row.kwh, row.days, row.source) == (
        date(2024, 1, 1),
        Decimal("372.000"),
        31,
        "green_button",
    )
    assert 'id="plan-costs"' in html  # one full month is enough to price (scaled to a year)
