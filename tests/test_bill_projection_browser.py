"""Chromium: an SMT customer sees bill to date and the projected bill on the dashboard (the
cycle from the ESG simulator over HTTP), opts into the alert, and the alert email goes out
once when the projection crosses the amount, not again that cycle."""

from __future__ import annotations

import calendar
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from conftest import axe_violations
from enrollments.models import TduCharge
from myaccount.tests.factories import PASSWORD, esg_on, intervals, portal_customer, smt_on
from opsadmin import clock
from usage.services import bill_alerts_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = Decimal
CENT = D("0.01")


def dollars(cents: Decimal) -> Decimal:
    return (cents / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def test_dashboard_bill_to_date_projection_and_alert_once(page, simulators_url):
    smt_on(f"{simulators_url}/smt")
    esg_on(simulators_url)
    portal = portal_customer(first_name="Tess")
    sa = portal.account
    TduCharge.objects.create(utility=sa.utility, monthly_charge=D("4.39"), per_kwh_cents=D("5.5"))
    today = clock.today()
    # 24 kWh every day for the last three weeks through today (the simulator's cycle is the
    # calendar month holding today)
    intervals(sa, start=today - timedelta(days=21), end=today)
    elapsed = today.day
    days_in_cycle = calendar.monthrange(today.year, today.month)[1]
    # Saver 12: 12.45¢/kWh + $9.95; TDU $4.39 + 5.5¢/kWh
    to_date_kwh = D(24 * elapsed)
    to_date = dollars(D("12.45") * to_date_kwh + 995 + 439 + D("5.5") * to_date_kwh)
    whole_kwh = D(24 * days_in_cycle)  # the last 14 days average 24 kWh; no data a year back
    projected = dollars(D("12.45") * whole_kwh + 995 + 439 + D("5.5") * whole_kwh)

    page.goto("/myaccount/login/")
    page.get_by_label("Email").fill(portal.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/myaccount/")
    card = page.locator("#bill-cycle")
    expect(card.get_by_test_id("bill-to-date")).to_contain_text(f"${to_date}")
    expect(card.get_by_test_id("bill-to-date")).to_contain_text(f"{to_date_kwh} kWh")
    expect(card.get_by_test_id("projected-bill")).to_contain_text(f"${projected}")
    expect(card).to_contain_text(f"day {elapsed} of {days_in_cycle}")
    card.get_by_text("How this is estimated").click()
    expect(card).to_contain_text("from our billing system")
    assert axe_violations(page) == []

    # opt in above the projection: nothing to send yet
    threshold = projected + 40
    card.get_by_label("Amount ($)").fill(str(threshold))
    card.get_by_role("button", name="Save alert").click()
    expect(page.get_by_test_id("bill-alert-status")).to_contain_text(f"${threshold}")
    assert bill_alerts_send() == 0
    assert len(mail.outbox) == 0

    # a hot spell: the last 3 days at 96 kWh a day push the projection past the amount
    intervals(sa, start=today - timedelta(days=2), end=today, kwh=D("1.0"))
    page.reload()
    shown = card.get_by_test_id("projected-bill").inner_text()
    new_projection = D(shown.split("$")[1].split()[0])
    assert new_projection > threshold
    assert bill_alerts_send() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [portal.customer.email]
    assert mail.outbox[0].subject == f"Your projected bill is ${new_projection}"
    # the next runs that cycle send nothing more
    assert bill_alerts_send() == 0
    assert bill_alerts_send() == 0
    assert len(mail.outbox) == 1
    assert axe_violations(page) == []
