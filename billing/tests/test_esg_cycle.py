"""The billing-cycle route: the ESG client against the simulator over real HTTP."""

from __future__ import annotations

import calendar
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from billing.adapters.esg import HttpEsgClient, esg_client
from conftest import set_fault
from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError


def test_billing_cycle_is_the_open_calendar_month(esg_url):
    with esg_client() as client:
        ban = client.billing_account_lookup("10089010000000001")
        assert ban is not None
        cycle = client.billing_cycle(ban)
    today = datetime.now(ZoneInfo("America/Chicago")).date()  # market days
    last_day = calendar.monthrange(today.year, today.month)[1]
    assert cycle.start == today.replace(day=1)
    assert cycle.end == today.replace(day=last_day)


def test_billing_cycle_errors(esg_url, simulators_url):
    with esg_client() as client:
        with pytest.raises(PermanentIntegrationError, match="HTTP 404"):
            client.billing_cycle("BA0000000X01")
        set_fault(simulators_url, "esg", error_rate=1.0)
        with pytest.raises(TransientIntegrationError):
            client.billing_cycle("BA0000000001")


@respx.mock
def test_billing_cycle_malformed_answers():
    url = "https://esg.test/api"
    route = respx.get(f"{url}/accounts/BA0000000001/cycle")
    client = HttpEsgClient(url, "k")
    route.mock(return_value=httpx.Response(200, json={"cycle_start": "2026-06-01"}))
    with pytest.raises(PermanentIntegrationError, match="malformed"):
        client.billing_cycle("BA0000000001")
    route.mock(
        return_value=httpx.Response(
            200, json={"cycle_start": "2026-06-30", "cycle_end": "2026-06-01"}
        )
    )
    with pytest.raises(PermanentIntegrationError, match="ends before it starts"):
        client.billing_cycle("BA0000000001")
    client.close()
