"""Billing outbox rows for the outbox tests: a Create Prospect request per number."""

from __future__ import annotations

from billing.models import BillingRequest
from billing.services import billing_request_create

PAYLOAD = {
    "utility": "centerpoint",
    "plan_code": "SAVER12",
    "customer": {"first_name": "Ann", "last_name": "Lee"},
    "service_address": {"line1": "1 Main", "city": "Houston", "state": "TX", "zip": "77002"},
}


def request_payload(n: int) -> dict:
    return {**PAYLOAD, "esiid": f"1008901{n:010d}"}


def request_row(
    n: int, payload: dict | None = None, kind: str = "create_prospect"
) -> BillingRequest:
    return billing_request_create(
        kind=kind,
        subject_type="test",
        subject_id=n,
        payload=payload if payload is not None else request_payload(n),
        idempotency_key=f"{kind}:test:{n}",
        utility_code="centerpoint",
    )
