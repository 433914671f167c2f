"""Chromium walks My Account for an SMT customer and for a billing-only customer (with SMT
in an outage), saving screenshots under test-results/ and checking axe on each page."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import axe_violations, set_fault
from myaccount.tests.factories import PASSWORD, esg_on, monthly_bills, portal_customer, smt_on
from usage.adapters.smt import smt_client
from usage.services import smt_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "myaccount"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, email: str) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/myaccount/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/myaccount/")
    return errors


def chart_drawn(page, selector: str) -> None:
    page.locator(f"{selector}[data-drawn='true']").first.wait_for()


def refresh_and_wait(page, title_part: str) -> None:
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#chart-region .chart-main .gtitle")).to_contain_text(title_part)
    chart_drawn(page, "#chart-region .chart-main")


def test_smt_customer_walks_dashboard_usage_payments(page, simulators_url):
    smt_on(f"{simulators_url}/smt")
    esg_on(simulators_url)
    portal = portal_customer(first_name="Sam")
    yesterday = date.today() - timedelta(days=1)
    with smt_client() as client:  # real HTTP to the SMT simulator
        smt_sync(
            service_account=portal.account,
            client=client,
            start=yesterday - timedelta(days=75),
            end=yesterday,
        )
    errors = sign_in(page, portal.user.username)

    chart_drawn(page, ".chart-small")
    expect(page.get_by_test_id("billing-account-number")).to_have_text(
        portal.account.enrollments.get().billing_account_number
    )
    shot(page, "smt-1-dashboard")
    assert axe_violations(page) == []

    page.get_by_role("navigation", name="My Account").get_by_role("link", name="Usage").click()
    chart_drawn(page, ".chart-main")
    expect(page.locator(".source-box")).to_contain_text("Source: Smart Meter Texas.")
    expect(page.locator(".gtitle")).to_contain_text("Daily usage")
    shot(page, "smt-2-usage-daily")
    assert axe_violations(page) == []

    page.get_by_label("Hourly").check()
    refresh_and_wait(page, "Hourly usage")
    assert "period=hourly" in page.url  # htmx pushed the GET URL
    shot(page, "smt-3-usage-hourly")

    page.get_by_label("Monthly").check()
    refresh_and_wait(page, "Monthly usage")
    shot(page, "smt-4-usage-monthly")

    page.get_by_label("Daily").check()
    page.get_by_label("Compare previous").check()
    page.get_by_label("MWh").check()
    page.get_by_label("Area").check()
    page.get_by_label("Textured view").check()
    refresh_and_wait(page, "Daily usage")
    chart = page.locator("#chart-region .chart-main")
    expect(chart.locator(".legendtext").filter(has_text="Previous period")).to_have_count(1)
    expect(chart.locator(".ytitle")).to_have_text("Energy (MWh)")
    assert chart.locator("pattern").count() >= 1  # textured fills are SVG patterns
    page.get_by_text("Data table", exact=True).click()
    expect(page.locator(".data-table table")).to_contain_text("Consumption (MWh)")
    shot(page, "smt-5-usage-compare-mwh-area-textured")
    assert axe_violations(page) == []

    page.get_by_role("link", name="Payments").click()
    expect(page.get_by_test_id("balance")).to_contain_text("$")
    shot(page, "smt-6-payments")
    assert axe_violations(page) == []
    assert [e for e in errors if "Content Security Policy" in e or "Plotly" in e] == []


def test_billing_only_customer_with_smt_in_outage(page, simulators_url):
    smt_on(f"{simulators_url}/smt")
    esg_on(simulators_url)
    set_fault(simulators_url, "smt", outage=True)
    portal = portal_customer(first_name="Bea")
    today = date.today()
    monthly_bills(
        portal.account,
        first=date(today.year - 2, today.month, 1),
        count=24,
        kwh=lambda i: 900 + 40 * (i % 12),
    )
    from opsadmin.errors import IntegrationError

    with smt_client() as client, pytest.raises(IntegrationError):
        smt_sync(service_account=portal.account, client=client)
    errors = sign_in(page, portal.user.username)
    chart_drawn(page, ".chart-small")
    shot(page, "billing-1-dashboard")
    assert axe_violations(page) == []

    page.get_by_role("navigation", name="My Account").get_by_role("link", name="Usage").click()
    region = page.locator("#chart-region")
    expect(region.locator(".source-box")).to_contain_text("Source: billing system.")
    expect(region.get_by_test_id("source-reason")).to_have_text(
        "Showing billing data: Smart Meter Texas is unavailable."
    )
    expect(region.locator(".billing-charts [data-drawn='true']")).to_have_count(4)
    shot(page, "billing-2-usage-four-charts")
    assert axe_violations(page) == []

    page.get_by_label("Textured view").check()
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#chart-region .billing-charts [data-drawn='true']")).to_have_count(4)
    shot(page, "billing-3-usage-textured")

    page.get_by_role("link", name="Payments").click()
    expect(page.locator("tbody tr")).to_have_count(24)
    shot(page, "billing-4-payments")
    assert axe_violations(page) == []
    assert [e for e in errors if "Content Security Policy" in e] == []
