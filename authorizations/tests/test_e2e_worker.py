"""Request -> approval at the SMT simulator -> history pulled by a real worker -> shown and
priced on the status page; decline; the pending time-out; expiry -> prompt -> renewal."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.core import mail
from django.utils import timezone

from authorizations.models import MonthlyUsage, UsageAuthorization
from authorizations.services import authorizations_maintain, today_chicago
from authorizations.tests.factories import ESIID, ESIID_B, reference, smt_on
from conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _config(simulators_url: str, **body) -> None:
    httpx.post(f"{simulators_url}/smt/_sim/agreements/config", json=body).raise_for_status()


def _start(client, esiid: str = ESIID) -> UsageAuthorization:
    response = client.post(
        "/usage-authorization/start/",
        {
            "esiid": esiid,
            "meter_number": "M123456",
            "email": "shopper@example.com",
            "language": "en",
            "consent": "on",
            "customer_type": "residential",
        },
    )
    assert response.status_code == 302
    auth = UsageAuthorization.objects.get(esiid=esiid)
    assert response["Location"] == f"/usage-authorization/s/{auth.token}/"
    return auth


def _page(client, auth: UsageAuthorization, htmx: bool = True) -> str:
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(f"/usage-authorization/s/{auth.token}/", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_request_approval_data_and_prices(client, celery_worker, simulators_url):
    ref = reference()
    smt_on(f"{simulators_url}/smt")
    _config(simulators_url, approve_after_s=1.0)
    auth = _start(client)
    assert auth.status == "requested"
    assert auth.utility == ref["cnp"]  # from the ESIID prefix: no utility field to fill

    # the page polls (as htmx does every 2 s) until the usage table is there
    html = wait_until(
        lambda: (lambda h: h if 'data-usage-ready="1"' in h else None)(_page(client, auth)),
        timeout=30,
        interval=0.5,
    )
    auth.refresh_from_db()
    assert auth.status == "approved"
    assert auth.agreement_number.startswith("AG")
    assert auth.expires_on is not None and auth.expires_on > today_chicago() + timedelta(days=300)
    months = list(MonthlyUsage.objects.filter(authorization=auth))
    assert 24 <= len(months) <= 25  # 24 months back to yesterday, calendar months
    assert {m.source for m in months} == {"smt"}
    assert "Smart Meter Texas (data-sharing agreement)" in html
    # plans priced on the 12 latest full months, web plans only for the wizard, cheapest first
    assert html.count('<tr><th scope="row">') >= 3
    assert "Broker 24" not in html
    assert 'id="plan-costs"' in html
    assert 'hx-trigger="every 2s"' not in html  # polling stops once data is on screen
    # the same page without htmx is the full page
    full = _page(client, auth, htmx=False)
    assert "<h1>Your usage and plan prices</h1>" in full and "Saver 12" in full


def test_decline_is_shown_and_offers_fallbacks(client, celery_worker, simulators_url):
    reference()
    smt_on(f"{simulators_url}/smt")
    _config(simulators_url, approve_after_s=0.5, outcomes={ESIID_B: "decline"})
    auth = _start(client, ESIID_B)
    wait_until(lambda: 'data-status="declined"' in _page(client, auth), timeout=30)
    html = _page(client, auth, htmx=False)
    assert "The request was declined at Smart Meter Texas." in html
    assert "Upload a file" in html and "Enter 12 months by hand" in html
    assert not MonthlyUsage.objects.filter(authorization=auth).exists()


def test_pending_times_out_after_reminders(client, celery_worker, simulators_url):
    reference()
    smt_on(f"{simulators_url}/smt")
    _config(simulators_url, outcome="never")
    auth = _start(client)
    auth = wait_until(
        lambda: UsageAuthorization.objects.exclude(agreement_number="").filter(pk=auth.pk).first(),
        timeout=30,
    )
    now = timezone.now()
    # a day later: first reminder
    counts = authorizations_maintain(now=now + timedelta(hours=25))
    assert counts["reminded"] == 1
    auth.refresh_from_db()
    assert (auth.status, auth.reminders_sent) == ("requested", 1)
    # the same hour again: no second email
    assert authorizations_maintain(now=now + timedelta(hours=26))["reminded"] == 0
    # past the 72 h time-out: the request lapses, stated plainly
    counts = authorizations_maintain(now=now + timedelta(hours=73))
    assert counts["timed_out"] == 1
    auth.refresh_from_db()
    assert auth.status == "expired"
    assert auth.status_reason.startswith("Not approved in time")
    html = _page(client, auth, htmx=False)
    assert "Sharing has lapsed" in html and "Renew sharing" in html


def test_expiry_prompt_and_one_step_renewal(client, celery_worker, simulators_url):
    reference()
    smt_on(f"{simulators_url}/smt")
    _config(simulators_url, approve_after_s=0.5, end_in_days=10)
    auth = _start(client)
    wait_until(lambda: 'data-usage-ready="1"' in _page(client, auth), timeout=30)
    auth.refresh_from_db()
    assert auth.expires_on == today_chicago() + timedelta(days=10)
    first_agreement = auth.agreement_number

    mail.outbox.clear()
    counts = authorizations_maintain()
    assert counts["prompted"] == 1
    assert [m.subject for m in mail.outbox] == ["Renew sharing your usage"]
    assert f"/usage-authorization/s/{auth.token}/" in mail.outbox[0].body
    html = _page(client, auth, htmx=False)
    assert 'id="renew-banner"' in html
    assert authorizations_maintain()["prompted"] == 0  # prompted once

    # renew in one step: a new agreement, approved again; the old data stays meanwhile
    _config(simulators_url, end_in_days=365)
    response = client.post(f"/usage-authorization/s/{auth.token}/renew/")
    assert response.status_code == 302
    auth.refresh_from_db()
    assert auth.status == "requested"
    assert MonthlyUsage.objects.filter(authorization=auth).count() >= 24

    def renewed():
        _page(client, auth)
        a = UsageAuthorization.objects.get(pk=auth.pk)
        return a if a.status == "approved" and a.agreement_number != first_agreement else None

    auth = wait_until(renewed, timeout=30, interval=0.5)
    assert auth.expires_on == today_chicago() + timedelta(days=365)
    assert 'id="renew-banner"' not in _page(client, auth, htmx=False)

    # the agreement lapses: refreshes stop and the page says so
    UsageAuthorization.objects.filter(pk=auth.pk).update(
        expires_on=today_chicago() - timedelta(days=1)
    )
    refreshed: list[int] = []
    counts = authorizations_maintain(refresh=refreshed.append)
    assert counts["expired"] == 1 and refreshed == []
    html = _page(client, auth, htmx=False)
    assert "Sharing has lapsed: we no longer refresh your usage" in html
