"""End to end: product -> outbox -> real Celery worker -> DERMS simulator over HTTP -> ack."""

from __future__ import annotations

from datetime import UTC, timedelta

import httpx
import pytest
from django.utils import timezone

from conftest import wait_until
from programs import outbox, services
from programs.models import (
    Device,
    DeviceReservation,
    ProgramEnrollment,
    SyncRequest,
    Unavailability,
    WorkOrder,
)
from programs.services import DeviceInput, ReplacementInput
from programs.tests.factories import customer_with_premise, point_derms_at, program_setup

pytestmark = [pytest.mark.worker]


def _settled(request_id: int) -> SyncRequest | None:
    request = SyncRequest.objects.get(pk=request_id)
    return request if request.state in (SyncRequest.State.SENT, SyncRequest.State.FAILED) else None


def _derms(base: str) -> dict:
    return httpx.get(f"{base}/derms/_control/devices").json()


def test_byo_enroll_registered_then_replace_then_unenroll(celery_worker, simulators_url):
    point_derms_at(simulators_url)
    setup = program_setup()
    customer, premise = customer_with_premise()

    enrollment = services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk,
                specification_id=setup.spec.pk,
                serial_number="TSTAT-0001",
                network_address="10.20.0.1",
            )
        ],
        channel=ProgramEnrollment.Channel.AGENT,
    )
    assert enrollment.status == ProgramEnrollment.Status.ACTIVE
    device = enrollment.devices.get()
    assert device.entity_group == setup.spec_group  # most specific group wins
    sync = enrollment.sync_requests.get()
    assert sync.payload["devices"] == [
        {
            "serial_number": "TSTAT-0001",
            "network_address": "10.20.0.1",
            "entity_group": f"{setup.program.code}-ecobee",
            "asset_type": "thermostat",
            "specification": "ecobee-3",
            "action": "register",
        }
    ]
    sync = wait_until(lambda: _settled(sync.pk))
    assert sync.state == SyncRequest.State.SENT
    assert (sync.ack, sync.ack_format, sync.attempts) == ("positive", "current", 1)
    device.refresh_from_db()
    assert device.head_end_status == Device.HeadEndStatus.REGISTERED
    assert _derms(simulators_url)["devices"]["TSTAT-0001"]["entity_group"] == "smart-stat-ecobee"

    # A service call ends in a replacement: old de-registered, new registered, one message.
    call = services.device_service_call_create(device=device, problem="Thermostat offline")
    services.work_order_complete(
        work_order=call,
        replacement=ReplacementInput(serial_number="TSTAT-0002", network_address="10.20.0.2"),
    )
    replace = enrollment.sync_requests.get(kind=SyncRequest.Kind.REPLACE)
    assert [d["action"] for d in replace.payload["devices"]] == ["deregister", "register"]
    replace = wait_until(lambda: _settled(replace.pk))
    assert replace.state == SyncRequest.State.SENT
    device.refresh_from_db()
    new = Device.objects.get(serial_number="TSTAT-0002")
    assert (device.status, device.head_end_status) == ("replaced", "de_registered")
    assert (new.status, new.head_end_status, new.replaces_id) == ("active", "registered", device.pk)
    call.refresh_from_db()
    assert (call.status, call.resolution) == ("completed", "Replaced by TSTAT-0002")

    # Unenroll (keep the device): de-registered at the head end.
    services.program_unenroll(
        enrollment=enrollment, removal_method=ProgramEnrollment.RemovalMethod.KEEP, reason="Moving"
    )
    unenroll = enrollment.sync_requests.get(kind=SyncRequest.Kind.UNENROLL)
    unenroll = wait_until(lambda: _settled(unenroll.pk))
    assert unenroll.state == SyncRequest.State.SENT
    new.refresh_from_db()
    assert (new.status, new.head_end_status) == ("removed", "de_registered")
    state = _derms(simulators_url)["devices"]
    assert state["TSTAT-0001"]["status"] == "De-registered"
    assert state["TSTAT-0002"]["status"] == "De-registered"
    assert not WorkOrder.objects.filter(kind=WorkOrder.Kind.REMOVAL).exists()


def test_utility_owned_device_passes_through_a_work_order(celery_worker, simulators_url):
    point_derms_at(simulators_url)
    setup = program_setup()
    customer, premise = customer_with_premise()
    enrollment = services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk,
                serial_number="UTIL-0001",
                network_address="10.30.0.1",
                installation_method=Device.InstallationMethod.UTILITY,
                ownership=Device.Ownership.UTILITY,
            )
        ],
        channel=ProgramEnrollment.Channel.AGENT,
    )
    assert enrollment.status == ProgramEnrollment.Status.PENDING_INSTALLATION
    device = enrollment.devices.get()
    assert (device.status, device.head_end_status, device.entity_group) == (
        "pending_install",
        "not_sent",
        setup.group,
    )
    assert SyncRequest.objects.count() == 0  # nothing goes to the DERMS before the site visit
    order = WorkOrder.objects.get(device=device)
    assert (order.kind, order.status) == ("installation", "open")

    services.work_order_complete(work_order=order, resolution="Installed in hallway")
    enrollment.refresh_from_db()
    assert enrollment.status == ProgramEnrollment.Status.ACTIVE
    sync = wait_until(lambda: _settled(enrollment.sync_requests.get().pk))
    assert sync.state == SyncRequest.State.SENT
    device.refresh_from_db()
    assert (device.status, device.head_end_status) == ("active", "registered")

    # Utility removal on unenroll: a removal work order, and de-registration.
    services.program_unenroll(
        enrollment=enrollment, removal_method=ProgramEnrollment.RemovalMethod.UTILITY_REMOVAL
    )
    removal = WorkOrder.objects.get(kind=WorkOrder.Kind.REMOVAL)
    assert (removal.device_id, removal.status) == (device.pk, "open")
    unenroll = wait_until(lambda: _settled(enrollment.sync_requests.get(kind="unenroll").pk))
    assert unenroll.state == SyncRequest.State.SENT
    device.refresh_from_db()
    assert device.head_end_status == Device.HeadEndStatus.DE_REGISTERED


