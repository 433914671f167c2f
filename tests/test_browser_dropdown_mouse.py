"""Chromium: searchable dropdowns (seed 000) open with a real mouse click as well as the
keyboard, and the option under the mouse is coloured differently from the selected one
(issue #23 bug 2)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import axe_violations
from opsadmin.models import Utility
from opsadmin.tests.factories import PASSWORD, staff
from prospects.models import Prospect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def _click_centre(page, locator) -> None:
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _bg(locator) -> str:
    return locator.evaluate("el => getComputedStyle(el).backgroundColor")


def test_market_dropdown_opens_by_mouse_and_hover_differs_from_selected(page):
    utility = Utility.objects.create(code="oncor", name="Oncor", esiid_prefixes=["1044372"])
    staff("Admin", username="boss")
    login(page, "boss")
    page.goto(f"/configuration/utilities/{utility.pk}/")
    control = page.locator("#id_market-ts-control").locator("xpath=..")
    control.wait_for()
    dropdown = page.locator(".ts-dropdown").first
    assert not dropdown.is_visible()
    # A real mouse click (mousedown, mouseup, click at a point), not element.click().
    _click_centre(page, control)
    expect(dropdown).to_be_visible()
    selected = dropdown.locator(".option.selected", has_text="ERCOT")
    other = dropdown.locator(".option", has_text="PJM")
    resting_bg = _bg(other)
    # The mouse moves over another option: it is highlighted, in another colour than the
    # selected one, and the selected one keeps its colour.
    box = other.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] / 2)
    expect(other).to_have_class(re.compile(r"\bactive\b"))
    hover_bg = _bg(other)
    assert hover_bg != resting_bg
    assert hover_bg != _bg(selected)
    # Clicking the option chooses it and closes the list.
    page.mouse.click(box["x"] + 10, box["y"] + box["height"] / 2)
    expect(dropdown).to_be_hidden()
    assert page.locator("select#id_market").input_value() == "PJM"
    # A second click opens it again; a click outside closes it.
    _click_centre(page, control)
    expect(dropdown).to_be_visible()
    page.mouse.click(5, 600)
    expect(dropdown).to_be_hidden()
    assert axe_violations(page) == []


def test_preview_record_dropdown_follows_about_and_opens_by_mouse_and_keyboard(page):
    acme = Prospect.objects.create(company_name="Acme Ice")
    staff("Admin", username="boss")
    login(page, "boss")
    page.goto("/notices/new/")
    # About = Prospect: the picker is reloaded with prospects (bug 3).
    with page.expect_response(lambda r: "record_kind=prospect" in r.url):
        page.get_by_label("About").select_option("prospect")
    wrapper = page.locator("#id_record_id-ts-control").locator("xpath=..")
    wrapper.wait_for()
    dropdown = page.locator("#id_record_id-ts-dropdown").locator("xpath=..")
    _click_centre(page, wrapper)
    expect(dropdown).to_be_visible()
    option = dropdown.locator(".option", has_text="Acme Ice")
    expect(option).to_have_text(f"#{acme.pk} Acme Ice")
    page.keyboard.press("Escape")
    expect(dropdown).to_be_hidden()
    # Keyboard: focus the control, Enter opens it and puts the focus in its search field.
    page.locator("#id_record_id-ts-control").focus()
    page.keyboard.press("Enter")
    expect(dropdown).to_be_visible()
    assert page.evaluate("document.activeElement.classList.contains('dropdown-input')")
    page.keyboard.type("Acme")
    expect(dropdown.locator(".option")).to_have_count(1)
    page.keyboard.press("Enter")
    assert page.locator("select#id_record_id").input_value() == str(acme.pk)
    assert axe_violations(page) == []
