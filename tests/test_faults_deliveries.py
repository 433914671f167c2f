"""Answers delivered twice (``duplicate_delivery``: every list item twice) change nothing
twice: a DERMS event reserves and notifies once; SMT interval days are stored once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from conftest import set_fault

pytestmark = pytest.mark.django_db


def test_a_derms_event_delivered_twice_reserves_and_emails_once(simulators_url, mailoutbox):
    import httpx

    from programs import outbox, services
    from programs.models import DeviceReservation, ProgramEnrollment, SyncRequest
    from programs.services import DeviceInput
    from programs.tests.factories import customer_with_premise, point_derms_at, program_setup

    point_derms_at(simulators_url)
    setup = program_setup()
    customer, premise = customer_with_premise(email="twice@example.com")
    enrollment = services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="DUP-1", network_address="c1"
            )
        ],
        channel=ProgramEnrollment.Channel.AGENT,
    )
    sync = outbox.sync_request_send(request_id=enrollment.sync_requests.get().pk)
    assert sync is not None and sync.state == SyncRequest.State.SENT
    starts = timezone.now() + timedelta(days=1)
    httpx.post(
        f"{simulators_url}/derms/_control/events",
        json={
            "program": setup.program.code,
            "event_id": "EV-DUP",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
        },
    ).raise_for_status()
    set_fault(simulators_url, "derms", duplicate_delivery={"endpoint": "GET /v1/events"})

    first = outbox.events_poll()
    assert first == {"events": 2, "reservations": 2, "notified": 1}  # the same event, twice
    assert outbox.events_poll()["notified"] == 0
    reservation = DeviceReservation.objects.get()
    assert (reservation.event.external_id, reservation.status) == ("EV-DUP", "reserved")
    assert [m.to for m in mailoutbox] == [["twice@example.com"]]


def test_smt_interval_days_delivered_twice_are_stored_once(simulators_url):
    from usage.adapters import smt
    from usage.adapters.smt import smt_client
    from usage.models import IntervalDay
    from usage.services import smt_sync
    from usage.tests.factories import premise, smt_on

    smt.clear_token_cache()
    smt_on(f"{simulators_url}/smt")
    sa = premise()
    set_fault(
        simulators_url, "smt", duplicate_delivery={"endpoint": "POST /v2/15minintervalreads/"}
    )
    with smt_client() as client:
        doubled = client.interval_reads(
            esiid=sa.esiid, start=date(2025, 3, 8), end=date(2025, 3, 9)
        )
        result = smt_sync(
            service_account=sa, client=client, start=date(2025, 3, 8), end=date(2025, 3, 9)
        )
    assert len(doubled) == 8  # two days, two channels, each delivered twice
    assert result.days_stored == 4
    rows = IntervalDay.objects.filter(service_account=sa)
    assert sorted((r.day, r.channel, len(r.kwh)) for r in rows) == [
        (date(2025, 3, 8), "C", 96),
        (date(2025, 3, 8), "G", 96),
        (date(2025, 3, 9), "C", 92),
        (date(2025, 3, 9), "G", 92),
    ]
    smt.clear_token_cache()


def test_an_earlier_reservation_status_after_an_opt_out_does_not_undo_it(simulators_url):
    import httpx

    from programs import outbox, services
    from programs.models import DeviceReservation, ProgramEnrollment
    from programs.services import DeviceInput
    from programs.tests.factories import customer_with_premise, point_derms_at, program_setup

    point_derms_at(simulators_url)
    setup = program_setup()
    customer, premise = customer_with_premise()
    enrollment = services.program_enrollment_create(
        customer=customer,
        service_account=premise,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="OOO-1", network_address="c1"
            )
        ],
        channel=ProgramEnrollment.Channel.AGENT,
    )
    outbox.sync_request_send(request_id=enrollment.sync_requests.get().pk)
    starts = timezone.now() + timedelta(days=1)
    httpx.post(
        f"{simulators_url}/derms/_control/events",
        json={
            "program": setup.program.code,
            "event_id": "EV-OOO",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
        },
    ).raise_for_status()
    set_fault(simulators_url, "derms", out_of_order={"endpoint": "GET /v1/events"})
    outbox.events_poll()  # reserved
    # the customer opts out at the DERMS (e.g. from the thermostat itself)
    httpx.post(
        f"{simulators_url}/derms/v1/events/EV-OOO/opt-outs",
        json={"serial_number": "OOO-1"},
        headers={"Authorization": "Bearer x"},
    ).raise_for_status()
    outbox.events_poll()  # opted out (the later answer)
    reservation = DeviceReservation.objects.get()
    assert (reservation.status, reservation.opted_out_by) == ("opted_out", "derms")
    outbox.events_poll()  # the earlier answer ("reserved") arrives late: nothing moves back
    reservation.refresh_from_db()
    assert (reservation.status, reservation.opted_out_by) == ("opted_out", "derms")
    # the stale answer was the one that poll got: the next one is current again
    events = httpx.get(
        f"{simulators_url}/derms/v1/events", headers={"Authorization": "Bearer x"}
    ).json()["events"]
    assert events[0]["reservations"][0]["status"] == "opted_out"
    assert httpx.get(f"{simulators_url}/derms/_stats").json()["faults"]["fired"] == {
        "out_of_order": 4
    }
