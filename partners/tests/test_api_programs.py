"""Enrollment API for aggregators: programs, program enrollments (create, status, unenroll),
scoping to the partner's own customers, idempotency, problems, and the DERMS sync through a
real worker and the simulator."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import wait_until
from partners.models import PartnerProgramEnrollment
from partners.services import enrollment_input_from_values, partner_enrollment_submit
from partners.tests.conftest import esiid, row
from programs.models import Device, ProgramEnrollment, SyncRequest, WorkOrder
from programs.tests.factories import point_derms_at, program_setup

PROBLEM = "application/problem+json"


def call(client, method: str, path: str, key: str | None, data=None, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if key:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    fn = getattr(client, method)
    if data is not None:
        return fn(f"/api/v1{path}", data=json.dumps(data), content_type="application/json", **extra)
    return fn(f"/api/v1{path}", **extra)


def customer_of(partner, n: int = 1):
    """A customer this partner brought (an open electricity enrollment at esiid(n))."""
    data, ref = enrollment_input_from_values(row(n))
    return partner_enrollment_submit(partner=partner, data=data, channel="api", reference=ref)


def thermostat(serial: str = "TSTAT-A1", **overrides) -> dict:
    device = {
        "asset_type_code": "thermostat",
        "specification_code": "ecobee-3",
        "serial_number": serial,
        "network_address": "10.30.0.1",
    }
    device.update(overrides)
    return device


def _settled(pk: int) -> SyncRequest | None:
    request = SyncRequest.objects.get(pk=pk)
    done = (SyncRequest.State.SENT, SyncRequest.State.FAILED)
    return request if request.state in done else None


# --- end to end: API -> outbox -> worker -> DERMS simulator ------------------------------


@pytest.mark.worker
def test_create_by_esiid_registers_at_derms_then_unenroll_deregisters(
    celery_worker, simulators_url, client, market, partner_a, key_a
):
    point_derms_at(simulators_url)
    setup = program_setup()
    enrollment = customer_of(partner_a, 1)
    body = {
        "program_code": "smart-stat",
        "esiid": esiid(1),
        "partner_reference": "AGG-77",
        "devices": [thermostat()],
    }
    response = call(client, "post", "/program-enrollments", key_a, body, idempotency_key="k-1")
    assert response.status_code == 201, response.content
    created = response.json()
    pe = ProgramEnrollment.objects.get()
    assert response["Location"] == f"/api/v1/program-enrollments/{pe.pk}"
    assert (pe.channel, pe.channel_reference, pe.customer_id) == (
        "api",
        "AGG-77",
        enrollment.customer_id,
    )
    link = PartnerProgramEnrollment.objects.get()
    assert (link.partner, link.program_enrollment, link.enrollment) == (partner_a, pe, enrollment)
    device = pe.devices.get()
    assert device.entity_group == setup.spec_group
    assert created["status"] == "active"
    assert created["enrollment_id"] == enrollment.pk
    assert created["esiid"] == esiid(1)
    assert [
        (d["serial_number"], d["status"], d["head_end_status"]) for d in created["devices"]
    ] == [("TSTAT-A1", "active", "pending")]

    # the worker sends the enroll message; the DERMS registers the device
    sync = wait_until(lambda: _settled(pe.sync_requests.get(kind="enroll").pk))
    assert (sync.state, sync.ack, sync.ack_format) == ("sent", "positive", "current")
    derms = httpx.get(f"{simulators_url}/derms/_control/devices").json()["devices"]
    assert derms["TSTAT-A1"]["entity_group"] == "smart-stat-ecobee"
    status = call(client, "get", f"/program-enrollments/{pe.pk}", key_a).json()
    assert status["devices"][0]["head_end_status"] == "registered"
    assert status["devices"][0]["head_end_updated_at"] is not None

    # replay: the first answer again, nothing new created or sent
    again = call(client, "post", "/program-enrollments", key_a, body, idempotency_key="k-1")
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == created
    assert (ProgramEnrollment.objects.count(), SyncRequest.objects.count()) == (1, 1)
    other = call(
        client,
        "post",
        "/program-enrollments",
        key_a,
        {**body, "partner_reference": "AGG-78"},
        idempotency_key="k-1",
    )
    assert other.status_code == 409
    assert other["Content-Type"] == PROBLEM
    assert other.json()["type"] == "urn:opsadmin:problem:idempotency_key_reused"

    # unenroll: de-registered at the head end
    response = call(
        client,
        "post",
        f"/program-enrollments/{pe.pk}/unenroll",
        key_a,
        {"removal_method": "keep", "reason": "Customer sold the house"},
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["removal_method"]) == ("unenrolled", "keep")
    sync = wait_until(lambda: _settled(pe.sync_requests.get(kind="unenroll").pk))
    assert sync.state == SyncRequest.State.SENT
    status = call(client, "get", f"/program-enrollments/{pe.pk}", key_a).json()
    assert [(d["status"], d["head_end_status"]) for d in status["devices"]] == [
        ("removed", "de_registered")
    ]
    derms = httpx.get(f"{simulators_url}/derms/_control/devices").json()["devices"]
    assert derms["TSTAT-A1"]["status"] == "De-registered"

    # a second unenroll is a conflict
    response = call(client, "post", f"/program-enrollments/{pe.pk}/unenroll", key_a, {})
    assert response.status_code == 409
    assert response.json()["detail"] == "This program enrollment has already ended."


# --- without a worker --------------------------------------------------------------------


@pytest.mark.django_db
def test_programs_list_shows_eligible_device_types(client, market, key_a):
    setup = program_setup()
    setup.program.utilities.set([market["oncor"]])
    response = call(client, "get", "/programs", key_a)
    assert response.status_code == 200
    assert response.json() == [
        {
            "code": "smart-stat",
            "name": "Smart Thermostat Rewards smart-stat",
            "description": "",
            "program_type": "bdr",
            "allows_opt_out": True,
            "allows_unavailability": True,
            "head_end": "lec",
            "customer_type_codes": [],
            "utility_codes": ["oncor"],
            "rate_class_codes": [],
            "asset_types": [
                {
                    "code": "thermostat",
                    "name": "Smart thermostat",
                    "specifications": [
                        {"code": "ecobee-3", "manufacturer": "Ecobee", "model_name": "3 Lite"}
                    ],
                }
            ],
        }
    ]


@pytest.mark.django_db
def test_another_partners_customer_and_enrollment_are_404(
    client, market, partner_a, partner_b, key_a, key_b
):
    program_setup()
    enrollment = customer_of(partner_a, 1)
    for ident in ({"esiid": esiid(1)}, {"enrollment_id": enrollment.pk}, {"esiid": esiid(99)}):
        body = {"program_code": "smart-stat", "devices": [thermostat()], **ident}
        response = call(client, "post", "/program-enrollments", key_b, body)
        assert response.status_code == 404, ident
        assert response["Content-Type"] == PROBLEM
        assert response.json() == {
            "type": "about:blank",
            "title": "Not found",
            "status": 404,
            "detail": "No such enrollment.",
        }
    assert not ProgramEnrollment.objects.exists()
    assert not Device.objects.exists()

    created = call(
        client,
        "post",
        "/program-enrollments",
        key_a,
        {"program_code": "smart-stat", "enrollment_id": enrollment.pk, "devices": [thermostat()]},
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    for method, path in (
        ("get", f"/program-enrollments/{pk}"),
        ("post", f"/program-enrollments/{pk}/unenroll"),
    ):
        response = call(client, method, path, key_b, {} if method == "post" else None)
        assert response.status_code == 404
        assert response.json()["detail"] == "No such program enrollment."
    assert ProgramEnrollment.objects.get().status == "active"


@pytest.mark.django_db
def test_program_enrollment_made_by_an_agent_is_not_visible_to_partners(
    client, market, partner_a, key_a
):
    from programs.services import DeviceInput, program_enrollment_create

    setup = program_setup()
    enrollment = customer_of(partner_a, 1)
    pe = program_enrollment_create(
        customer=enrollment.customer,
        service_account=enrollment.service_account,
        program=setup.program,
        devices=[
            DeviceInput(
                asset_type_id=setup.thermostat.pk, serial_number="TS-1", network_address="n1"
            )
        ],
        channel="agent",
    )
    assert call(client, "get", f"/program-enrollments/{pe.pk}", key_a).status_code == 404


@pytest.mark.django_db
def test_ineligible_device_is_422_problem_and_nothing_created(client, market, partner_a, key_a):
    program_setup()
    customer_of(partner_a, 1)
    body = {
        "program_code": "smart-stat",
        "esiid": esiid(1),
        "devices": [thermostat(), thermostat("BATT-1", asset_type_code="battery")],
    }
    response = call(client, "post", "/program-enrollments", key_a, body, idempotency_key="x")
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "urn:opsadmin:problem:invalid",
        "title": "Unprocessable content",
        "status": 422,
        "detail": "Smart Thermostat Rewards smart-stat does not accept Home battery devices.",
        "errors": [
            {
                "field": "asset_type",
                "message": "Smart Thermostat Rewards smart-stat does not accept Home battery "
                "devices.",
            }
        ],
    }
    assert not ProgramEnrollment.objects.exists()
    assert not Device.objects.exists()
    assert not SyncRequest.objects.exists()
    assert not PartnerProgramEnrollment.objects.exists()
    # a failed create is not remembered: the same key works once the body is fixed
    body["devices"] = [thermostat()]
    fixed = call(client, "post", "/program-enrollments", key_a, body, idempotency_key="x")
    assert fixed.status_code == 201


@pytest.mark.django_db
def test_ineligible_premise_unknown_codes_and_identity_rules_are_422(
    client, market, partner_a, key_a
):
    from opsadmin.models import Utility

    setup = program_setup()
    other = Utility.objects.create(code="centerpoint", name="CenterPoint", esiid_prefixes=["1008"])
    setup.program.utilities.set([other])
    customer_of(partner_a, 1)
    base = {"program_code": "smart-stat", "esiid": esiid(1), "devices": [thermostat()]}

    response = call(client, "post", "/program-enrollments", key_a, base)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:opsadmin:problem:ineligible"
    assert response.json()["detail"] == (
        "Smart Thermostat Rewards smart-stat is not offered in the Oncor service area."
    )

    setup.program.utilities.clear()
    cases = [
        ({**base, "program_code": "nope"}, "program_code", "Unknown program."),
        (
            {**base, "devices": [thermostat(asset_type_code="pool-pump")]},
            "devices.0.asset_type_code",
            "Unknown device type 'pool-pump'.",
        ),
        (
            {**base, "devices": [thermostat(specification_code="nest-9")]},
            "devices.0.specification_code",
            "Unknown device model 'nest-9'.",
        ),
        (
            {**base, "enrollment_id": 5},
            "esiid",
            "Send either enrollment_id or esiid (one of them).",
        ),
        (
            {k: v for k, v in base.items() if k != "esiid"},
            "esiid",
            "Send either enrollment_id or esiid (one of them).",
        ),
    ]
    for body, field, message in cases:
        response = call(client, "post", "/program-enrollments", key_a, body)
        assert response.status_code == 422, body
        assert response.json()["errors"] == [{"field": field, "message": message}]
    assert not ProgramEnrollment.objects.exists()


@pytest.mark.django_db
def test_customer_no_longer_served_is_422(client, market, partner_a, key_a):
    from enrollments.services import enrollment_transition

    program_setup()
    enrollment = customer_of(partner_a, 1)
    enrollment_transition(enrollment=enrollment, to_status="cancelled", source="test")
    # by ESIID the premise is no longer the partner's open enrollment: 404
    by_esiid = {"program_code": "smart-stat", "esiid": esiid(1), "devices": [thermostat()]}
    assert call(client, "post", "/program-enrollments", key_a, by_esiid).status_code == 404
    # by id: the partner's enrollment, but cancelled
    by_id = {
        "program_code": "smart-stat",
        "enrollment_id": enrollment.pk,
        "devices": [thermostat()],
    }
    response = call(client, "post", "/program-enrollments", key_a, by_id)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:opsadmin:problem:customer_not_served"
    assert not ProgramEnrollment.objects.exists()


@pytest.mark.django_db
def test_utility_installed_device_waits_for_a_work_order(client, market, partner_a, key_a):
    program_setup()
    enrollment = customer_of(partner_a, 1)
    body = {
        "program_code": "smart-stat",
        "enrollment_id": enrollment.pk,
        "installation_date": "2030-05-04",
        "devices": [thermostat(installation_method="utility", ownership="utility")],
    }
    response = call(client, "post", "/program-enrollments", key_a, body)
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["status"] == "pending_install"
    assert [(d["status"], d["head_end_status"]) for d in out["devices"]] == [
        ("pending_install", "not_sent")
    ]
    order = WorkOrder.objects.get()
    assert (order.kind, str(order.scheduled_date)) == ("installation", "2030-05-04")
    assert not SyncRequest.objects.exists()


@pytest.mark.django_db
def test_no_key_is_401_and_device_serial_schema_is_422(client, market, key_a):
    assert call(client, "get", "/programs", None).status_code == 401
    body = {"program_code": "smart-stat", "esiid": esiid(1), "devices": [thermostat("x")]}
    response = call(client, "post", "/program-enrollments", key_a, body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["payload.devices.0.serial_number"]
