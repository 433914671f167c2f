"""The ESG client against the simulator over real HTTP (the contract both sides speak)."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from billing.adapters.esg import HttpEsgClient, esg_client
from conftest import set_fault
from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError

PAYLOAD = {
    "enrollment_id": 1,
    "utility": "centerpoint",
    "esiid": "10089010000000001",
    "plan_code": "SAVER12",
    "customer": {"first_name": "Ann", "last_name": "Lee"},
    "service_address": {"line1": "1 Main", "city": "Houston", "state": "TX", "zip": "77002"},
}


def _config(url: str, seconds: float) -> None:
    httpx.post(f"{url}/_config", json={"pending_seconds": seconds}).raise_for_status()


def test_create_prospect_is_idempotent_then_accepted(esg_url):
    _config(esg_url, 0.3)
    with esg_client() as client:
        first = client.create_prospect(PAYLOAD, "key-1")
        again = client.create_prospect(PAYLOAD, "key-1")
        other = client.create_prospect({**PAYLOAD, "esiid": "10089010000000002"}, "key-2")
        assert first.prospect_id == again.prospect_id == "P00000001"
        assert other.prospect_id == "P00000002"
        assert first.status == "pending"
        assert client.prospect_status(first.prospect_id).status == "pending"
        time.sleep(0.35)
        status = client.prospect_status(first.prospect_id)
    stats = httpx.get(f"{esg_url}/_stats").json()
    assert stats["prospects"] == 2
    assert stats["create_calls"] == 3
    assert stats["replays"] == 1
    assert status.status == "accepted"
    assert status.billing_account_number is not None
    assert status.billing_account_number.startswith("BA")
    assert len(status.billing_account_number) == 12
    assert status.reason == ""


@pytest.mark.parametrize(
    ("esiid", "reason"),
    [("10089010000099999", "Unknown ESIID"), ("10089010000088888", "Switch hold on the premise")],
)
def test_rule_rejections(esg_url, esiid, reason):
    _config(esg_url, 0)
    with esg_client() as client:
        ack = client.create_prospect({**PAYLOAD, "esiid": esiid}, f"k-{esiid}")
        status = client.prospect_status(ack.prospect_id)
    assert (status.status, status.reason, status.billing_account_number) == (
        "rejected",
        reason,
        None,
    )


def test_lookup_bills_balance_cancel_drop(esg_url):
    with esg_client() as client:
        ban = client.billing_account_lookup("10089010000000001")
        assert ban is not None
        assert client.billing_account_lookup("10089010000000001") == ban  # deterministic
        assert client.billing_account_lookup("10089010000099999") is None
        bills = client.bill_history(ban)
        assert len(bills) == 24
        assert bills == client.bill_history(ban)
        assert all(b.period_end > b.period_start for b in bills)
        july = [b for b in bills if b.period_start.month == 7]
        april = [b for b in bills if b.period_start.month == 4]
        assert july[0].kwh > april[0].kwh  # Texas summer peak
        assert bills[-1].amount == (bills[-1].kwh * Decimal("0.1390") + Decimal("9.95")).quantize(
            Decimal("0.01")
        )
        balance = client.account_balance(ban)
        unpaid = [b for b in bills if not b.paid]
        assert balance.balance == sum((b.amount for b in unpaid), Decimal("0.00"))
        cancel = client.submit_cancel({"esiid": "10089010000000001"}, "cancel-1")
        drop = client.submit_drop({"esiid": "10089010000000001", "kind": "move_out"}, "drop-1")
        assert client.submit_drop({"esiid": "10089010000000001"}, "drop-1") == drop
        assert cancel.status == drop.status == "received"
    stats = httpx.get(f"{esg_url}/_stats").json()
    assert (stats["cancels"], stats["drops"]) == (1, 1)


def test_errors_are_classified(esg_url):
    bad_auth = HttpEsgClient(esg_url, "")
    with pytest.raises(PermanentIntegrationError, match="HTTP 401"):
        bad_auth.create_prospect(PAYLOAD, "k")
    bad_auth.close()
    with esg_client() as client:
        with pytest.raises(PermanentIntegrationError, match="HTTP 422"):
            client.create_prospect({"esiid": "1"}, "k-bad")
        set_fault(esg_url.rsplit("/esg", 1)[0], "esg", outage=True)
        with pytest.raises(TransientIntegrationError, match="HTTP 503") as info:
            client.create_prospect(PAYLOAD, "k-out")
        assert isinstance(info.value.__cause__, httpx.HTTPStatusError)
