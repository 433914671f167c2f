"""The SMT adapter alone, with the transport stubbed (respx)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError
from usage.adapters import smt
from usage.adapters.smt import SmtClient, SmtConfig, parse_rd

BASE = "http://127.0.0.1:9999/smt"
CHI = ZoneInfo("America/Chicago")


@pytest.fixture(autouse=True)
def _fresh_tokens():
    smt.clear_token_cache()
    yield
    smt.clear_token_cache()


def client(**kw) -> SmtClient:
    cfg = {
        "base_url": BASE,
        "username": "SVC1",
        "password": "pw",
        "duns": "123456789",
        "requester_type": "RES",
    }
    cfg.update(kw)
    return SmtClient(SmtConfig(**cfg))


def token_route(mock, token="tok-1", expires_in="3600"):  # noqa: S107
    return mock.post(f"{BASE}/v2/token/").mock(
        return_value=httpx.Response(
            200, json={"accessToken": token, "tokenType": "Bearer", "expiresIn": expires_in}
        )
    )


def test_parse_rd_flags_and_empty_entries():
    values, est = parse_rd("0.610-A,0.050-E,,1.2-A,,,")
    assert values == (Decimal("0.610"), Decimal("0.050"), None, Decimal("1.2"))
    assert est == (False, True, False, False)


def test_parse_rd_unknown_flag_is_permanent():
    with pytest.raises(PermanentIntegrationError):
        parse_rd("0.5-X")


@respx.mock
def test_interval_reads_token_payload_and_parsing():
    tok = token_route(respx)
    reads = respx.post(f"{BASE}/v2/15minintervalreads/").mock(
        return_value=httpx.Response(
            200,
            json={
                "trans_id": "x",
                "esiid": "1008901023806680370100",
                "energyData": [
                    {
                        "DT": "03/09/2025",
                        "RevTS": "03/10/2025 23:00:00",
                        "RT": "C",
                        "RD": ",".join(["0.250-A"] * 91 + ["0.300-E"]) + ",,",
                    },
                    {
                        "DT": "03/09/2025",
                        "RevTS": "03/10/2025 23:00:00",
                        "RT": "G",
                        "RD": "0.000-A,,0.100-A",
                    },
                    {"DT": "03/10/2025", "RT": "G", "RD": ",,,"},
                ],
            },
        )
    )
    with client() as c:
        records = c.interval_reads(
            esiid="1008901023806680370100", start=date(2025, 3, 9), end=date(2025, 3, 10)
        )
        c.interval_reads(
            esiid="1008901023806680370100", start=date(2025, 3, 9), end=date(2025, 3, 9)
        )
    assert tok.call_count == 1  # cached
    sent = json.loads(reads.calls[0].request.content)
    assert reads.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert sent["requestorID"] == "SVC1"
    assert sent["requesterType"] == "RES"
    assert sent["requesterAuthenticationID"] == "123456789"
    assert sent["startDate"] == "03/09/2025" and sent["endDate"] == "03/10/2025"
    assert sent["esiid"] == ["1008901023806680370100"]
    assert sent["version"] == "L" and sent["readingType"] == "A"
    assert len(records) == 2  # the all-empty G record is dropped
    cons, gen = records
    assert (cons.channel, len(cons.values), cons.estimated[-1]) == ("C", 92, True)
    assert cons.revised_at == datetime(2025, 3, 10, 23, tzinfo=CHI)
    assert gen.values == (Decimal("0.000"), None, Decimal("0.100"))
    readings = gen.readings()
    # position 2 starts 30 min after local midnight (06:00 UTC in CST)
    assert [r.start.isoformat() for r in readings] == [
        "2025-03-09T06:00:00+00:00",
        "2025-03-09T06:30:00+00:00",
    ]


@respx.mock
def test_token_refetched_before_expiry_and_on_401():
    tok = token_route(respx, expires_in="30")  # inside the 60 s margin: never reused
    respx.post(f"{BASE}/v2/dailyreads/").mock(
        side_effect=[
            httpx.Response(200, json={"registeredReads": []}),
            httpx.Response(401, json={"error": "Token expired."}),
            httpx.Response(
                200,
                json={
                    "registeredReads": [
                        {
                            "readDate": "11/01/2026",
                            "startReading": "1.0",
                            "endReading": "31.5",
                            "energyDataKwh": "30.5",
                            "revisionDate": "11/02/2026 12:00:00",
                        }
                    ]
                },
            ),
        ]
    )
    with client() as c:
        assert (
            c.daily_reads(esiid="10443720000000001", start=date(2026, 11, 1), end=date(2026, 11, 1))
            == []
        )
        out = c.daily_reads(
            esiid="10443720000000001", start=date(2026, 11, 1), end=date(2026, 11, 1)
        )
    assert tok.call_count == 3
    assert out[0].kwh == Decimal("30.5") and out[0].day == date(2026, 11, 1)


@respx.mock
def test_no_data_error_code_means_empty():
    token_route(respx)
    respx.post(f"{BASE}/v2/15minintervalreads/").mock(
        return_value=httpx.Response(
            200,
            json={"errorCode": "1", "errorMessage": "No data received from the respective TDSP"},
        )
    )
    with client() as c:
        assert (
            c.interval_reads(
                esiid="10443720000000001", start=date(2026, 1, 1), end=date(2026, 1, 2)
            )
            == []
        )


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(503, json={"error": "down"}), TransientIntegrationError),
        (httpx.Response(429, json={"error": "slow down"}), TransientIntegrationError),
        (httpx.Response(500, text="oops"), TransientIntegrationError),
        (httpx.Response(400, json={"error": "bad"}), PermanentIntegrationError),
        (httpx.Response(403, text="<html>Access Denied</html>"), PermanentIntegrationError),
        (httpx.Response(302, headers={"Location": "http://evil/"}), PermanentIntegrationError),
        (
            httpx.Response(200, json={"errorCode": "2", "errorMessage": "Invalid ESIID"}),
            PermanentIntegrationError,
        ),
        (httpx.Response(200, json={"energyData": [{"RT": "C"}]}), PermanentIntegrationError),
    ],
)
@respx.mock
def test_errors_are_mapped(response, error):
    token_route(respx)
    respx.post(f"{BASE}/v2/15minintervalreads/").mock(return_value=response)
    with client() as c, pytest.raises(error):
        c.interval_reads(esiid="10443720000000001", start=date(2026, 1, 1), end=date(2026, 1, 1))


@respx.mock
def test_network_errors_are_transient():
    token_route(respx)
    respx.post(f"{BASE}/v2/monthlybillingInformation/").mock(side_effect=httpx.ConnectTimeout("t"))
    with client() as c, pytest.raises(TransientIntegrationError):
        c.monthly_reads(esiid="10443720000000001", start=date(2026, 1, 1), end=date(2026, 1, 31))


@respx.mock
def test_bad_credentials_are_permanent():
    respx.post(f"{BASE}/v2/token/").mock(
        return_value=httpx.Response(401, json={"error": "Incorrect username or password."})
    )
    with client() as c, pytest.raises(PermanentIntegrationError, match="Incorrect"):
        c.daily_reads(esiid="10443720000000001", start=date(2026, 1, 1), end=date(2026, 1, 1))


@respx.mock
def test_certificate_mode_uses_basic_auth_and_no_token():
    tok = token_route(respx)
    route = respx.post(f"{BASE}/v2/monthlybillingInformation/").mock(
        return_value=httpx.Response(
            200,
            json={
                "billingData": [
                    {"startDate": "01/01/2026", "endDate": "01/31/2026", "actlKwhUsg": "812.5"}
                ]
            },
        )
    )
    with client(auth_mode="certificate", certificate_name="rep") as c:
        out = c.monthly_reads(
            esiid="10443720000000001", start=date(2026, 1, 1), end=date(2026, 1, 31)
        )
    assert tok.call_count == 0
    assert route.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert out[0].kwh == Decimal("812.5") and out[0].end == date(2026, 1, 31)


def test_url_outside_the_allowlist_is_refused():
    with pytest.raises(PermanentIntegrationError, match="refused"):
        client(base_url="http://169.254.169.254/smt")


@respx.mock
def test_long_ranges_are_split():
    token_route(respx)
    route = respx.post(f"{BASE}/v2/15minintervalreads/").mock(
        return_value=httpx.Response(200, json={"energyData": []})
    )
    with client(max_days_per_request=366) as c:
        c.interval_reads(
            esiid="10443720000000001", start=date(2024, 11, 25), end=date(2026, 11, 24)
        )
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert [(b["startDate"], b["endDate"]) for b in bodies] == [
        ("11/25/2024", "11/25/2025"),
        ("11/26/2025", "11/24/2026"),
    ]
