"""Seed 001 / issue #23: an existing customer adds another device to their program
enrollment; the new device is registered with the head end (not a 422 "already enrolled")."""

from __future__ import annotations

import pytest

from programs import services
from programs.models import Device, ProgramEnrollment, SyncRequest, SyncRequestDevice, WorkOrder
from programs.services import DeviceInput
from programs.tests.factories import customer_with_premise, program_setup, staff_user

pytestmark = pytest.mark.django_db


def _device(setup, serial, **extra):
    return DeviceInput(
        asset_type_id=setup.thermostat.pk,
        serial_number=serial,
        network_address=f"n-{serial}",
        **extra,
    )


def _enroll(setup, customer, premise, *devices):
    return services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=list(devices),
        channel="agent",
    )


def test_a_second_device_joins_the_open_enrollment_and_is_registered():
    setup = program_setup()
    customer, premise = customer_with_premise()
    first = _enroll(setup, customer, premise, _device(setup, "T-100"))
    again = _enroll(setup, customer, premise, _device(setup, "T-200"))
    assert again.pk == first.pk
    assert ProgramEnrollment.objects.count() == 1
    assert sorted(
        Device.objects.filter(enrollment=first).values_list("serial_number", "status")
    ) == [
        ("T-100", "active"),
        ("T-200", "active"),
    ]
    # One enroll sync per step; the second registers only the new device.
    second_sync = SyncRequest.objects.filter(kind="enroll").order_by("pk").last()
    assert [d["serial_number"] for d in second_sync.payload["devices"]] == ["T-200"]
    assert [d["action"] for d in second_sync.payload["devices"]] == ["register"]
    assert list(
        SyncRequestDevice.objects.filter(sync_request=second_sync).values_list(
            "device__serial_number", flat=True
        )
    ) == ["T-200"]
    first.refresh_from_db()
    assert first.status == "active"


def test_a_utility_installed_device_gets_a_work_order_and_the_enrollment_stays_active():
    setup = program_setup()
    customer, premise = customer_with_premise()
    enrollment = _enroll(setup, customer, premise, _device(setup, "T-100"))
    syncs = SyncRequest.objects.count()
    _enroll(setup, customer, premise, _device(setup, "T-300", installation_method="utility"))
    device = Device.objects.get(serial_number="T-300")
    assert device.status == "pending_install"
    assert WorkOrder.objects.filter(device=device, kind="installation", status="open").count() == 1
    assert SyncRequest.objects.count() == syncs  # registered when the visit is completed
    enrollment.refresh_from_db()
    assert enrollment.status == "active"


def test_a_serial_already_live_is_still_refused():
    setup = program_setup()
    customer, premise = customer_with_premise()
    _enroll(setup, customer, premise, _device(setup, "T-100"))
    from opsadmin.errors import ApplicationError

    with pytest.raises(ApplicationError, match="Device T-100 is already enrolled"):
        _enroll(setup, customer, premise, _device(setup, "T-100"))
    assert Device.objects.count() == 1


def test_agent_adds_a_device_from_the_customer_summary(client):
    setup = program_setup()
    customer, premise = customer_with_premise()
    enrollment = _enroll(setup, customer, premise, _device(setup, "T-100"))
    client.force_login(staff_user())
    summary = client.get(f"/programs/customers/{customer.pk}/").content.decode()
    add_url = f"/programs/customers/{customer.pk}/enroll/{setup.program.pk}/{premise.pk}/"
    assert f'href="{add_url}">Add a device' in summary
    response = client.post(
        add_url,
        {
            "asset_type": setup.thermostat.pk,
            "serial_number": "T-400",
            "network_address": "n-400",
            "installation_method": "byo",
            "ownership": "customer",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Device.objects.get(serial_number="T-400").enrollment_id == enrollment.pk
    assert ProgramEnrollment.objects.count() == 1


def test_customer_opt_out_asks_first_in_their_language(client):
    from programs.models import DeviceReservation
    from programs.tests.factories import customer_user, reserve

    setup = program_setup()
    user, customer, premise = customer_user(email="opt.out@example.com")
    enrollment = _enroll(setup, customer, premise, _device(setup, "T-900"))
    reservation = reserve(enrollment.devices.get(), starts_in_hours=5, event_id="EV-9")
    customer.language = "es"
    customer.save(update_fields=["language"])
    client.force_login(user)
    url = f"/myaccount/programs/reservations/{reservation.pk}/opt-out/"
    page = client.post(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<h1 id="confirm-heading">¿Excluir T-900 de este evento?</h1>' in html
    assert '<button type="submit" class="primary danger-fill">Sí, excluir</button>' in html
    assert 'href="/myaccount/programs/">No, volver</a>' in html
    reservation.refresh_from_db()
    assert reservation.status == DeviceReservation.Status.RESERVED
    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    reservation.refresh_from_db()
    assert reservation.status == DeviceReservation.Status.OPTED_OUT
