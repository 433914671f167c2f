"""Chromium: a customer moves out with meter removal, and cancels after an ETF notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from conftest import axe_violations
from drops.models import DropRequest
from drops.tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:
    """Reuse a real Django session (the login page has its own browser test)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_move_out_with_meter_removal(page, live_server):
    e = f.active_enrollment()
    premise = e.service_account
    sign_in(page, live_server, e.customer.user)
    page.goto("/myaccount/")
    page.get_by_text("Manage", exact=True).click()
    page.get_by_role("link", name="Cancel / Move Out").click()
    page.get_by_role("link", name=f"Move out of {premise.address_line1}").click()
    assert page.get_by_role("heading", name="Do you want to proceed?").is_visible()
    assert "$150.00" in page.locator(".etf-notice").inner_text()
    page.get_by_role("link", name="Yes, continue").click()

    when = timezone.localdate() + timedelta(days=7)
    page.get_by_label("Date to end service").fill(when.isoformat())
    page.get_by_label("Request meter removal").check()
    page.get_by_label("Forwarding address").fill("9 Elm St")
    page.get_by_label("City").fill("Austin")
    page.get_by_label("Zip code").fill("78701")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Submit request").click()

    page.get_by_role("heading", name="We received your request").wait_for()
    d = DropRequest.objects.get()
    assert (d.kind, d.requested_date, d.meter_removal, d.forwarding_zip, d.etf_amount) == (
        "move_out",
        when,
        True,
        "78701",
        0,
    )
    summary = page.locator("dl.summary").inner_text()
    assert "Requested" in summary
    assert "9 Elm St" in summary
    assert axe_violations(page) == []


def test_cancel_with_etf_notice_and_reason(page, live_server):
    util = f.utility()
    f.drop_code(util, "MOV", "Moving away")
    f.drop_code(util, "PRI", "Found a better price")
    e = f.active_enrollment(util=util)
    sign_in(page, live_server, e.customer.user)
    page.goto("/myaccount/manage/cancel/")
    page.get_by_role("link", name=f"Cancel service at {e.service_account.address_line1}").click()
    notice = page.locator(".etf-notice")
    assert "early termination fee of $150.00 applies" in " ".join(notice.inner_text().split())
    assert axe_violations(page) == []
    page.get_by_role("link", name="Yes, continue").click()

    page.get_by_label("Reason").select_option("PRI")
    page.get_by_role("button", name="Submit request").click()
    page.get_by_role("heading", name="We received your request").wait_for()
    d = DropRequest.objects.get()
    assert (d.kind, d.reason_code, d.meter_removal, str(d.etf_amount)) == (
        "drop",
        "PRI",
        False,
        "150.00",
    )
    assert "$150.00" in page.locator("dl.summary").inner_text()
