"""Chromium: staff and customer log in through their own pages; searchable dropdowns work
by keyboard; axe finds no serious or critical violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import axe_violations
from opsadmin.models import Utility
from opsadmin.tests.factories import PASSWORD, customer_user, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username").or_(page.get_by_label("Email")).fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").or_(
        page.get_by_role("button", name="Sign in")
    ).click()


def test_agent_logs_in_to_the_staff_shell(page):
    staff("Agent", username="agent")
    login(page, "/login/", "agent")
    page.wait_for_url("**/")
    assert page.get_by_role("navigation", name="Main").is_visible()
    page.get_by_text("Customer", exact=True).click()
    assert (
        page.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Enroll Customer")
        .is_visible()
    )
    assert axe_violations(page) == []
    login_page_violations = None
    page.goto("/login/")
    login_page_violations = axe_violations(page)
    assert login_page_violations == []


def test_customer_logs_in_to_my_account(page):
    customer_user(username="dana@example.com", email="dana@example.com")
    login(page, "/myaccount/login/", "dana@example.com")
    page.wait_for_url("**/myaccount/")
    assert page.get_by_text("Manage", exact=True).is_visible()
    assert axe_violations(page) == []


def test_searchable_dropdown_by_keyboard(page):
    Utility.objects.create(code="oncor", name="Oncor", esiid_prefixes=["1044372"])
    staff("Admin", username="boss")
    login(page, "/login/", "boss")
    page.wait_for_url("**/")
    page.goto("/configuration/utilities/")
    page.get_by_role("link", name="Oncor").click()
    control = page.locator(".ts-wrapper .ts-control").first
    control.wait_for()
    # Reach the dropdown from the field before it with Tab, open it with the keyboard.
    page.get_by_label("Name").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    search = page.locator(".ts-dropdown .dropdown-input").first
    search.wait_for(state="visible")
    assert search.evaluate("el => el === document.activeElement")
    # Hovered and selected options are told apart by colour.
    # (the "hovered" option is Tom Select's active one: the mouse or the arrow keys move it)
    page.keyboard.press("ArrowDown")
    other = page.locator(".ts-dropdown .option.active:not(.selected)")
    other.wait_for()
    selected_bg = page.locator(".ts-dropdown .option.selected", has_text="ERCOT").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    hover_bg = other.evaluate("el => getComputedStyle(el).backgroundColor")
    assert selected_bg != hover_bg
    # Type to filter, Enter to choose.
    search.focus()
    page.keyboard.type("PJM")
    # Tom Select filters after a short debounce: wait for the filtered list.
    expect(page.locator(".ts-dropdown .option")).to_have_count(1)
    assert page.locator(".ts-dropdown .option").all_inner_texts() == ["PJM"]
    page.keyboard.press("Enter")
    assert page.locator("select#id_market").input_value() == "PJM"
    assert axe_violations(page) == []
