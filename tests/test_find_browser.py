"""Chromium: an agent finds yesterday's enrollment by ESIID and by phone in two actions each
(type + Enter, click the row), opens the customer's page from the details; axe finds no
serious or critical violation on the new screens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from conftest import axe_violations
from enrollments.tests.factories import make_catalogue, make_staff
from opsadmin import clock
from opsadmin.management import journeys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-Agent-12345"  # noqa: S105 - test login
ESIID = "1008901000000000000777"


def test_agent_finds_yesterdays_enrollment_by_esiid_and_by_phone(page):
    page.set_default_timeout(20_000)  # CI has 2 cores shared with other work
    catalogue = make_catalogue()
    plan = catalogue["plans"]["SAVER12"]
    today = clock.today()
    # Yesterday's enrollment, through the product's submit and the billing system's answers.
    wanted = journeys.submit(
        utility=catalogue["cnp"],
        plan=plan,
        esiid=ESIID,
        on=today - timedelta(days=1),
        first_name="Rosa",
        last_name="Delgado",
        email="rosa@example.com",
        phone="(832) 555-0177",
    )
    journeys.acknowledge(wanted)
    journeys.answer(wanted, "accepted", ban="BA-5150")
    # Noise: other customers, today and last week, with similar numbers.
    for n, day in enumerate((today, today - timedelta(days=7), today)):
        journeys.submit(
            utility=catalogue["cnp"],
            plan=plan,
            on=day,
            first_name="Other",
            last_name=f"Person{n}",
            phone=f"832-555-01{n}0",
        )
    make_staff("agent", "Agent")

    page.goto("/login/")
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    page.get_by_text("Enrollments", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Find an enrollment"
    ).click()
    page.wait_for_url("**/enrollments/")
    assert page.locator("#enrollments tbody tr").count() == 4
    assert axe_violations(page) == []

    details_url = re.compile(rf".*/enrollments/{wanted.pk}/$")
    rows = page.locator("#enrollments tbody tr")
    for typed in (ESIID, "832.555.0177"):
        page.goto("/enrollments/")
        box = page.get_by_label("Search", exact=True)
        expect_focus = page.evaluate("() => document.activeElement.id")
        assert expect_focus == "id_q"  # the box has the focus: the agent just types
        # Action 1: type and press Enter.
        page.keyboard.type(typed)
        page.keyboard.press("Enter")
        page.get_by_text("1 enrollment matches.").wait_for()
        assert box.input_value() == typed
        assert rows.count() == 1
        assert "Rosa Delgado" in rows.first.inner_text()
        assert "BA-5150" in rows.first.inner_text()
        # Action 2: click the row (anywhere on it, not only the link).
        # A real mouse click on the customer's name cell: the row's link covers the row.
        cell = rows.first.locator("td", has_text="Rosa Delgado").bounding_box()
        page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
        page.wait_for_url(details_url)
        page.get_by_role("heading", name=re.compile(rf"Enrollment {wanted.pk}")).wait_for()

    assert axe_violations(page) == []
    page.get_by_test_id("customer-link").click()
    page.wait_for_url(f"**/enrollments/customers/{wanted.customer_id}/")
    page.get_by_role("heading", name=re.compile("Rosa Delgado")).wait_for()
    assert page.locator("#customer-enrollments tbody tr").count() == 1
    assert axe_violations(page) == []

    # Filters by mouse: nothing was submitted by the wizard; then a date range of yesterday.
    page.goto("/enrollments/")
    page.get_by_label("Channel").select_option("wizard")
    page.get_by_role("button", name="Search").click()
    page.get_by_text("0 enrollments.").wait_for()
    page.get_by_label("Channel").select_option("")
    yesterday = (today - timedelta(days=1)).isoformat()
    page.get_by_label("Submitted from").fill(yesterday)
    page.get_by_label("Submitted to").fill(yesterday)
    page.get_by_role("button", name="Search").click()
    page.get_by_text("1 enrollment.").wait_for()
    assert "Rosa Delgado" in rows.first.inner_text()
    assert axe_violations(page) == []
