"""Verbs of prospects: create and edit, pipeline status, notes, conversion to enrollments."""

from __future__ import annotations

import logging
from datetime import date

from django.db import transaction

from enrollments.models import Customer, Enrollment
from enrollments.services import EnrollmentInput, enrollment_submit
from enrollments.validators import validate_esiid_for_utility
from opsadmin.errors import ApplicationError
from prospects.models import Prospect, ProspectNote, ProspectServiceAddress

logger = logging.getLogger(__name__)

# Conversion goes through the one enroll service, as an agent's Quick Enrollment: the same
# validation (service area, ESIID, plan availability) as every other channel.
CONVERSION_CHANNEL = Enrollment.Channel.QUICK


@transaction.atomic
def prospect_note_add(*, prospect: Prospect, text: str, author=None) -> ProspectNote:
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Write a note first.", field="text")
    return ProspectNote.objects.create(
        prospect=prospect, text=text, author=author if getattr(author, "pk", None) else None
    )


@transaction.atomic
def prospect_status_set(*, prospect: Prospect, status: str, actor=None) -> Prospect:
    """Move a prospect along the pipeline. ``converted`` is only reached by conversion."""
    if status not in Prospect.Status.values:
        raise ApplicationError("Unknown status.", field="status")
    if status == Prospect.Status.CONVERTED or prospect.status == Prospect.Status.CONVERTED:
        raise ApplicationError(
            "A prospect becomes Converted only by converting it.", field="status"
        )
    old = prospect.status
    prospect.status = status
    prospect.save(update_fields=["status", "updated_at"])
    if old != status:
        prospect_note_add(
            prospect=prospect,
            text=f"Status: {Prospect.Status(old).label} → {Prospect.Status(status).label}",
            author=actor,
        )
    return prospect


@transaction.atomic
def prospect_address_save(*, address: ProspectServiceAddress) -> ProspectServiceAddress:
    """Validate and save a service address (ERCOT ESIIDs are checked against the utility)."""
    if address.utility.is_ercot:
        validate_esiid_for_utility(address.esiid, address.utility)
    address.full_clean()
    address.save()
    return address


@transaction.atomic
def prospect_convert(
    *,
    prospect: Prospect,
    plan_code: str,
    actor=None,
    requested_start_date: date | None = None,
    notice_preference: str = Customer.NoticePreference.EMAIL,
) -> list[Enrollment]:
    """Turn a prospect into one enrollment per service address, for one new customer.

    All or nothing: if any address is refused by ``enrollment_submit`` the whole conversion
    rolls back and the error names the address.
    """
    prospect = Prospect.objects.select_for_update().get(pk=prospect.pk)
    if prospect.status in (Prospect.Status.CONVERTED, Prospect.Status.LOST):
        raise ApplicationError(
            f"A {Prospect.Status(prospect.status).label.lower()} prospect cannot be converted.",
            code="bad_status",
        )
    addresses = list(prospect.addresses.filter(enrollment__isnull=True).select_related("utility"))
    if not addresses:
        raise ApplicationError("Add a service address first.", code="no_addresses")
    contact = prospect.primary_contact
    if contact is None:
        raise ApplicationError("Add a contact first.", code="no_contact")
    if prospect.customer_type is None:
        raise ApplicationError("Choose the customer type first.", field="customer_type")

    customer: Customer | None = None
    enrollments: list[Enrollment] = []
    for address in addresses:
        data = EnrollmentInput(
            zip_code=address.zip_code,
            utility_code=address.utility.code,
            customer_type_code=prospect.customer_type.code,
            plan_code=plan_code,
            first_name=contact.first_name,
            last_name=contact.last_name,
            company_name=prospect.company_name,
            email=contact.email,
            phone=contact.phone,
            esiid=address.esiid,
            meter_number=address.meter_number,
            address_line1=address.address_line1,
            address_line2=address.address_line2,
            city=address.city,
            state=address.state,
            requested_start_date=requested_start_date,
            notice_preference=notice_preference,
        )
        try:
            enrollment = enrollment_submit(
                data=data,
                channel=CONVERSION_CHANNEL,
                actor=actor,
                customer=customer,
                source=f"prospect:{prospect.pk}",
            )
        except ApplicationError as exc:
            raise ApplicationError(
                f"{address.one_line}: {exc.message}", field=exc.field, code=exc.code
            ) from exc
        customer = enrollment.customer
        address.enrollment = enrollment
        address.save(update_fields=["enrollment"])
        enrollments.append(enrollment)

    prospect.status = Prospect.Status.CONVERTED
    prospect.save(update_fields=["status", "updated_at"])
    prospect_note_add(
        prospect=prospect,
        text=f"Converted into {len(enrollments)} enrollment(s): "
        + ", ".join(f"#{e.pk}" for e in enrollments),
        author=actor,
    )
    logger.info(
        "prospect.converted", extra={"prospect_id": prospect.pk, "enrollments": len(enrollments)}
    )
    return enrollments
