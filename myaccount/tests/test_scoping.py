"""Customer A can never reach customer B's service account, bill or usage on any URL."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import get_resolver

from myaccount.selectors import SESSION_KEY
from myaccount.tests.factories import intervals, monthly_bills, portal_customer, smt_on
from usage.models import Bill

pytestmark = pytest.mark.django_db

# Every URL name in the myaccount namespace, and how this module covers it.
COVERED = {
    "login": "public",
    "logout": "public",
    "password_reset": "public",
    "password_reset_done": "public",
    "set_password": "token-scoped (test_auth)",
    "dashboard": "no id; shows only own data",
    "account_switch": "id in POST",
    "usage": "?account=",
    "usage_csv": "?account=",
    "usage_xml": "?account=",
    "payments": "no id; shows only own data",
    "bill": "id in path",
    "profile": "no id; own customer row",
    "renewal": "?account= (and test_renewal)",
    "language_set": "no id; the signed-in customer's own row (test_language)",
    "bill_cycle": "no id; the session's own selected account (test_bill_projection)",
    "bill_alert": "no id; the session's own selected account (test_bill_projection)",
}


@pytest.fixture
def a_and_b(client):
    smt_on()
    a = portal_customer(first_name="Alice")
    b = portal_customer(first_name="Bob", billing_account_number="BA9999999999")
    for p in (a, b):
        intervals(p.account, start=date(2024, 6, 1), end=date(2024, 6, 3))
        monthly_bills(p.account, first=date(2024, 1, 1), count=2, kwh=lambda i: 500)
    client.force_login(a.user)
    return a, b


def test_every_my_account_url_is_covered():
    resolver = get_resolver()
    names = set()
    for pattern in resolver.url_patterns:
        if getattr(pattern, "namespace", None) == "myaccount":
            names |= {p.name for p in pattern.url_patterns}
    assert names == set(COVERED)


def test_other_customers_ids_answer_404(client, a_and_b):
    a, b = a_and_b
    other_sa = b.account.pk
    other_bill = Bill.objects.filter(service_account=b.account).first().pk
    q = "start=2024-06-01&end=2024-06-03"
    assert client.get(f"/myaccount/usage/?account={other_sa}").status_code == 404
    assert client.get(f"/myaccount/usage/?period=daily&{q}&account={other_sa}").status_code == 404
    assert (
        client.get(f"/myaccount/usage.csv?period=daily&{q}&account={other_sa}").status_code == 404
    )
    assert client.get(f"/myaccount/usage.xml?{q}&account={other_sa}").status_code == 404
    assert client.post("/myaccount/account/", {"account": other_sa}).status_code == 404
    assert client.get(f"/myaccount/payments/bills/{other_bill}/").status_code == 404
    assert client.get("/myaccount/usage/?account=not-a-number").status_code == 404
    assert client.get(f"/myaccount/renewal/?account={other_sa}").status_code == 404
    # ...while A's own ids work.
    own_bill = Bill.objects.filter(service_account=a.account).first().pk
    assert client.get(f"/myaccount/payments/bills/{own_bill}/").status_code == 200
    assert (
        client.get(f"/myaccount/usage.csv?period=daily&{q}&account={a.account.pk}").status_code
        == 200
    )
    assert SESSION_KEY not in client.session or client.session[SESSION_KEY] == a.account.pk


def test_nothing_of_bobs_shows_on_alices_pages(client, a_and_b):
    a, b = a_and_b
    bobs = [b.account.esiid, b.account.address_line1, "BA9999999999", b.customer.last_name]
    for url in ("/myaccount/", "/myaccount/usage/", "/myaccount/payments/", "/myaccount/profile/"):
        html = client.get(url).content.decode()
        assert a.account.esiid in html, url
        for value in bobs:
            assert value not in html, (url, value)


def test_a_tampered_session_selection_falls_back_to_own_account(client, a_and_b):
    a, b = a_and_b
    session = client.session
    session[SESSION_KEY] = b.account.pk
    session.save()
    html = client.get("/myaccount/payments/").content.decode()
    assert a.account.esiid in html and b.account.esiid not in html
