"""Chromium: Quick Enrollment keeps its place (#23). A mouse-only and a keyboard-only agent
each hit a validation error midway (a bad ESIID) and lose nothing they entered, the SSN
included (kept in the encrypted draft, shown as "on file ending 6789", never echoed); each
step has its own address, so F5 resumes the step and Back returns to the previous one with
its values; both finish on the done screen. axe finds no serious or critical violation."""

from __future__ import annotations

import re

import pytest

from conftest import axe_violations
from enrollments.models import Enrollment, EnrollmentDraft
from enrollments.tests.factories import CNP_ESIID, TNMP_ESIID, make_catalogue, make_staff
from tests.test_enrollment_browser import PASSWORD, tab_to, wait_focus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEP_URL = r"/enrollments/quick/[0-9a-f-]{36}/%s/$"
TYPED = {
    "#id_first_name": "Maria",
    "#id_last_name": "Lopez",
    "#id_company_name": "Lopez Bakery",
    "#id_email": "maria@example.com",
    "#id_phone": "713-555-0142",
    "#id_meter_number": "MTR-42",
    "#id_address_line1": "100 Main St",
    "#id_address_line2": "Apt 3",
    "#id_city": "Houston",
}
BILLING = {
    "#id_billing_address_line1": "PO Box 77",
    "#id_billing_city": "Austin",
    "#id_billing_state": "TX",
    "#id_billing_zip": "78701",
}


def at_step(page, name: str) -> None:
    page.wait_for_url(re.compile(STEP_URL % name))


def assert_typed_values_kept(page, esiid: str) -> None:
    for selector, value in {**TYPED, **BILLING}.items():
        assert page.locator(selector).input_value() == value, selector
    assert page.locator("#id_esiid").input_value() == esiid
    assert page.locator("#id_language").input_value() == "es"
    assert not page.locator("#id_billing_same").is_checked()
    # The SSN and date of birth are kept in the draft, not in the page.
    assert page.locator("#id_ssn").input_value() == ""
    assert page.get_by_text("SSN on file ending 6789 — leave blank to keep it.").is_visible()
    assert page.get_by_text("Date of birth on file — leave blank to keep it.").is_visible()
    assert "123456789" not in page.content() and "1980-04-02" not in page.content()


def assert_summary(page) -> None:
    summary = " ".join(page.locator("dl.summary").inner_text().split())
    for text in (
        "Maria Lopez (Lopez Bakery)",
        "SSN ending 6789",
        "Mailer",
        "MTR-42",
        "100 Main St, Apt 3, Houston TX 77002",
        "PO Box 77, Austin TX 78701",
        CNP_ESIID,
    ):
        assert text in summary, (text, summary)
    assert "123456789" not in page.content()


def login(page) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def test_mouse_only_quick_enrollment_keeps_everything_and_its_place(page):
    page.set_default_timeout(20_000)
    make_catalogue()
    make_staff("agent", "Agent")
    login(page)
    page.get_by_text("Customer", exact=True).click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Enroll Customer").click()
    page.wait_for_url("**/enrollments/quick/")

    page.get_by_label("Zip code").click()
    page.get_by_label("Zip code").fill("77002")
    page.get_by_role("button", name="Search").click()
    at_step(page, "options")
    page.get_by_label("How did you hear about us?").select_option("Mailer")
    page.get_by_role("button", name="Show products").click()
    at_step(page, "products")
    # F5 on the products step: the same step comes back from the draft.
    page.reload()
    page.locator("table.products").wait_for()
    at_step(page, "products")
    page.get_by_role("button", name="Signup for Saver 12").click()
    at_step(page, "customer")
    page.get_by_role("button", name="New customer").click()
    at_step(page, "details")

    for selector, value in TYPED.items():
        page.locator(selector).click()
        page.locator(selector).fill(value)
    page.locator("#id_language").select_option("es")
    page.locator("#id_ssn").click()
    page.locator("#id_ssn").fill("123-45-6789")
    page.locator("#id_date_of_birth").fill("1980-04-02")
    # Billing lines are hidden while "same as service" is ticked; unticking shows them.
    assert page.locator("#id_billing_same").is_checked()
    assert not page.locator("#id_billing_address_line1").is_visible()
    page.locator("#id_billing_same").click()
    assert page.locator("#id_billing_address_line1").is_visible()
    for selector, value in BILLING.items():
        page.locator(selector).click()
        page.locator(selector).fill(value)
    # Two columns on a wide screen: the Premise fieldset sits beside the Customer one.
    customer_box = page.get_by_role("group", name="Customer").bounding_box()
    premise_box = page.get_by_role("group", name="Premise").bounding_box()
    assert premise_box["x"] > customer_box["x"] + customer_box["width"] / 2
    page.locator("#id_esiid").click()
    page.locator("#id_esiid").fill(TNMP_ESIID)  # TNMP's, not CenterPoint's
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("This ESIID does not belong to CenterPoint").wait_for()
    assert_typed_values_kept(page, TNMP_ESIID)
    assert axe_violations(page) == []
    # F5 after the error: the step is still there, typed values included.
    at_step(page, "details")
    page.reload()
    page.locator("#id_esiid").wait_for()
    assert_typed_values_kept(page, TNMP_ESIID)

    page.locator("#id_esiid").click()
    page.locator("#id_esiid").fill(CNP_ESIID)
    page.get_by_role("button", name="Continue").click()  # SSN left blank: the one on file
    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()
    at_step(page, "review")
    assert_summary(page)
    assert axe_violations(page) == []

    # Back: the details step with its values; forward again with Continue.
    page.go_back()
    at_step(page, "details")
    page.locator("#id_first_name").wait_for()
    assert_typed_values_kept(page, CNP_ESIID)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()
    # F5 on the review.
    page.reload()
    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()
    assert_summary(page)
    for box in page.get_by_role("checkbox").all():
        box.click()
    page.get_by_role("button", name="Submit enrollment").click()
    page.get_by_role("heading", name="Enrollment submitted").wait_for()
    at_step(page, "done")
    assert axe_violations(page) == []

    enrollment = Enrollment.objects.get()
    customer = enrollment.customer
    assert (customer.first_name, customer.company_name, customer.language) == (
        "Maria",
        "Lopez Bakery",
        "es",
    )
    assert customer.ssn_last4 == "6789" and customer.date_of_birth == "1980-04-02"
    assert (customer.billing_address_line1, customer.billing_zip) == ("PO Box 77", "78701")
    assert enrollment.service_account.meter_number == "MTR-42"
    assert enrollment.referral_source.name == "Mailer"
    assert EnrollmentDraft.objects.get().secret == ""


