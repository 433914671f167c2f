"""The exactly-once faults of ``POST /_faults``, on the simulators themselves (real HTTP):
what the client sees, and what ``_stats`` says the system carried out."""

from __future__ import annotations

import time

import httpx
import pytest

from conftest import set_fault

AUTH = {"Authorization": "Bearer test"}
PROSPECT = {
    "esiid": "10089010000000001",
    "utility": "centerpoint",
    "plan_code": "SAVER12",
    "customer": {"first_name": "Ann"},
    "service_address": {"line1": "1 Main"},
}


def _create(url: str, key: str, **kwargs) -> httpx.Response:
    headers = {**AUTH, "Idempotency-Key": key}
    return httpx.post(f"{url}/esg/prospects", json=PROSPECT, headers=headers, **kwargs)


def _esg(url: str) -> dict:
    return httpx.get(f"{url}/esg/_stats").json()


def test_lose_response_drop_carries_out_then_breaks_the_connection(simulators_url):
    set_fault(simulators_url, "esg", lose_response={"endpoint": "POST /prospects"})
    with pytest.raises(httpx.RemoteProtocolError):
        _create(simulators_url, "k1")
    stats = _esg(simulators_url)
    assert stats["carried_out"]["prospects_created"] == 1
    assert stats["faults"] == {"received": 1, "fired": {"lose_response": 1}}
    # other endpoints of the system are not in scope
    status = httpx.get(f"{simulators_url}/esg/prospects/P00000001", headers=AUTH)
    assert status.status_code == 200 and status.json()["prospect_id"] == "P00000001"
    httpx.delete(f"{simulators_url}/_faults")
    again = _create(simulators_url, "k1")
    assert (again.status_code, again.json()["prospect_id"]) == (200, "P00000001")
    assert _esg(simulators_url)["carried_out"]["prospects_created"] == 1


@pytest.mark.parametrize(("mode", "status"), [("502", 502), ("504", 504)])
def test_lose_response_gateway_modes(simulators_url, mode, status):
    set_fault(simulators_url, "derms", lose_response={"endpoint": "POST /v1/*", "mode": mode})
    message = {"action": "enroll", "devices": [{"serial_number": "T-1"}]}
    headers = {**AUTH, "Idempotency-Key": "sync-1"}
    response = httpx.post(
        f"{simulators_url}/derms/v1/customer-asset-sync", json=message, headers=headers
    )
    assert response.status_code == status
    stats = httpx.get(f"{simulators_url}/derms/_stats").json()
    assert stats["carried_out"] == {"device_syncs_applied": 1}
    assert stats["sync_calls"] == 1


def test_rate_limit_answers_429_with_retry_after_and_does_nothing(simulators_url):
    set_fault(
        simulators_url,
        "esg",
        rate_limit={"endpoint": "POST /prospects", "retry_after_s": 7, "count": 2},
    )
    for _ in range(2):
        response = _create(simulators_url, "k1")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
    assert _esg(simulators_url)["carried_out"]["prospects_created"] == 0
    assert _create(simulators_url, "k1").status_code == 201  # count ran out
    assert _esg(simulators_url)["carried_out"]["prospects_created"] == 1
    assert httpx.get(f"{simulators_url}/_faults").json()["esg"]["rate_limit"]["count"] == 0


@pytest.mark.parametrize("mode", ["truncated", "schema"])
def test_malformed_is_a_200_that_breaks_the_contract(simulators_url, mode):
    set_fault(simulators_url, "esg", malformed={"endpoint": "POST /prospects", "mode": mode})
    response = _create(simulators_url, "k1")
    assert response.status_code == 200
    if mode == "truncated":
        with pytest.raises(ValueError):
            response.json()
    else:
        assert "prospect_id" not in response.json()
    assert _esg(simulators_url)["carried_out"]["prospects_created"] == 1


def test_duplicate_delivery_reaches_the_system_twice_and_lists_twice(simulators_url):
    set_fault(simulators_url, "esg", duplicate_delivery={"endpoint": "POST /prospects"})
    response = _create(simulators_url, "k1")
    assert (response.status_code, response.json()["prospect_id"]) == (200, "P00000001")
    stats = _esg(simulators_url)
    assert (stats["create_calls"], stats["replays"]) == (2, 1)
    assert stats["carried_out"]["prospects_created"] == 1

    # a list answer carries each item twice: an event delivered twice
    httpx.post(
        f"{simulators_url}/derms/_control/events",
        json={
            "program": "p1",
            "starts_at": "2030-07-01T20:00:00+00:00",
            "ends_at": "2030-07-01T22:00:00+00:00",
            "event_id": "EV-9",
        },
    ).raise_for_status()
    set_fault(simulators_url, "derms", duplicate_delivery={"endpoint": "GET /v1/events"})
    events = httpx.get(f"{simulators_url}/derms/v1/events", headers=AUTH).json()["events"]
    assert [e["event_id"] for e in events] == ["EV-9", "EV-9"]


def test_out_of_order_delivers_the_earlier_status_after_the_later(simulators_url):
    httpx.post(f"{simulators_url}/esg/_config", json={"pending_seconds": 0.5})
    assert _create(simulators_url, "k1").status_code == 201
    set_fault(simulators_url, "esg", out_of_order={"endpoint": "GET /prospects/*"})
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(seen) < 12:
        body = httpx.get(f"{simulators_url}/esg/prospects/P00000001", headers=AUTH).json()
        seen.append(body["status"])
        if seen[-3:] == ["accepted", "pending", "accepted"]:
            break
        time.sleep(0.15)
    first_accepted = seen.index("accepted")
    assert seen[first_accepted:] == ["accepted", "pending", "accepted"]
    assert set(seen[:first_accepted]) == {"pending"}


def test_slow_body_sends_headers_then_trickles(simulators_url):
    set_fault(simulators_url, "esg", slow_body={"endpoint": "POST /prospects", "gap_ms": 600})
    timeout = httpx.Timeout(5.0, read=0.3)
    with pytest.raises(httpx.ReadTimeout):
        _create(simulators_url, "k1", timeout=timeout)
    assert _esg(simulators_url)["carried_out"]["prospects_created"] == 1
    # a patient client gets the whole answer (the same prospect: idempotency key)
    response = _create(simulators_url, "k1", timeout=httpx.Timeout(5.0))
    assert response.json()["prospect_id"] == "P00000001"
    assert _esg(simulators_url)["carried_out"]["prospects_created"] == 1


def test_smt_stats_count_agreements_carried_out(simulators_url):
    stats = httpx.get(f"{simulators_url}/smt/_stats").json()
    assert stats["carried_out"] == {"agreements_created": 0, "agreements_terminated": 0}
    counts = httpx.get(f"{simulators_url}/_faults/counts").json()
    assert set(counts) == {"smt", "esg", "derms"}


def test_bad_scoped_faults_are_refused(simulators_url):
    for body in (
        {"system": "esg", "lose_response": {"mode": "418"}},
        {"system": "esg", "malformed": {"mode": "wrong"}},
        {"system": "esg", "rate_limit": {"rate": 2}},
        {"system": "esg", "slow_body": {"chunks": 1}},
        {"system": "esg", "rate_limit": "yes"},
    ):
        assert httpx.post(f"{simulators_url}/_faults", json=body).status_code == 400
    assert "rate_limit" not in httpx.get(f"{simulators_url}/_faults").json()["esg"]
