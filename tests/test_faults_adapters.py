"""The three adapters under the exactly-once faults.

Transport stubbed (respx) for the header forms; the real simulators over HTTP for the
faults themselves: 429 -> transient with the vendor's Retry-After; a lost or trickling
answer -> transient; a malformed 200 -> ``MalformedAnswerError`` (permanent) with a reason
staff can read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from billing.adapters.esg import HttpEsgClient
from conftest import set_fault
from opsadmin.errors import (
    MalformedAnswerError,
    PermanentIntegrationError,
    TransientIntegrationError,
    retry_after_seconds,
)
from programs.adapters.derms import HttpDermsClient
from usage.adapters import smt
from usage.adapters.smt import SmtClient, SmtConfig

PAYLOAD = {
    "esiid": "10089010000000001",
    "utility": "centerpoint",
    "plan_code": "SAVER12",
    "customer": {"first_name": "Ann"},
    "service_address": {"line1": "1 Main"},
}
MESSAGE = {"action": "enroll", "devices": [{"serial_number": "T-1", "action": "register"}]}
STUB = "http://127.0.0.1:9999"


def test_retry_after_forms():
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(
        format_datetime(now + timedelta(seconds=90), usegmt=True), now=now
    ) == pytest.approx(90.0)
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0
    assert retry_after_seconds("999999") == 3600.0  # capped at an hour
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


@respx.mock
def test_each_adapter_carries_retry_after_on_429_and_503():
    respx.post(f"{STUB}/esg/prospects").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "12"}, json={"error": "slow"})
    )
    respx.post(f"{STUB}/derms/v1/customer-asset-sync").mock(
        return_value=httpx.Response(503, headers={"Retry-After": "30"})
    )
    respx.post(f"{STUB}/smt/v2/NewAgreement/").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "5"})
    )
    respx.post(f"{STUB}/smt/v2/token/").mock(
        return_value=httpx.Response(200, json={"accessToken": "t", "expiresIn": 3600})
    )
    with pytest.raises(TransientIntegrationError) as esg_error:
        HttpEsgClient(f"{STUB}/esg", "k").create_prospect(PAYLOAD, "key-1")
    assert esg_error.value.retry_after == 12.0
    assert "HTTP 429" in str(esg_error.value)
    with pytest.raises(TransientIntegrationError) as derms_error:
        HttpDermsClient(base_url=f"{STUB}/derms", api_key="k").sync(
            message=MESSAGE, idempotency_key="s-1"
        )
    assert derms_error.value.retry_after == 30.0
    smt.clear_token_cache()
    with pytest.raises(TransientIntegrationError) as smt_error:
        _smt(f"{STUB}/smt").agreement_create(
            esiid="10443720000000001", meter_number="M1", email="a@b.c", language="en",
            duration_months=12,
        )  # fmt: skip
    assert smt_error.value.retry_after == 5.0


@respx.mock
def test_a_429_without_retry_after_is_transient_with_no_wait():
    respx.post(f"{STUB}/esg/prospects").mock(return_value=httpx.Response(429))
    with pytest.raises(TransientIntegrationError) as error:
        HttpEsgClient(f"{STUB}/esg", "k").create_prospect(PAYLOAD, "key-1")
    assert error.value.retry_after is None


def _smt(base: str) -> SmtClient:
    return SmtClient(
        SmtConfig(
            base_url=base,
            username="DEMOREP",
            password="demo-smt-secret",  # noqa: S106 - simulator credential
            duns="123456789",
            requester_type="RES",
            timeout_s=0.5,
        )
    )


def _esg(url: str) -> HttpEsgClient:
    return HttpEsgClient(f"{url}/esg", "k", timeout=httpx.Timeout(3.0, read=0.4))


def _derms(url: str) -> HttpDermsClient:
    return HttpDermsClient(base_url=f"{url}/derms", api_key="k")


@pytest.mark.parametrize("mode", ["drop", "502", "504"])
def test_lost_answers_are_transient_and_the_retry_lands_on_the_same_prospect(simulators_url, mode):
    set_fault(simulators_url, "esg", lose_response={"endpoint": "POST /prospects", "mode": mode})
    with _esg(simulators_url) as client, pytest.raises(TransientIntegrationError):
        client.create_prospect(PAYLOAD, "key-1")
    httpx.delete(f"{simulators_url}/_faults")
    with _esg(simulators_url) as client:
        assert client.create_prospect(PAYLOAD, "key-1").prospect_id == "P00000001"
    stats = httpx.get(f"{simulators_url}/esg/_stats").json()
    assert stats["carried_out"]["prospects_created"] == 1


def test_slow_body_is_a_read_timeout_then_an_idempotent_replay(simulators_url):
    set_fault(simulators_url, "esg", slow_body={"endpoint": "POST /prospects", "gap_ms": 800})
    with _esg(simulators_url) as client, pytest.raises(TransientIntegrationError, match="timed"):
        client.create_prospect(PAYLOAD, "key-1")
    httpx.delete(f"{simulators_url}/_faults")
    with _esg(simulators_url) as client:
        assert client.create_prospect(PAYLOAD, "key-1").prospect_id == "P00000001"
    assert httpx.get(f"{simulators_url}/esg/_stats").json()["prospects"] == 1


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("truncated", "not JSON: truncated or garbled"), ("schema", "missing prospect_id, status")],
)
def test_malformed_esg_answer_is_permanent_with_a_reason(simulators_url, mode, reason):
    set_fault(simulators_url, "esg", malformed={"endpoint": "POST /prospects", "mode": mode})
    with _esg(simulators_url) as client, pytest.raises(MalformedAnswerError) as error:
        client.create_prospect(PAYLOAD, "key-1")
    assert isinstance(error.value, PermanentIntegrationError)
    assert "malformed answer" in str(error.value) and reason in str(error.value)


@pytest.mark.parametrize(
    ("mode", "reason"), [("truncated", "not JSON"), ("schema", "malformed (no ack)")]
)
def test_malformed_derms_ack_is_permanent_with_a_reason(simulators_url, mode, reason):
    set_fault(simulators_url, "derms", malformed={"endpoint": "POST /v1/customer-asset-sync",
                                                  "mode": mode})  # fmt: skip
    client = _derms(simulators_url)
    with pytest.raises(MalformedAnswerError, match="DERMS acknowledgement is malformed") as error:
        client.sync(message=MESSAGE, idempotency_key="s-1")
    assert reason in str(error.value)
    client.close()


def test_smt_agreement_faults(simulators_url):
    smt.clear_token_cache()
    client = _smt(f"{simulators_url}/smt")
    args = {
        "esiid": "10443720000000001",
        "meter_number": "M1",
        "email": "a@example.com",
        "language": "en",
        "duration_months": 12,
    }
    client._token()  # the token call is not in the faults' scope anyway
    set_fault(simulators_url, "smt", rate_limit={"endpoint": "POST /v2/NewAgreement/",
                                                "retry_after_s": 4})  # fmt: skip
    with pytest.raises(TransientIntegrationError) as limited:
        client.agreement_create(**args)
    assert limited.value.retry_after == 4.0
    set_fault(simulators_url, "smt", malformed={"endpoint": "POST /v2/NewAgreement/",
                                               "mode": "schema"})  # fmt: skip
    with pytest.raises(MalformedAnswerError, match="without a number"):
        client.agreement_create(**args)
    set_fault(simulators_url, "smt", slow_body={"endpoint": "POST /v2/NewAgreement/",
                                               "gap_ms": 900})  # fmt: skip
    with pytest.raises(TransientIntegrationError, match="timed out"):
        client.agreement_create(**args)
    httpx.delete(f"{simulators_url}/_faults")
    listed = client.agreements_list()
    assert [(a.esiids, a.meter_numbers, a.email) for a in listed] == [
        (("10443720000000001",), ("M1",), "a@example.com")
    ] * 2  # the malformed and the slow one were carried out; the rate-limited one not
    client.close()


def test_smt_agreement_task_waits_at_least_retry_after():
    from authorizations.tasks import retry_countdown

    assert retry_countdown(0, TransientIntegrationError("x")) == 2.0  # backoff: 2 * 2 ** n
    assert retry_countdown(3, TransientIntegrationError("x")) == 16.0
    assert retry_countdown(0, TransientIntegrationError("429", retry_after=30.0)) == 30.0
    assert retry_countdown(5, TransientIntegrationError("429", retry_after=5.0)) == 64.0