def test_negative_and_partial_acknowledgements(celery_worker, simulators_url):
    point_derms_at(simulators_url)
    setup = program_setup()
    customer, premise = customer_with_premise()
    other_customer, other_premise = customer_with_premise()

    # Negative: the DERMS rejects the whole message.
    rejected = services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="NACK-1", network_address="a1"
            ),
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="OK-1", network_address="a2"
            ),
        ],
        channel=ProgramEnrollment.Channel.AGENT,
    )
    # Partial: one device in Error, the other Registered.
    partial = services.program_enrollment_create(
        customer=other_customer,
        service_account=other_premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="OK-2", network_address="b1"
            ),
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="ERR-2", network_address="b2"
            ),
        ],
        channel=ProgramEnrollment.Channel.API,
        channel_reference="AGG-77",
    )
    nack = wait_until(lambda: _settled(rejected.sync_requests.get().pk))
    assert (nack.state, nack.ack) == ("failed", "negative")
    assert nack.last_error == (
        "Negative acknowledgement: Entity group or device rejected by the DERMS "
        "(unknown to the head end)."
    )
    assert dict(rejected.devices.values_list("serial_number", "head_end_status")) == {
        "NACK-1": "error",
        "OK-1": "error",
    }
    assert "OK-1" not in _derms(simulators_url)["devices"]

    part = wait_until(lambda: _settled(partial.sync_requests.get().pk))
    assert (part.state, part.ack, part.ack_format) == ("failed", "positive", "current")
    assert part.last_error == "1 of 2 devices in Error at the head end."
    assert dict(partial.devices.values_list("serial_number", "head_end_status")) == {
        "OK-2": "registered",
        "ERR-2": "error",
    }
    assert partial.devices.get(serial_number="ERR-2").head_end_message == (
        "Head end could not reach the device."
    )
    assert partial.channel_reference == "AGG-77"


def test_events_opt_out_and_unavailability_reach_the_derms(
    celery_worker, simulators_url, mailoutbox
):
    point_derms_at(simulators_url)
    setup = program_setup()
    customer, premise = customer_with_premise(email="event.customer@example.com")
    enrollment = services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="EV-A", network_address="c1"
            ),
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="EV-B", network_address="c2"
            ),
        ],
        channel=ProgramEnrollment.Channel.MYACCOUNT,
    )
    wait_until(lambda: _settled(enrollment.sync_requests.get().pk))
    dev_a = enrollment.devices.get(serial_number="EV-A")
    dev_b = enrollment.devices.get(serial_number="EV-B")

    # Device B unavailable tomorrow 13:00-17:00 (two overlapping requests: merged into one).
    tomorrow = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        days=1
    )
    first = services.unavailability_schedule(
        device=dev_b,
        starts_at=tomorrow + timedelta(hours=13),
        ends_at=tomorrow + timedelta(hours=15),
        channel="agent",
    )
    second = services.unavailability_schedule(
        device=dev_b,
        starts_at=tomorrow + timedelta(hours=14),
        ends_at=tomorrow + timedelta(hours=17),
        channel="agent",
    )
    assert (second.merged, second.window.pk) == (1, first.window.pk)
    assert Unavailability.objects.filter(device=dev_b).count() == 1
    wait_until(
        lambda: not SyncRequest.objects.filter(kind="unavailability").exclude(state="sent").exists()
    )
    windows = _derms(simulators_url)["unavailability"]["EV-B"]
    assert windows == {
        f"UA-{first.window.pk}": [
            (tomorrow + timedelta(hours=13)).astimezone(UTC).isoformat(),
            (tomorrow + timedelta(hours=17)).astimezone(UTC).isoformat(),
        ]
    }

    # The DERMS announces an event tomorrow 15:00-16:00: only A is reserved (B unavailable).
    created = httpx.post(
        f"{simulators_url}/derms/_control/events",
        json={
            "program": setup.program.code,
            "event_id": "EV-100",
            "starts_at": (tomorrow + timedelta(hours=15)).isoformat(),
            "ends_at": (tomorrow + timedelta(hours=16)).isoformat(),
        },
    )
    assert created.status_code == 201
    result = outbox.events_poll()
    assert result == {"events": 1, "reservations": 1, "notified": 1}
    reservation = DeviceReservation.objects.get()
    assert (reservation.device_id, reservation.status) == (dev_a.pk, "reserved")
    assert [m.to for m in mailoutbox] == [["event.customer@example.com"]]
    assert "EV-A" in mailoutbox[0].body
    assert outbox.events_poll()["notified"] == 0  # notified once

    services.reservation_opt_out(reservation=reservation, channel="agent")
    sync = wait_until(lambda: _settled(SyncRequest.objects.get(kind="opt_out").pk))
    assert sync.state == SyncRequest.State.SENT
    event = httpx.get(
        f"{simulators_url}/derms/v1/events", headers={"Authorization": "Bearer x"}
    ).json()
    assert event["events"][0]["reservations"] == [{"serial_number": "EV-A", "status": "opted_out"}]
