"""The SMT adapter's agreement calls against the simulator over real HTTP, faults included."""

from __future__ import annotations

import time

import httpx
import pytest

from authorizations.tests.factories import ESIID, smt_on
from conftest import set_fault
from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError
from usage.adapters.smt import clear_token_cache, smt_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(simulators_url):
    clear_token_cache()
    smt_on(f"{simulators_url}/smt")
    with smt_client() as c:
        yield c


def _config(url: str, **body) -> None:
    httpx.post(f"{url}/smt/_sim/agreements/config", json=body).raise_for_status()


def test_agreement_life_cycle(client, simulators_url):
    _config(simulators_url, approve_after_s=0.3, end_in_days=30)
    number = client.agreement_create(
        esiid=ESIID, meter_number="M1", email="a@example.com", language="es", duration_months=12
    )
    first = client.agreement_get(number=number)
    assert (first.number, first.status, first.esiids, first.end) == (
        number,
        "PENDING",
        (ESIID,),
        None,
    )
    time.sleep(0.4)
    active = client.agreement_get(number=number)
    assert active.status == "ACTIVE"
    assert (active.end - active.start).days == 30
    httpx.post(
        f"{simulators_url}/smt/_sim/agreements/expire", json={"agreementNumber": number}
    ).raise_for_status()
    assert client.agreement_get(number=number).status == "EXPIRED"
    client.agreement_terminate(number=number)
    assert client.agreement_get(number=number).status == "TERMINATED"


def test_refusals_and_faults(client, simulators_url):
    with pytest.raises(PermanentIntegrationError, match="Invalid meterNumber"):
        client.agreement_create(
            esiid=ESIID, meter_number=" ", email="a@example.com", language="en", duration_months=12
        )
    with pytest.raises(PermanentIntegrationError, match="does not know agreement"):
        client.agreement_get(number="AG99999999")
    set_fault(simulators_url, "smt", outage=True)
    with pytest.raises(TransientIntegrationError):
        client.agreement_create(
            esiid=ESIID, meter_number="M1", email="a@example.com", language="en", duration_months=12
        )
    set_fault(simulators_url, "smt", latency_ms=1500)
    client.http.timeout = httpx.Timeout(0.5)
    with pytest.raises(TransientIntegrationError, match="timed out"):
        client.agreement_get(number="AG00000001")
