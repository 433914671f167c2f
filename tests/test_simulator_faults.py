"""The one fault-injection contract every simulated system shares."""

from __future__ import annotations

import httpx

from conftest import set_fault


def test_outage_error_rate_and_clear(simulators_url):
    set_fault(simulators_url, "esg", outage=True)
    assert httpx.get(f"{simulators_url}/esg/anything").status_code == 503
    assert httpx.get(f"{simulators_url}/_faults").json()["esg"]["outage"] is True
    set_fault(simulators_url, "smt", error_rate=1.0)
    assert httpx.get(f"{simulators_url}/smt/anything").status_code == 500
    httpx.delete(f"{simulators_url}/_faults")
    assert httpx.get(f"{simulators_url}/esg/anything").status_code != 503
    faults = httpx.get(f"{simulators_url}/_faults").json()
    assert faults["smt"] == {"error_rate": 0.0, "latency_ms": 0, "outage": False}


def test_bad_fault_requests_are_refused(simulators_url):
    assert httpx.post(f"{simulators_url}/_faults", json={"system": "nope"}).status_code == 400
    assert (
        httpx.post(f"{simulators_url}/_faults", json={"system": "esg", "error_rate": 2}).status_code
        == 400
    )
