"""The Enrollment API for aggregators: enroll customers' devices in demand-response programs.

Registered on the same django-ninja ``api`` as the electricity enrollments (same Bearer
keys, rate limit, problem+json errors). A partner reaches only customers it brought: the
customer is named by one of the partner's enrollments (id) or by the ESIID of a premise
whose open enrollment the partner brought; anything else is 404, as is another partner's
program enrollment.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Literal

from ninja import Field, Header, Schema

from opsadmin.errors import ApplicationError
from partners import selectors, services
from partners.api import ERRORS, ID, Problem, api, idempotent_create, problem
from programs.models import Device, ProgramEnrollment

PROGRAM_CODE = r"^[A-Za-z0-9_-]{1,40}$"
# printable, no control characters (Postgres refuses NUL; nobody needs the others)
TEXT = r"^[^\x00-\x1f\x7f]*$"


# --- schemas -----------------------------------------------------------------------------


class SpecificationOut(Schema):
    code: str
    manufacturer: str
    model_name: str


class AssetTypeOut(Schema):
    code: str
    name: str
    specifications: list[SpecificationOut]


class ProgramOut(Schema):
    code: str
    name: str
    description: str
    program_type: str
    allows_opt_out: bool
    allows_unavailability: bool
    head_end: str
    customer_type_codes: list[str] = Field(description="Empty: every customer type.")
    utility_codes: list[str] = Field(description="Empty: every utility.")
    rate_class_codes: list[str] = Field(description="Empty: every rate class.")
    asset_types: list[AssetTypeOut] = Field(description="Device types the program accepts.")


class ProgramDeviceIn(Schema):
    asset_type_code: str = Field(..., pattern=r"^[A-Za-z0-9_-]{1,30}$")
    specification_code: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,40}$")
    serial_number: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,59}$")
    network_address: str = Field(..., pattern=r"^[\x21-\x7e]{1,100}$")
    installation_method: Literal["byo", "utility"] = "byo"
    ownership: Literal["customer", "utility"] = "customer"


class ProgramEnrollmentIn(Schema):
    program_code: str = Field(..., pattern=PROGRAM_CODE)
    enrollment_id: int | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="One of your enrollments (the customer). Send this or esiid.",
    )
    esiid: str | None = Field(
        None,
        pattern=r"^[0-9A-Za-z]{1,30}$",
        description="ESIID of a premise whose open enrollment you brought.",
    )
    partner_reference: str = Field("", max_length=80, pattern=TEXT)
    installation_date: date | None = Field(
        None, description="For utility-installed or utility-owned devices (work order)."
    )
    devices: list[ProgramDeviceIn] = Field(..., min_length=1, max_length=20)


DeviceStatusLit = Literal["pending_install", "active", "replaced", "removed"]
HeadEndLit = Literal["not_sent", "pending", "registered", "de_registered", "error"]


class ProgramDeviceOut(Schema):
    id: int
    asset_type_code: str
    specification_code: str | None
    serial_number: str
    network_address: str
    installation_method: Literal["byo", "utility"]
    ownership: Literal["customer", "utility"]
    status: DeviceStatusLit
    head_end_status: HeadEndLit = Field(
        description="Registration at the head end, as the DERMS acknowledged it."
    )
    head_end_message: str
    head_end_updated_at: datetime | None


class ProgramEnrollmentOut(Schema):
    id: int
    program_code: str
    status: Literal["pending_install", "active", "unenrolled"]
    enrollment_id: int | None = Field(description="Your enrollment that named the customer.")
    esiid: str
    partner_reference: str
    created_at: datetime
    enrolled_at: datetime | None
    unenrolled_at: datetime | None
    removal_method: Literal["keep", "utility_removal"] | None
    devices: list[ProgramDeviceOut]


class UnenrollIn(Schema):
    removal_method: Literal["keep", "utility_removal"] = "keep"
    reason: str = Field("", max_length=200, pattern=TEXT)


def program_enrollment_out(pe: ProgramEnrollment) -> dict:
    link = pe.partner_link
    return {
        "id": pe.pk,
        "program_code": pe.program.code,
        "status": pe.status,
        "enrollment_id": link.enrollment_id,
        "esiid": pe.service_account.esiid,
        "partner_reference": link.partner_reference,
        "created_at": pe.created_at,
        "enrolled_at": pe.enrolled_at,
        "unenrolled_at": pe.unenrolled_at,
        "removal_method": pe.removal_method or None,
        "devices": [_device_out(d) for d in pe.devices.all()],
    }


def _device_out(device: Device) -> dict:
    return {
        "id": device.pk,
        "asset_type_code": device.asset_type.code,
        "specification_code": device.specification.code if device.specification else None,
        "serial_number": device.serial_number,
        "network_address": device.network_address,
        "installation_method": device.installation_method,
        "ownership": device.ownership,
        "status": device.status,
        "head_end_status": device.head_end_status,
        "head_end_message": device.head_end_message,
        "head_end_updated_at": device.head_end_updated_at,
    }


@api.exception_handler(ProgramEnrollment.DoesNotExist)
def _program_enrollment_not_found(request, exc):
    return problem(404, "No such program enrollment.")


# --- endpoints ---------------------------------------------------------------------------


@api.get("/programs", response={200: list[ProgramOut], **ERRORS}, tags=["programs"])
def list_programs(request):
    """Demand-response programs you may enroll customers' devices into, with their
    eligibility rules and the device types (and models) each accepts."""
    out = []
    for program, asset_types in selectors.partner_programs():
        out.append(
            {
                "code": program.code,
                "name": program.name,
                "description": program.description,
                "program_type": program.program_type.code,
                "allows_opt_out": program.program_type.allows_opt_out,
                "allows_unavailability": program.program_type.allows_unavailability,
                "head_end": program.head_end.code,
                "customer_type_codes": sorted(t.code for t in program.customer_types.all()),
                "utility_codes": sorted(u.code for u in program.utilities.all()),
                "rate_class_codes": sorted(r.code for r in program.rate_classes.all()),
                "asset_types": [
                    {
                        "code": t.code,
                        "name": t.name,
                        "specifications": [
                            {
                                "code": s.code,
                                "manufacturer": s.manufacturer,
                                "model_name": s.model_name,
                            }
                            for s in t.specifications.all()
                        ],
                    }
                    for t in asset_types
                ],
            }
        )
    return out


def _request_hash(payload: ProgramEnrollmentIn) -> str:
    # the operation is part of the hash: one key reused on another endpoint is a 409
    body = json.dumps(
        {"op": "program-enrollments", "body": payload.model_dump(mode="json")}, sort_keys=True
    )
    return hashlib.sha256(body.encode()).hexdigest()


@api.post(
    "/program-enrollments",
    response={201: ProgramEnrollmentOut, 404: Problem, 409: Problem, **ERRORS},
    tags=["programs"],
)
def create_program_enrollment(
    request,
    payload: ProgramEnrollmentIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,255}$",
        description="Same key and same body return the first result; another body: 409.",
    ),
):
    """Enroll a customer's devices in a program. Bring-your-own customer-owned devices are
    registered with the head end at once (see GET for each device's registration);
    utility-installed or utility-owned devices wait for a site visit."""
    partner = request.partner
    if (payload.enrollment_id is None) == (not payload.esiid):
        raise ApplicationError("Send either enrollment_id or esiid (one of them).", field="esiid")

    def create() -> tuple[int, dict]:
        enrollment = selectors.partner_customer_enrollment(
            partner=partner, enrollment_id=payload.enrollment_id, esiid=payload.esiid
        )
        created = services.partner_program_enrollment_create(
            partner=partner,
            enrollment=enrollment,
            program_code=payload.program_code,
            devices=[services.AggregatorDevice(**d.model_dump()) for d in payload.devices],
            partner_reference=payload.partner_reference,
            installation_date=payload.installation_date,
        )
        pe = selectors.partner_program_enrollment_get(partner=partner, pk=created.pk)
        return pe.pk, json.loads(
            ProgramEnrollmentOut(**program_enrollment_out(pe)).model_dump_json()
        )

    return idempotent_create(
        request,
        idempotency_key=idempotency_key,
        request_hash=_request_hash(payload),
        create=create,
    )


@api.get(
    "/program-enrollments/{program_enrollment_id}",
    response={200: ProgramEnrollmentOut, 404: Problem, **ERRORS},
    tags=["programs"],
)
def get_program_enrollment(request, program_enrollment_id: int = ID):
    """Status of a program enrollment you created and each device's head-end registration
    (registered, de-registered, error). Another partner's id is 404."""
    return program_enrollment_out(
        selectors.partner_program_enrollment_get(partner=request.partner, pk=program_enrollment_id)
    )


@api.post(
    "/program-enrollments/{program_enrollment_id}/unenroll",
    response={200: ProgramEnrollmentOut, 404: Problem, 409: Problem, **ERRORS},
    tags=["programs"],
)
def unenroll_program_enrollment(
    request, program_enrollment_id: int = ID, payload: UnenrollIn | None = None
):
    """End a program enrollment: its devices are de-registered at the head end. Removal
    method keep (the customer keeps the device) or utility_removal (a site visit)."""
    partner = request.partner
    pe = selectors.partner_program_enrollment_get(partner=partner, pk=program_enrollment_id)
    services.partner_program_unenroll(
        partner=partner,
        program_enrollment=pe,
        removal_method=payload.removal_method if payload else "keep",
        reason=payload.reason if payload else "",
    )
    return program_enrollment_out(
        selectors.partner_program_enrollment_get(partner=partner, pk=program_enrollment_id)
    )
