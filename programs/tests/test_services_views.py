"""Rules and screens of programs (no worker: the outbox is driven directly where needed)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from opsadmin.errors import ApplicationError
from programs import outbox, services
from programs.models import (
    Device,
    DeviceReservation,
    PremiseRateClass,
    ProgramEnrollment,
    RateClass,
    SyncRequest,
    Unavailability,
)
from programs.services import DeviceInput
from programs.tests.factories import (
    customer_user,
    customer_with_premise,
    point_derms_at,
    program_setup,
    reserve,
    staff_user,
)


def _enroll(setup, customer, premise, serial="DEV-1", channel="agent"):
    return services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number=serial, network_address="n1"
            )
        ],
        channel=channel,
    )


@pytest.mark.django_db
def test_eligibility_rules_refuse_and_nothing_is_written():
    setup = program_setup()
    customer, premise = customer_with_premise()
    rc = RateClass.objects.create(code="tou", name="Time of use")
    setup.program.rate_classes.set([rc])
    with pytest.raises(ApplicationError, match="limited to other rate classes"):
        _enroll(setup, customer, premise)
    PremiseRateClass.objects.create(service_account=premise, rate_class=rc)
    with pytest.raises(ApplicationError, match="does not accept Home battery devices"):
        services.program_enrollment_create(
            customer=customer,
            service_account=premise,
            program=setup.program,
            devices=[
                DeviceInput(
                    asset_type_id=setup.battery.pk, serial_number="B-1", network_address="x"
                )
            ],
            channel="agent",
        )
    assert ProgramEnrollment.objects.count() == 0 and SyncRequest.objects.count() == 0
    enrollment = _enroll(setup, customer, premise)
    assert enrollment.status == "active"
    other, other_premise = customer_with_premise()
    PremiseRateClass.objects.create(service_account=other_premise, rate_class=rc)
    with pytest.raises(ApplicationError, match="Device dev-1 is already enrolled"):
        _enroll(setup, other, other_premise, serial="dev-1")


@pytest.mark.django_db
def test_opt_out_after_the_event_started_is_refused_with_a_clear_message():
    setup = program_setup()
    customer, premise = customer_with_premise()
    device = _enroll(setup, customer, premise).devices.get()
    reservation = reserve(device, starts_in_hours=-0.5)
    with pytest.raises(ApplicationError) as exc:
        services.reservation_opt_out(reservation=reservation, channel="agent")
    local = timezone.localtime(reservation.event.starts_at)
    assert exc.value.message == (
        f"The event started at {local:%b %-d, %Y %-I:%M %p}; opting out is only possible "
        "before an event starts."
    )
    reservation.refresh_from_db()
    assert reservation.status == "reserved"
    assert not SyncRequest.objects.filter(kind="opt_out").exists()


@pytest.mark.django_db
def test_opt_out_refused_when_the_program_type_does_not_allow_it():
    setup = program_setup(code="mandatory-prog", allows_opt_out=False)
    customer, premise = customer_with_premise()
    device = _enroll(setup, customer, premise).devices.get()
    reservation = reserve(device, starts_in_hours=5)
    with pytest.raises(ApplicationError, match="does not allow opting out"):
        services.reservation_opt_out(reservation=reservation, channel="agent")


@pytest.mark.django_db
def test_overlapping_unavailability_windows_are_merged_not_duplicated():
    setup = program_setup()
    customer, premise = customer_with_premise()
    device = _enroll(setup, customer, premise).devices.get()
    base = timezone.now().replace(microsecond=0) + timedelta(days=2)
    a = services.unavailability_schedule(
        device=device, starts_at=base, ends_at=base + timedelta(hours=2), channel="agent"
    )
    b = services.unavailability_schedule(
        device=device,
        starts_at=base + timedelta(hours=5),
        ends_at=base + timedelta(hours=6),
        channel="agent",
    )
    assert (a.merged, b.merged) == (0, 0)
    # A window bridging both merges all three into the first row.
    c = services.unavailability_schedule(
        device=device,
        starts_at=base + timedelta(hours=1),
        ends_at=base + timedelta(hours=5),
        channel="agent",
    )
    assert (c.merged, c.window.pk) == (2, a.window.pk)
    rows = list(
        Unavailability.objects.filter(device=device).values_list("pk", "starts_at", "ends_at")
    )
    assert rows == [(a.window.pk, base, base + timedelta(hours=6))]
    last = SyncRequest.objects.filter(kind="unavailability").order_by("-pk").first()
    assert last.payload["delete_window_ids"] == [f"UA-{b.window.pk}"]
    # Same window again: still one row.
    services.unavailability_schedule(
        device=device, starts_at=base, ends_at=base + timedelta(hours=6), channel="agent"
    )
    assert Unavailability.objects.filter(device=device).count() == 1
    with pytest.raises(ApplicationError, match="must end after it starts"):
        services.unavailability_schedule(
            device=device, starts_at=base, ends_at=base, channel="agent"
        )


@pytest.mark.django_db(transaction=True)
def test_deprecated_ack_is_accepted_and_marked(simulators_url):
    point_derms_at(simulators_url)
    httpx.post(f"{simulators_url}/derms/_control/ack-format", json={"format": "deprecated"})
    setup = program_setup()
    customer, premise = customer_with_premise()
    enrollment = _enroll(setup, customer, premise, serial="OLD-1")
    sync = outbox.sync_request_send(request_id=enrollment.sync_requests.get().pk)
    assert (sync.state, sync.ack, sync.ack_format) == ("sent", "positive", "deprecated")
    assert enrollment.devices.get().head_end_status == Device.HeadEndStatus.REGISTERED


@pytest.mark.django_db(transaction=True)
def test_outage_waits_in_the_database_then_the_sweeper_sends(simulators_url):
    from conftest import set_fault

    point_derms_at(simulators_url)
    set_fault(simulators_url, "derms", outage=True)
    setup = program_setup()
    customer, premise = customer_with_premise()
    enrollment = _enroll(setup, customer, premise, serial="OUT-1")
    sync = outbox.sync_request_send(request_id=enrollment.sync_requests.get().pk)
    assert (sync.state, sync.attempts) == ("retrying", 1)
    assert sync.last_error == "DERMS answered 503 to POST /v1/customer-asset-sync."
    assert outbox.sync_requests_due() == []  # backoff: not due yet
    assert outbox.sync_request_send(request_id=sync.pk) is None
    SyncRequest.objects.filter(pk=sync.pk).update(next_attempt_at=timezone.now())
    httpx.delete(f"{simulators_url}/_faults")
    assert outbox.sync_requests_due() == [sync.pk]
    sync = outbox.sync_request_send(request_id=sync.pk)
    assert (sync.state, sync.attempts) == ("sent", 2)


# --- screens -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_agent_summary_and_opt_out_view(client):
    setup = program_setup()
    customer, premise = customer_with_premise()
    device = _enroll(setup, customer, premise, serial="VIEW-1").devices.get()
    future = reserve(device, starts_in_hours=3, event_id="EV-F")
    started = reserve(device, starts_in_hours=-1, event_id="EV-S")
    client.force_login(staff_user())
    page = client.get(f"/programs/customers/{customer.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Customer Program Summary" in html and "Opt Out device VIEW-1 of event EV-F" in html
    response = client.post(
        f"/programs/reservations/{started.pk}/opt-out/", {"confirmed": "yes"}, follow=True
    )
    assert "opting out is only possible before an event starts" in response.content.decode()
    started.refresh_from_db()
    assert started.status == "reserved"
    response = client.post(
        f"/programs/reservations/{future.pk}/opt-out/", {"confirmed": "yes"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == f"/programs/customers/{customer.pk}/"
    future.refresh_from_db()
    assert future.status == DeviceReservation.Status.OPTED_OUT


@pytest.mark.django_db
def test_agent_enroll_form_and_config_needs_ops(client):
    setup = program_setup()
    customer, premise = customer_with_premise()
    client.force_login(staff_user())
    url = f"/programs/customers/{customer.pk}/enroll/{setup.program.pk}/{premise.pk}/"
    response = client.post(
        url,
        {
            "asset_type": setup.thermostat.pk,
            "serial_number": "FORM-1",
            "network_address": "10.0.0.9",
            "installation_method": "utility",
            "ownership": "utility",
        },
    )
    assert response.status_code == 302
    enrollment = ProgramEnrollment.objects.get()
    assert (enrollment.status, enrollment.channel) == ("pending_install", "agent")
    assert client.get("/programs/config/").status_code == 403
    client.force_login(staff_user(group="Ops", username="ops1"))
    assert client.get("/programs/config/programs/").status_code == 200
    assert client.get("/programs/sync/").status_code == 200


@pytest.mark.django_db
def test_my_account_is_scoped_to_the_customer(client):
    setup = program_setup()
    user, customer, premise = customer_user(email="me@example.com")
    other, other_premise = customer_with_premise()
    mine = _enroll(setup, customer, premise, serial="MINE-1", channel="myaccount").devices.get()
    theirs = _enroll(setup, other, other_premise, serial="THEIRS-1").devices.get()
    their_reservation = reserve(theirs, starts_in_hours=4)
    client.force_login(user)
    page = client.get("/myaccount/programs/")
    assert page.status_code == 200
    assert "MINE-1" in page.content.decode() and "THEIRS-1" not in page.content.decode()
    assert client.get(f"/myaccount/programs/devices/{theirs.pk}/unavailability/").status_code == 404
    assert (
        client.post(f"/myaccount/programs/reservations/{their_reservation.pk}/opt-out/").status_code
        == 404
    )
    their_reservation.refresh_from_db()
    assert their_reservation.status == "reserved"
    start = (timezone.localtime() + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    response = client.post(
        f"/myaccount/programs/devices/{mine.pk}/unavailability/",
        {
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    window = Unavailability.objects.get(device=mine)
    assert (window.starts_at, window.ends_at, window.channel) == (
        start,
        start + timedelta(hours=8),
        "myaccount",
    )
    # staff may not open My Account pages
    client.force_login(staff_user(username="agent9"))
    assert client.get("/myaccount/programs/").status_code == 403


@pytest.mark.django_db
def test_event_email_is_in_the_customers_language(mailoutbox):
    """PUCT Subst. R. 25.473: program event notices in Spanish for a Spanish customer."""
    setup = program_setup(code="es-prog")
    customer, premise = customer_with_premise()
    customer.language = "es"
    customer.save(update_fields=["language"])
    device = _enroll(setup, customer, premise).devices.get()
    reservation = reserve(device, starts_in_hours=30)
    assert outbox.reservations_notify(reservation_ids=[reservation.pk]) == 1
    message = mailoutbox[0]
    assert message.subject == "Su Smart thermostat está programado para un evento de energía"
    assert message.body.startswith("Hola, Ana:")
    assert "DEV-1" in message.body
    assert "Empieza: " in message.body and " de " in message.body
    assert "Gracias por ayudar a mantener confiable la red eléctrica." in message.body
