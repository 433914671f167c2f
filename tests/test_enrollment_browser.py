"""Chromium: Quick Enrollment by an agent (unserved zip, two utilities, enroll another) and
the Signup Wizard by keyboard only; axe finds no serious or critical violation."""

from __future__ import annotations

import re

import pytest

from conftest import axe_violations
from enrollments.models import Enrollment
from enrollments.tests.factories import make_catalogue, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-Agent-12345"


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        if page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def wait_focus(page, selector: str) -> None:
    """Wait until htmx has moved the focus (autofocus on the swapped step)."""
    page.wait_for_function(
        "(s) => document.activeElement && document.activeElement.matches(s)", arg=selector
    )


def test_agent_quick_enrollment_and_enroll_another(page):
    page.set_default_timeout(20_000)  # CI has 2 cores shared with a Celery worker
    make_catalogue()
    make_staff("agent", "Agent")
    page.goto("/login/")
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    page.get_by_text("Customer", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Enroll Customer").click()
    page.wait_for_url("**/enrollments/quick/")

    page.get_by_label("Zip code").fill("99999")
    page.get_by_role("button", name="Search").click()
    page.get_by_text("Oops! We don't service your area!").wait_for()

    page.get_by_label("Zip code").fill("77494")
    page.get_by_label("Promotional Code").fill("welcome50")
    page.get_by_role("button", name="Search").click()
    utility = page.locator("select#id_utility")
    utility.wait_for()
    assert utility.locator("option").all_inner_texts() == ["CenterPoint", "TNMP"]
    utility.select_option("centerpoint")
    page.get_by_label("How did you hear about us?").select_option("Mailer")
    assert page.get_by_role("radio", name="Phone").is_checked()
    page.get_by_role("button", name="Show products").click()
    table = page.locator("table.products")
    table.wait_for()
    saver = table.locator("tr", has_text="Saver 12")
    assert saver.locator("td").all_inner_texts()[:6] == [
        "12.9¢/kWh",
        "Fixed",
        "12 mo",
        "$150.00",
        "$9.95",
        "21.3¢",
    ]
    assert page.get_by_text("Promo code WELCOME50: $50.00 bill credit.").is_visible()
    assert axe_violations(page) == []
    saver.get_by_role("button", name="Signup for Saver 12").click()

    page.get_by_role("button", name="New customer").click()
    page.locator("#id_first_name").fill("Maria")
    page.locator("#id_last_name").fill("Lopez")
    page.locator("#id_email").fill("maria@example.com")
    page.locator("#id_phone").fill("713-555-0142")
    page.locator("#id_ssn").fill("123456789")
    page.locator("#id_date_of_birth").fill("1980-04-02")
    page.locator("#id_esiid").fill("10400510000000001")  # TNMP's, not CenterPoint's
    page.locator("#id_address_line1").fill("100 Main St")
    page.locator("#id_city").fill("Katy")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("This ESIID does not belong to CenterPoint").wait_for()
    assert axe_violations(page) == []
    page.locator("#id_esiid").fill("1008901000000000000001")
    page.locator("#id_ssn").fill("123456789")
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()
    assert page.get_by_text("SSN ending 6789").is_visible()
    page.get_by_text("Change Enrollment Dates").click()
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Submit enrollment").click()
    page.get_by_role("heading", name="Enrollment submitted").wait_for()
    assert page.get_by_text(re.compile(r"cancel without penalty until")).is_visible()
    assert axe_violations(page) == []
    first = Enrollment.objects.get()
    assert first.customer.email == "maria@example.com"
    assert first.consent_method.code == "phone"

    page.get_by_role("button", name="Enroll another account for this customer").click()
    page.get_by_text("Enrolling another account for existing customer").wait_for()
    page.get_by_label("Zip code").fill("77002")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Show products").click()
    page.get_by_role("button", name="Signup for Fixed Rate 24").click()
    page.locator("#id_esiid").fill("1008901000000000000002")
    page.locator("#id_address_line1").fill("200 Elm St")
    page.locator("#id_city").fill("Houston")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Submit enrollment").click()
    page.get_by_role("heading", name="Enrollment submitted").wait_for()
    second = Enrollment.objects.exclude(pk=first.pk).get()
    assert second.customer_id == first.customer_id
    assert second.plan.code == "FIXED24"


def test_signup_wizard_by_keyboard_only(page):
    page.set_default_timeout(20_000)
    make_catalogue()
    page.goto("/enrollments/signup/?affiliate=PARTNER-7")
    assert axe_violations(page) == []
    # The zip field has the focus on arrival.
    wait_focus(page, "#id_zip_code")
    page.keyboard.type("77002")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Utility, referral and consent").wait_for()
    # Focus moved to the first field of the new step (referral).
    wait_focus(page, "#id_referral_source")
    page.keyboard.type("Friend")
    tab_to(page, "button.primary")
    assert page.evaluate("document.activeElement.textContent") == "Show products"
    page.keyboard.press("Enter")
    page.locator("table.products").wait_for()
    # The first Signup button has the focus.
    wait_focus(page, "table.products button[aria-label='Signup for Saver 12']")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Customer and premise").wait_for()
    wait_focus(page, "#id_first_name")
    page.keyboard.type("Kim")  # first name has the focus
    for selector, text in (
        ("#id_last_name", "Nguyen"),
        ("#id_email", "kim@example.com"),
        ("#id_phone", "2145550199"),
        ("#id_esiid", "1008901000000000000009"),
        ("#id_address_line1", "9 Oak St"),
        ("#id_city", "Houston"),
        ("#id_password1", "Corn-Flakes-42!"),
        ("#id_password2", "Corn-Flakes-42!"),
    ):
        tab_to(page, selector)
        page.keyboard.type(text)
    # No SSN: choose the deposit alternative with the keyboard.
    page.keyboard.down("Shift")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_deposit_alternative":
            break
    page.keyboard.up("Shift")
    page.keyboard.type("Pay")
    assert page.evaluate("document.activeElement.value") == "deposit"
    tab_to(page, "#id_password2")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()
    wait_focus(page, "#id_ack_efl")
    for name in ("efl", "tos", "yrac", "rescission"):
        tab_to(page, f"#id_ack_{name}")
        page.keyboard.press("Space")
        assert page.is_checked(f"#id_ack_{name}")
    tab_to(page, "form[enctype] button[type=submit]")
    assert axe_violations(page) == []
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Enrollment submitted").wait_for()
    enrollment = Enrollment.objects.get()
    assert enrollment.channel == "wizard"
    assert enrollment.affiliate_code == "PARTNER-7"
    assert enrollment.deposit_alternative == "deposit"
    assert enrollment.consent_method.code == "web"
    assert enrollment.consent_user_agent != ""
    assert enrollment.customer.user.check_password("Corn-Flakes-42!")
