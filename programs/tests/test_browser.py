"""Browser: an agent opts a device out; a customer schedules unavailability (axe-checked)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import axe_violations
from programs import services
from programs.models import DeviceReservation, Unavailability
from programs.services import DeviceInput
from programs.tests.factories import (
    customer_user,
    customer_with_premise,
    program_setup,
    reserve,
    staff_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _device(setup, customer, premise, serial):
    return services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number=serial, network_address="10.1.1.1"
            )
        ],
        channel="agent",
    ).devices.get()


def test_agent_opts_a_device_out_from_the_customer_program_summary(page):
    setup = program_setup()
    customer, premise = customer_with_premise()
    device = _device(setup, customer, premise, "BR-AGENT-1")
    reservation = reserve(device, starts_in_hours=6, event_id="EV-BR1")
    staff_user(username="agent.browser", password="pw-Agent-123")

    page.goto("/login/")
    page.get_by_label("Username").fill("agent.browser")
    page.get_by_label("Password").fill("pw-Agent-123")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/programs/customers/{customer.pk}/")
    page.get_by_role("heading", name=f"Customer Program Summary: {customer}").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Opt Out device BR-AGENT-1 of event EV-BR1").click()
    # Irreversible: a dialog asks first (issue #23); its "Opt Out" sends it.
    dialog = page.get_by_role("dialog", name="Opt out device BR-AGENT-1 of event EV-BR1?")
    dialog.get_by_role("button", name="Opt Out").click()
    page.get_by_text("Device BR-AGENT-1 is opted out of event EV-BR1.").wait_for()
    reservation.refresh_from_db()
    assert (reservation.status, reservation.opted_out_by) == (
        DeviceReservation.Status.OPTED_OUT,
        "agent",
    )
    assert page.get_by_role("button", name="Opt Out device BR-AGENT-1 of event EV-BR1").count() == 0


def test_customer_schedules_unavailability_in_my_account(page):
    setup = program_setup()
    user, customer, premise = customer_user(email="browser.customer@example.com")
    device = _device(setup, customer, premise, "BR-CUST-1")

    page.goto("/myaccount/login/")
    page.get_by_label("Email").fill("browser.customer@example.com")
    page.get_by_label("Password").fill("pw-Customer-123")
    page.get_by_role("button", name="Sign in").click()
    page.goto("/myaccount/programs/")
    page.get_by_role("heading", name="My programs").wait_for()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Schedule unavailability for BR-CUST-1").click()
    start = (timezone.localtime() + timedelta(days=4)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    page.get_by_label("Unavailable from").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Unavailable until").fill(
        (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("Reason").fill("Family visiting")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Schedule unavailability").click()
    page.get_by_text(f"Unavailable from {start:%b %-d, %Y} 2:00 PM").wait_for()
    window = Unavailability.objects.get(device=device)
    assert (window.starts_at, window.ends_at, window.reason) == (
        start,
        start + timedelta(hours=4),
        "Family visiting",
    )
