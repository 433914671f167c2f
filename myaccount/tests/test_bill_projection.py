"""Bill to date on the dashboard, the projected-bill alert form (scoped to the signed-in
customer's own selected account), and the staff premise page."""

from __future__ import annotations

import calendar
from datetime import timedelta
from decimal import Decimal

import pytest

from enrollments.models import TduCharge
from enrollments.tests.factories import make_staff
from myaccount.selectors import SESSION_KEY
from myaccount.tests.factories import intervals, monthly_bills, portal_customer, smt_on
from opsadmin import clock
from usage.models import BillAlert

pytestmark = pytest.mark.django_db
D = Decimal


def _today():
    return clock.today()


@pytest.fixture
def smt_customer(client):
    smt_on()  # ESG is not configured: the cycle falls back to the calendar month
    portal = portal_customer(first_name="Cy")
    TduCharge.objects.create(
        utility=portal.account.utility, monthly_charge=D("4.39"), per_kwh_cents=D("5.5")
    )
    intervals(portal.account, start=_today() - timedelta(days=20), end=_today())
    client.force_login(portal.user)
    return portal


def _bill_cycle(client) -> str:
    """The dashboard, then its "This billing cycle" block as the page's htmx asks for it."""
    dashboard = client.get("/myaccount/").content.decode()
    assert 'hx-get="/myaccount/bill-cycle/"' in dashboard
    assert "bill-projection" not in dashboard  # the page does not wait for it
    resp = client.get("/myaccount/bill-cycle/", headers={"HX-Request": "true"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "<html" not in html  # a fragment for the dashboard
    return html


def test_dashboard_shows_bill_to_date_and_projection(client, smt_customer):
    today = _today()
    kwh = 24 * today.day
    # Saver 12: 12.45¢/kWh + $9.95 base; TDU $4.39 + 5.5¢/kWh
    cents = D("12.45") * kwh + 995 + 439 + D("5.5") * kwh
    to_date = (cents / 100).quantize(D("0.01"))
    whole = 24 * calendar.monthrange(today.year, today.month)[1]
    projected = ((D("12.45") * whole + 995 + 439 + D("5.5") * whole) / 100).quantize(D("0.01"))
    html = _bill_cycle(client)
    assert 'data-testid="bill-projection"' in html
    assert f"<strong>${to_date}</strong>" in html
    assert f"<strong>${projected}</strong>" in html
    assert "taken as the calendar month (no cycle dates available)" in html
    assert "Off." in html


def test_no_projection_without_smt(client):
    portal = portal_customer(first_name="Bo")
    monthly_bills(portal.account, first=_today().replace(day=1), count=1, kwh=lambda i: 500)
    client.force_login(portal.user)
    html = client.get("/myaccount/").content.decode()
    assert "bill-projection" not in html
    assert "This billing cycle" not in html
    assert "/myaccount/bill-cycle/" not in html
    fragment = client.get("/myaccount/bill-cycle/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.content.strip() == b""


def test_alert_opt_in_change_and_off(client, smt_customer):
    sa = smt_customer.account
    resp = client.post("/myaccount/bill-alert/", {"threshold": "150"})
    assert resp.status_code == 302
    alert = BillAlert.objects.get(service_account=sa)
    assert (alert.threshold, alert.active) == (D("150.00"), True)
    html = _bill_cycle(client)
    assert "once a cycle when the projection passes $150.00" in html
    client.post("/myaccount/bill-alert/", {"off": "1"})
    alert.refresh_from_db()
    assert alert.active is False


@pytest.mark.parametrize("value", ["0", "-5", "abc", "", "100000"])
def test_invalid_amount_changes_nothing(client, smt_customer, value):
    resp = client.post("/myaccount/bill-alert/", {"threshold": value}, follow=True)
    assert resp.status_code == 200
    assert "Alert not saved" in resp.content.decode()
    assert not BillAlert.objects.exists()


def test_alert_is_always_on_the_customers_own_account(client, smt_customer):
    other = portal_customer(first_name="Ed")
    session = client.session
    session[SESSION_KEY] = other.account.pk  # a tampered session cannot point elsewhere
    session.save()
    client.post("/myaccount/bill-alert/", {"threshold": "99"})
    assert list(BillAlert.objects.values_list("service_account_id", flat=True)) == [
        smt_customer.account.pk
    ]


def test_bill_cycle_without_javascript_is_a_page(client, smt_customer):
    html = client.get("/myaccount/bill-cycle/").content.decode()
    assert "<html" in html and 'data-testid="projected-bill"' in html
    assert 'href="/myaccount/"' in html


def test_alert_needs_a_customer_login(client, smt_customer):
    client.logout()
    resp = client.post("/myaccount/bill-alert/", {"threshold": "99"})
    assert resp.status_code == 302 and "/myaccount/login/" in resp["Location"]
    client.force_login(make_staff("agent1", "Agent"))
    assert client.post("/myaccount/bill-alert/", {"threshold": "99"}).status_code == 403
    assert not BillAlert.objects.exists()


def test_staff_premise_page_shows_the_same_figures(client, smt_customer):
    sa = smt_customer.account
    mine = _bill_cycle(client)
    marker = 'data-testid="projected-bill"><strong>'
    projected = mine.split(marker)[1].split("<")[0]
    url = f"/usage/premises/{sa.pk}/bill/"
    assert client.get(url).status_code == 403  # a customer login
    client.force_login(make_staff("agent2", "Agent"))
    html = client.get(url).content.decode()
    assert f"{marker}{projected}<" in html
    assert sa.esiid in html
    # last month complete only where the three weeks of intervals cover it
    assert "Last 12 months on the current plan" in html
    client.force_login(make_staff("nobody", "NoSuchGroup"))
    assert client.get(url).status_code == 403


def test_renewal_months_from_intervals_where_complete(client):
    from myaccount.renewal import own_months

    smt_on()
    portal = portal_customer(first_name="Ren")
    today = _today()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month = last_month_end.replace(day=1)
    before = (last_month - timedelta(days=1)).replace(day=1)
    monthly_bills(portal.account, first=before, count=1, kwh=lambda i: 640)
    intervals(portal.account, start=last_month, end=last_month_end)
    months, where = own_months(service_account=portal.account, today=today)
    assert [(m.month, m.from_intervals) for m in months] == [(before, False), (last_month, True)]
    assert months[0].kwh == D("640")
    assert months[1].kwh == sum(months[1].cells.values())
    assert where.startswith("2 months of your usage")
