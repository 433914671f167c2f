"""Dashboard, payments, profile and the account switcher."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from enrollments.models import Customer
from myaccount.tests.factories import esg_on, intervals, monthly_bills, portal_customer, smt_on
from usage.models import intervals_in_day

pytestmark = pytest.mark.django_db


def test_dashboard_summary_notices_and_small_chart(client, django_assert_max_num_queries):
    smt_on()
    today = date.today()
    portal = portal_customer(contract_end_date=today + timedelta(days=20))
    intervals(portal.account, start=today - timedelta(days=40), end=today - timedelta(days=2))
    monthly_bills(portal.account, first=date(2024, 1, 1), count=3, kwh=lambda i: 800)
    client.force_login(portal.user)
    # the bill-to-date card loads by itself (test_bill_projection); the 12-month chart comes
    # from the chart cache once built for the same rows
    with django_assert_max_num_queries(13):
        r = client.get("/myaccount/")
    with django_assert_max_num_queries(12):
        again = client.get("/myaccount/")
    html = r.content.decode()
    ban = portal.account.enrollments.get().billing_account_number
    assert "Saver 12" in html
    assert "12.45¢ per kWh + $9.95 a month" in html
    assert f'data-testid="billing-account-number">{ban}<' in html
    assert "$109.55 due April 21, 2024" in html  # the one unpaid bill: 800 kWh x 12.45¢ + 9.95
    assert "(20 days). Renew to keep your rate plan." in html
    through = today - timedelta(days=2)
    assert f"Usage data through {through:%B} {through.day}, {through.year}." in html
    fig = json.loads(re.search(r'id="summary-chart-data">(.*?)</script>', html, re.S).group(1))
    assert fig["data"][0]["type"] == "bar"
    days = [today - timedelta(days=n) for n in range(2, 41)]
    assert sum(fig["data"][0]["y"]) == sum(intervals_in_day(d) for d in days) / 4  # DST-aware
    cached = re.search(r'id="summary-chart-data">(.*?)</script>', again.content.decode(), re.S)
    assert json.loads(cached.group(1)) == fig


def test_dashboard_same_chart_from_bills(client):
    portal = portal_customer()
    today = date.today()
    monthly_bills(
        portal.account, first=date(today.year - 1, today.month, 1), count=6, kwh=lambda i: 900 + i
    )
    client.force_login(portal.user)
    html = client.get("/myaccount/").content.decode()
    fig = json.loads(re.search(r'id="summary-chart-data">(.*?)</script>', html, re.S).group(1))
    assert fig["data"][0]["type"] == "bar"
    assert fig["data"][0]["y"][-5:] == [901, 902, 903, 904, 905]
    assert "Source: your bills (billing system)" in html


def test_payments_show_billing_account_number_balance_and_history(
    client, simulators_url, django_assert_max_num_queries
):
    esg_on(simulators_url)
    portal = portal_customer(billing_account_number="BA0000012345")
    monthly_bills(portal.account, first=date(2024, 1, 1), count=3, kwh=lambda i: 1000 + i)
    enrollment = portal.account.enrollments.get()
    client.force_login(portal.user)
    with django_assert_max_num_queries(14):
        r = client.get("/myaccount/payments/")
    html = r.content.decode()
    assert 'data-testid="billing-account-number">BA0000012345<' in html
    assert str(enrollment.pk) not in re.findall(r'billing-account-number">([^<]*)<', html)
    # The ESG simulator's balance: the unpaid of its own deterministic bills.
    import httpx

    expected = httpx.get(
        f"{simulators_url}/esg/accounts/BA0000012345/balance",
        headers={"Authorization": "Bearer test-esg-key"},
    ).json()
    assert f'data-testid="balance">${float(expected["balance"]):,.2f}<'.replace(",", "") in html
    assert html.count('href="/myaccount/payments/bills/') == 3
    assert "$134.57" in html  # 1002 kWh x 12.45¢ + 9.95


def test_payments_fetch_a_missing_billing_account_number_lazily(client, simulators_url):
    esg_on(simulators_url)
    portal = portal_customer(billing_account_number="")
    client.force_login(portal.user)
    html = client.get("/myaccount/payments/").content.decode()
    stored = portal.account.enrollments.get().billing_account_number
    assert stored.startswith("BA") and len(stored) == 12
    assert f'data-testid="billing-account-number">{stored}<' in html


def test_payments_survive_the_billing_system_being_down(client, simulators_url):
    from conftest import set_fault

    esg_on(simulators_url)
    set_fault(simulators_url, "esg", outage=True)
    portal = portal_customer(billing_account_number="BA0000012345")
    client.force_login(portal.user)
    r = client.get("/myaccount/payments/")
    assert r.status_code == 200
    assert "Not available right now." in r.content.decode()
    assert "BA0000012345" in r.content.decode()


def test_profile_update_and_letter_needs_an_address(client):
    portal = portal_customer()
    client.force_login(portal.user)
    data = {
        "email": "new@example.com",
        "phone": "713-555-0199",
        "language": "es",
        "notice_preference": "letter",
        "billing_address_line1": "",
        "billing_address_line2": "",
        "billing_city": "",
        "billing_state": "",
        "billing_zip": "",
    }
    r = client.post("/myaccount/profile/", data)
    assert r.status_code == 200
    assert "Letters need a mailing address" in r.content.decode()
    portal.customer.refresh_from_db()
    assert portal.customer.notice_preference == "email"
    data |= {
        "billing_address_line1": "9 Elm St",
        "billing_city": "Houston",
        "billing_state": "tx",
        "billing_zip": "77005",
    }
    r = client.post("/myaccount/profile/", data)
    assert r.status_code == 302
    c = Customer.objects.get(pk=portal.customer.pk)
    assert (c.email, c.phone, c.language, c.notice_preference, c.billing_state, c.billing_zip) == (
        "new@example.com",
        "(713) 555-0199",  # stored in the one phone format (issue #23)
        "es",
        "letter",
        "TX",
        "77005",
    )
    portal.user.refresh_from_db()
    assert portal.user.username != "new@example.com"  # sign-in unchanged


def test_switching_between_my_service_accounts(client):
    portal = portal_customer(accounts=2)
    first, second = portal.accounts
    client.force_login(portal.user)
    html = client.get("/myaccount/").content.decode()
    assert first.address_line1 in html and "Switch account" in html
    r = client.post("/myaccount/account/", {"account": second.pk, "next": "/myaccount/payments/"})
    assert r.status_code == 302 and r["Location"] == "/myaccount/payments/"
    html = client.get("/myaccount/payments/").content.decode()
    assert f"<strong>{second.address_line1}, Houston</strong>" in html
    ban2 = second.enrollments.get().billing_account_number
    assert f'billing-account-number">{ban2}<' in html
    r = client.post("/myaccount/account/", {"account": first.pk, "next": "https://evil.example/"})
    assert r["Location"] == "/myaccount/"