def test_keyboard_only_quick_enrollment_keeps_everything_and_its_place(page):
    page.set_default_timeout(20_000)
    make_catalogue()
    make_staff("agent", "Agent")
    page.goto("/login/")
    tab_to(page, "#id_username")
    page.keyboard.type("agent")
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.get_by_role("navigation", name="Main").wait_for()
    page.goto("/enrollments/quick/")

    tab_to(page, "#id_zip_code")
    page.keyboard.type("77002")
    page.keyboard.press("Enter")
    at_step(page, "options")
    wait_focus(page, "#id_referral_source")
    page.keyboard.type("Mailer")
    tab_to(page, "button.primary")
    page.keyboard.press("Enter")
    at_step(page, "products")
    wait_focus(page, "table.products button[aria-label='Signup for Saver 12']")
    page.keyboard.press("Enter")
    at_step(page, "customer")
    tab_to(page, "form button.primary")  # New customer
    page.keyboard.press("Enter")
    at_step(page, "details")
    wait_focus(page, "#id_first_name")

    # In the page's own Tab order, from the first name down to the billing zip code.
    for selector in ("#id_first_name", "#id_last_name", "#id_company_name", "#id_email"):
        tab_to(page, selector)
        page.keyboard.type(TYPED[selector])
    tab_to(page, "#id_phone")
    page.keyboard.type(TYPED["#id_phone"])
    tab_to(page, "#id_language")
    page.keyboard.type("Esp")
    tab_to(page, "#id_ssn")
    page.keyboard.type("123456789")
    tab_to(page, "#id_date_of_birth")
    page.keyboard.type("04021980")
    tab_to(page, "#id_esiid")
    page.keyboard.type("10089010000")  # too short
    for selector in ("#id_meter_number", "#id_address_line1", "#id_address_line2", "#id_city"):
        tab_to(page, selector)
        page.keyboard.type(TYPED[selector])
    tab_to(page, "#id_billing_same")
    page.keyboard.press("Space")  # untick: the billing lines appear
    for selector, value in BILLING.items():
        tab_to(page, selector)
        page.keyboard.type(value)
    page.keyboard.press("Enter")
    page.get_by_text("An ESIID is 17 or 22 digits and starts with 10.").wait_for()
    wait_focus(page, "#id_esiid")  # the first field with an error has the focus
    assert_typed_values_kept(page, "10089010000")
    assert axe_violations(page) == []

    page.keyboard.press("Control+A")
    page.keyboard.type(CNP_ESIID)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()
    at_step(page, "review")
    assert_summary(page)

    # F5 mid-flow resumes the review; Back returns to the details with their values.
    page.reload()
    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()
    page.go_back()
    at_step(page, "details")
    page.locator("#id_first_name").wait_for()
    assert_typed_values_kept(page, CNP_ESIID)
    page.go_forward()
    at_step(page, "review")
    page.get_by_role("heading", name="Acknowledgement and submission").wait_for()

    wait_focus(page, "#id_ack_efl")
    for name in ("efl", "tos", "yrac", "rescission"):
        tab_to(page, f"#id_ack_{name}")
        page.keyboard.press("Space")
    tab_to(page, "form[enctype] button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Enrollment submitted").wait_for()
    at_step(page, "done")
    enrollment = Enrollment.objects.get()
    assert enrollment.service_account.esiid == CNP_ESIID
    assert enrollment.customer.ssn_last4 == "6789"
    assert enrollment.customer.date_of_birth == "1980-04-02"
    assert enrollment.customer.billing_city == "Austin"
    assert enrollment.referral_source.name == "Mailer"
