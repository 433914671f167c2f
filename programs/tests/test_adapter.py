"""The DERMS adapter alone: transport stubbed with respx."""

from __future__ import annotations

import httpx
import pytest
import respx

from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError
from opsadmin.models import ThirdPartyProvider
from programs.adapters.derms import DeviceAck, HttpDermsClient, get_client, parse_ack

BASE = "http://127.0.0.1:9/derms"


def test_parse_current_and_deprecated_acks():
    ack = parse_ack(
        {
            "message_id": "m1",
            "ack": "positive",
            "devices": [{"serial_number": "A", "head_end_status": "Registered"}],
        }
    )
    assert (ack.positive, ack.deprecated, ack.devices) == (
        True,
        False,
        (DeviceAck("A", "Registered", ""),),
    )
    old = parse_ack({"message_id": "m2", "ack": "negative", "reason": "no"})
    assert (old.positive, old.deprecated, old.reason, old.devices) == (False, True, "no", ())
    with pytest.raises(PermanentIntegrationError):
        parse_ack({"ack": "maybe"})
    with pytest.raises(PermanentIntegrationError):
        parse_ack(
            {"ack": "positive", "devices": [{"serial_number": "A", "head_end_status": "Gone"}]}
        )


@respx.mock
def test_status_codes_map_to_transient_or_permanent():
    client = HttpDermsClient(base_url=BASE, api_key="k")
    route = respx.post(f"{BASE}/v1/customer-asset-sync")
    route.mock(return_value=httpx.Response(503))
    with pytest.raises(TransientIntegrationError):
        client.sync(message={}, idempotency_key="k1")
    route.mock(return_value=httpx.Response(429))
    with pytest.raises(TransientIntegrationError):
        client.sync(message={}, idempotency_key="k1")
    route.mock(side_effect=httpx.ConnectTimeout("slow"))
    with pytest.raises(TransientIntegrationError, match="timed out"):
        client.sync(message={}, idempotency_key="k1")
    route.mock(return_value=httpx.Response(400, json={"error": "bad devices"}))
    with pytest.raises(PermanentIntegrationError, match="bad devices"):
        client.sync(message={}, idempotency_key="k1")
    route.mock(return_value=httpx.Response(302, headers={"Location": "http://evil.example/"}))
    with pytest.raises(PermanentIntegrationError):
        client.sync(message={}, idempotency_key="k1")
    route.mock(return_value=httpx.Response(200, json={"ack": "positive", "devices": []}))
    assert client.sync(message={}, idempotency_key="k1").positive is True
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer k"
    assert sent.headers["Idempotency-Key"] == "k1"


@pytest.mark.django_db
def test_get_client_checks_the_configured_url():
    provider = ThirdPartyProvider.load()
    with pytest.raises(PermanentIntegrationError, match="not configured"):
        get_client()
    provider.derms_api_url = "http://derms.evil.example/derms"
    provider.save()
    with pytest.raises(PermanentIntegrationError, match="not allowed"):
        get_client()
    provider.derms_api_url = BASE
    provider.save()
    assert isinstance(get_client(), HttpDermsClient)
