"""SMT's NewAgreement has no idempotency key: an answer lost after SMT acted is recovered by
finding the agreement (``/v2/myagreements/``) before asking again, never by asking twice;
and a renewal never takes back the agreement it replaces. Real SMT simulator over HTTP."""

from __future__ import annotations

import httpx
import pytest

from authorizations.services import agreement_check, agreement_send, authorization_create
from authorizations.tests.factories import ESIID, reference, smt_on
from conftest import set_fault
from opsadmin.errors import TransientIntegrationError
from usage.adapters import smt
from usage.adapters.smt import smt_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(simulators_url):
    smt.clear_token_cache()
    smt_on(f"{simulators_url}/smt")
    httpx.post(
        f"{simulators_url}/smt/_sim/agreements/config", json={"approve_after_s": 0}
    ).raise_for_status()
    yield simulators_url
    smt.clear_token_cache()


def _created(sim: str) -> int:
    return httpx.get(f"{sim}/smt/_stats").json()["carried_out"]["agreements_created"]


def _auth(ref):
    return authorization_create(
        origin="shopper",
        channel="wizard",
        esiid=ESIID,
        meter_number="M77",
        email="lost@example.com",
        language="en",
        customer_type=ref["res"],
    )


def _send_losing_the_answer(sim: str, auth) -> None:
    set_fault(sim, "smt", lose_response={"endpoint": "POST /v2/NewAgreement/", "mode": "504"})
    with smt_client() as client, pytest.raises(TransientIntegrationError):
        agreement_send(authorization=auth, client=client)
    httpx.delete(f"{sim}/_faults").raise_for_status()
    assert auth.agreement_number == ""


def test_a_lost_new_agreement_answer_is_found_not_asked_twice(sim):
    auth = _auth(reference())
    _send_losing_the_answer(sim, auth)
    assert _created(sim) == 1  # SMT made it (and emailed the customer)
    with smt_client() as client:
        agreement_send(authorization=auth, client=client)  # the retry
    auth.refresh_from_db()
    assert auth.agreement_number == "AG00000001"
    assert _created(sim) == 1
    assert list(auth.events.values_list("kind", flat=True)) == [
        "created",
        "send_attempt",
        "send_attempt",
        "sent",
    ]


def test_a_renewal_whose_answer_is_lost_adopts_the_new_agreement_not_the_old(sim):
    from authorizations.services import authorization_renew

    auth = _auth(reference())
    with smt_client() as client:
        agreement_send(authorization=auth, client=client)
        auth.refresh_from_db()
        assert agreement_check(authorization=auth, client=client) is True  # approved
    first = auth.agreement_number
    auth = authorization_renew(authorization=auth)
    assert (auth.status, auth.agreement_number) == ("requested", "")
    _send_losing_the_answer(sim, auth)
    assert _created(sim) == 2
    with smt_client() as client:
        agreement_send(authorization=auth, client=client)
    auth.refresh_from_db()
    assert first == "AG00000001" and auth.agreement_number == "AG00000002"
    assert _created(sim) == 2


def test_a_malformed_new_agreement_answer_keeps_the_agreement_smt_made(sim):
    auth = _auth(reference())
    set_fault(sim, "smt", malformed={"endpoint": "POST /v2/NewAgreement/", "mode": "truncated"})
    with smt_client() as client:
        agreement_send(authorization=auth, client=client)
    auth.refresh_from_db()
    assert (auth.status, auth.agreement_number) == ("requested", "AG00000001")
    note = auth.events.get(kind="malformed_answer").note
    assert "malformed body" in note
    assert _created(sim) == 1


def test_a_malformed_answer_with_nothing_made_stops_with_a_clear_reason(sim):
    auth = _auth(reference())
    # the agreement list is garbled too: nothing can be confirmed, so nothing is adopted
    with smt_client() as client:
        client._token()  # cached for the process: the garble hits the business calls
        set_fault(sim, "smt", malformed={"endpoint": "POST /v2/*", "mode": "schema"})
        agreement_send(authorization=auth, client=client)
    auth.refresh_from_db()
    assert auth.status == "not_requested"
    assert auth.status_reason == (
        "Smart Meter Texas answered with a malformed response; ask again later."
    )
    assert auth.last_error == "SMT accepted the agreement without a number"
