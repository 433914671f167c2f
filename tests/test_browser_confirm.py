"""Chromium: Release on the drop queue asks in a modal dialog (keyboard and mouse); "No"
changes nothing, "Yes" releases. Without JavaScript the server asks on a page. The
confirmation page and the 403 page pass axe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import axe_violations
from drops.models import DropRequest
from drops.services import drop_request_create
from drops.tests import factories as f
from opsadmin.tests.factories import PASSWORD, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def _held_drop() -> DropRequest:
    util = f.utility()
    f.hold(util, 24)
    e = f.active_enrollment(util=util)
    return drop_request_create(
        customer=e.customer,
        enrollment=e,
        kind="drop",
        requested_date=timezone.localdate() + timedelta(days=10),
    ).drop_request


def test_release_asks_in_a_dialog_by_keyboard_and_mouse(page):
    d = _held_drop()
    staff("Ops", username="opsy")
    login(page, "opsy")
    page.goto("/drops/")
    release = page.get_by_role("button", name=f"Release request {d.pk}")
    # Keyboard: Enter on Release opens the dialog with the focus on "No, go back".
    release.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Release drop request {d.pk} for {d.customer}?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="No, go back")).to_be_focused()
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(release).to_be_focused()
    d.refresh_from_db()
    assert d.status == DropRequest.Status.HELD
    # Mouse: "No" closes it, nothing changes.
    release.click()
    dialog.get_by_role("button", name="No, go back").click()
    expect(dialog).to_be_hidden()
    d.refresh_from_db()
    assert d.status == DropRequest.Status.HELD
    # Mouse: "Release request" releases (the htmx row swap shows the new state).
    release.click()
    dialog.get_by_role("button", name="Release request").click()
    expect(page.locator(f"#drop-{d.pk}")).to_contain_text("Released")
    d.refresh_from_db()
    assert d.status == DropRequest.Status.RELEASED


def test_without_javascript_the_server_asks_on_a_page(browser, live_server):
    d = _held_drop()
    staff("Ops", username="opsy")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        login(page, "opsy")
        page.goto("/drops/")
        page.get_by_role("button", name=f"Cancel request {d.pk}").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Cancel drop request {d.pk} for {d.customer}?"
        )
        d.refresh_from_db()
        assert d.status == DropRequest.Status.HELD
        page.get_by_role("button", name="Cancel request").click()
        page.wait_for_url("**/drops/")
        d.refresh_from_db()
        assert d.status == DropRequest.Status.CANCELLED
    finally:
        context.close()


def test_confirmation_page_and_403_page_pass_axe(page):
    d = _held_drop()
    staff("Ops", username="opsy")
    staff("Agent", username="agenty")
    login(page, "opsy")
    page.goto("/drops/")
    # The page an htmx-less POST gets (JavaScript on, the dialog skipped by a plain form post).
    page.evaluate(
        f"""() => {{
          const f = document.querySelector('form[action="/drops/{d.pk}/release/"]');
          f.removeAttribute('hx-post'); HTMLFormElement.prototype.submit.call(f);
        }}"""
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Release drop request")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Log out").click()
    login(page, "agenty")
    response = page.goto("/configuration/utilities/new/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    assert page.get_by_role("navigation", name="Main").is_visible()
    assert axe_violations(page) == []
