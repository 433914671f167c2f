"""Verbs of demand-response programs: enroll, complete work orders, replace, unenroll,
opt out, schedule unavailability, and write the DERMS outbox (sync requests)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import dateformat, timezone
from django.utils.translation import gettext

from enrollments.models import Customer, ServiceAccount
from opsadmin.errors import ApplicationError
from programs import selectors
from programs.models import (
    ControllableAssetType,
    Device,
    DeviceReservation,
    DeviceSpecification,
    Program,
    ProgramEnrollment,
    SyncRequest,
    SyncRequestDevice,
    Unavailability,
    WorkOrder,
    serial_validator,
)
from programs.outbox import OUTBOX

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceInput:
    """One device as typed by an agent, a customer, or sent by an aggregator."""

    asset_type_id: int
    serial_number: str
    network_address: str
    installation_method: str = Device.InstallationMethod.BYO
    ownership: str = Device.Ownership.CUSTOMER
    specification_id: int | None = None


# --- the outbox ----------------------------------------------------------------------------
def _device_message(device: Device, action: str) -> dict:
    return {
        "serial_number": device.serial_number,
        "network_address": device.network_address,
        "entity_group": device.entity_group.code if device.entity_group else "",
        "asset_type": device.asset_type.code,
        "specification": device.specification.code if device.specification else "",
        "action": action,
    }


def _sync_request_write(
    *, kind: str, enrollment: ProgramEnrollment, payload: dict, idempotency_key: str
) -> SyncRequest:
    request, created = SyncRequest.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "kind": kind,
            "enrollment": enrollment,
            "payload": payload,
            "next_attempt_at": timezone.now(),
        },
    )
    if created:
        OUTBOX.enqueue_after_commit(request.pk)
    return request


@transaction.atomic
def sync_request_create(
    *,
    kind: str,
    enrollment: ProgramEnrollment,
    register: list[Device] | tuple[Device, ...] = (),
    deregister: list[Device] | tuple[Device, ...] = (),
) -> SyncRequest:
    """Write an enroll / unenroll / replace message for the DERMS (sent after commit).

    The message carries the entity group and network address of every device.
    """
    if kind not in SyncRequest.DEVICE_KINDS:
        raise ValueError(f"not a device sync kind: {kind}")
    if not register and not deregister:
        raise ValueError("a sync request needs at least one device")
    key = f"derms-{kind}-{uuid.uuid4()}"
    program = enrollment.program
    payload = {
        "message_id": key,
        "action": kind,
        "program": program.code,
        "head_end": program.head_end.code,
        "customer_id": str(enrollment.customer_id),
        "premise_id": enrollment.service_account.esiid,
        "devices": [_device_message(d, "deregister") for d in deregister]
        + [_device_message(d, "register") for d in register],
    }
    request = _sync_request_write(
        kind=kind, enrollment=enrollment, payload=payload, idempotency_key=key
    )
    SyncRequestDevice.objects.bulk_create(
        [
            SyncRequestDevice(
                sync_request=request, device=d, action=SyncRequestDevice.Action.DEREGISTER
            )
            for d in deregister
        ]
        + [
            SyncRequestDevice(
                sync_request=request, device=d, action=SyncRequestDevice.Action.REGISTER
            )
            for d in register
        ]
    )
    Device.objects.filter(pk__in=[d.pk for d in [*register, *deregister]]).update(
        head_end_status=Device.HeadEndStatus.PENDING, head_end_message=""
    )
    logger.info("programs.sync_request.created", extra={"kind": kind, "sync_request": request.pk})
    return request


def sync_request_retry(*, sync_request: SyncRequest) -> SyncRequest:
    """Ops: send a waiting request (queued, retrying or failed) now; same idempotency key,
    so the DERMS will not double it (``opsadmin.outbox.Outbox.retry_now``)."""
    return OUTBOX.retry_now(sync_request.pk)


# --- enrollment ----------------------------------------------------------------------------
def _validate_devices(*, program: Program, devices: list[DeviceInput]) -> list[dict]:
    if not devices:
        raise ApplicationError(gettext("Add at least one device."), field="devices")
    allowed_types = {t.pk for t in program.asset_types.all()}
    seen: set[str] = set()
    cleaned = []
    for item in devices:
        serial = item.serial_number.strip()
        network_address = item.network_address.strip()
        try:
            serial_validator(serial)
        except Exception as exc:
            raise ApplicationError(
                gettext("Serial number %(serial)s is not valid: 3-60 letters, digits, . _ -")
                % {"serial": repr(serial)},
                field="serial_number",
            ) from exc
        if not network_address or len(network_address) > 100:
            raise ApplicationError(
                gettext("Every device needs a network address."), field="network_address"
            )
        if serial.upper() in seen:
            raise ApplicationError(
                gettext("Serial number %(serial)s is listed twice.") % {"serial": serial},
                field="serial_number",
            )
        seen.add(serial.upper())
        if item.installation_method not in Device.InstallationMethod.values:
            raise ApplicationError(
                gettext("Choose an installation method."), field="installation_method"
            )
        if item.ownership not in Device.Ownership.values:
            raise ApplicationError(gettext("Choose who owns the device."), field="ownership")
        asset_type = ControllableAssetType.objects.filter(pk=item.asset_type_id).first()
        if asset_type is None:
            raise ApplicationError(gettext("Choose a device type."), field="asset_type")
        if allowed_types and asset_type.pk not in allowed_types:
            raise ApplicationError(
                gettext("%(program)s does not accept %(device_type)s devices.")
                % {"program": program.local_name, "device_type": asset_type.local_name},
                field="asset_type",
            )
        specification = None
        if item.specification_id:
            specification = DeviceSpecification.objects.filter(pk=item.specification_id).first()
            if specification is None or specification.asset_type_id != asset_type.pk:
                raise ApplicationError(
                    gettext("The device model does not match the device type."),
                    field="specification",
                )
        if Device.objects.filter(
            serial_number__iexact=serial, status__in=Device.LIVE_STATUSES
        ).exists():
            raise ApplicationError(
                gettext("Device %(serial)s is already enrolled in a program.") % {"serial": serial},
                field="serial_number",
            )
        cleaned.append(
            {
                "asset_type": asset_type,
                "specification": specification,
                "serial_number": serial,
                "network_address": network_address,
                "installation_method": item.installation_method,
                "ownership": item.ownership,
            }
        )
    return cleaned


@transaction.atomic
def program_enrollment_create(
    *,
    customer: Customer,
    service_account: ServiceAccount,
    program: Program,
    devices: list[DeviceInput],
    channel: str,
    actor=None,
    channel_reference: str = "",
    installation_date: date | None = None,
) -> ProgramEnrollment:
    """Enroll a premise and its devices in a program (every channel: agent, My Account, API).

    A premise already in the program (an open enrollment) gets the new devices added to
    that enrollment, which is returned: an existing customer adding another device to their
    subscription registers it with the head end like a first enrollment (seed 001).

    Checks eligibility (customer type, utility, rate class, device type) and assigns each
    device its entity group. Bring-your-own customer-owned devices are active at once and a
    sync request goes to the DERMS; utility-owned or utility-installed devices get an
    installation work order and are synced when the site visit is completed.
    """
    if channel not in ProgramEnrollment.Channel.values:
        raise ValueError(f"unknown channel {channel}")
    if service_account.customer_id != customer.pk:
        raise ApplicationError(gettext("That premise does not belong to this customer."))
    reason = selectors.program_ineligibility_reason(
        program=program, customer=customer, service_account=service_account
    )
    if reason:
        raise ApplicationError(reason, code="ineligible")
    cleaned = _validate_devices(program=program, devices=devices)
    rate_class = selectors.premise_rate_class(service_account=service_account)
    for item in cleaned:
        group = selectors.entity_group_for(
            program=program, specification=item["specification"], rate_class=rate_class
        )
        if group is None:
            raise ApplicationError(
                gettext(
                    "No entity group is configured in %(program)s for this device; "
                    "ask Ops to add one (Programs > Configuration > Entity groups)."
                )
                % {"program": program.local_name},
                code="no_entity_group",
            )
        item["entity_group"] = group

    existing = (
        ProgramEnrollment.objects.select_for_update()
        .filter(
            service_account=service_account,
            program=program,
            status__in=ProgramEnrollment.OPEN_STATUSES,
        )
        .first()
    )
    if existing is not None:
        return _program_enrollment_devices_add(
            enrollment=existing, cleaned=cleaned, installation_date=installation_date
        )

    now = timezone.now()
    enrollment = ProgramEnrollment(
        customer=customer,
        service_account=service_account,
        program=program,
        channel=channel,
        channel_reference=channel_reference[:80],
        status=ProgramEnrollment.Status.ACTIVE,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    created: list[Device] = []
    for item in cleaned:
        device = Device(enrollment=enrollment, **item)
        device.status = (
            Device.Status.PENDING_INSTALLATION if device.needs_work_order else Device.Status.ACTIVE
        )
        created.append(device)
    if any(d.status == Device.Status.PENDING_INSTALLATION for d in created):
        enrollment.status = ProgramEnrollment.Status.PENDING_INSTALLATION
    else:
        enrollment.enrolled_at = now
    try:
        with transaction.atomic():
            enrollment.save()
            for device in created:
                device.enrollment = enrollment
                device.save()
    except IntegrityError as exc:
        raise ApplicationError(
            gettext(
                "This premise is already enrolled in the program, or a device is already enrolled."
            )
        ) from exc
    _devices_follow_up(enrollment=enrollment, created=created, installation_date=installation_date)
    logger.info(
        "programs.enrollment.created",
        extra={"enrollment": enrollment.pk, "program": program.code, "channel": channel},
    )
    return enrollment


def _devices_follow_up(
    *, enrollment: ProgramEnrollment, created: list[Device], installation_date: date | None
) -> None:
    """New devices' next step: a utility-installed one gets an installation work order (it is
    registered when the visit is completed); the active ones are registered with the head end
    in one enroll sync."""
    for device in created:
        if device.status == Device.Status.PENDING_INSTALLATION:
            WorkOrder.objects.create(
                kind=WorkOrder.Kind.INSTALLATION,
                enrollment=enrollment,
                device=device,
                scheduled_date=installation_date,
            )
    active = [d for d in created if d.status == Device.Status.ACTIVE]
    if active:
        sync_request_create(kind=SyncRequest.Kind.ENROLL, enrollment=enrollment, register=active)


def _program_enrollment_devices_add(
    *, enrollment: ProgramEnrollment, cleaned: list[dict], installation_date: date | None
) -> ProgramEnrollment:
    """Add validated devices to an open enrollment (inside the caller's transaction).

    Customer-installed devices are registered with the head end now (one enroll sync for
    the new devices only); utility-installed ones get an installation work order and are
    registered when it is completed. The enrollment keeps its status: an active
    subscription stays active while the new device waits for its visit.
    """
    created: list[Device] = []
    try:
        with transaction.atomic():
            for item in cleaned:
                device = Device(enrollment=enrollment, **item)
                device.status = (
                    Device.Status.PENDING_INSTALLATION
                    if device.needs_work_order
                    else Device.Status.ACTIVE
                )
                device.save()
                created.append(device)
    except IntegrityError as exc:
        raise ApplicationError(
            "A device with this serial number is already enrolled.", field="serial_number"
        ) from exc
    _devices_follow_up(enrollment=enrollment, created=created, installation_date=installation_date)
    logger.info(
        "programs.enrollment.devices_added",
        extra={"enrollment": enrollment.pk, "devices": [d.pk for d in created]},
    )
    return enrollment


def _lock_work_order(work_order: WorkOrder) -> WorkOrder:
    locked = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
    if locked.status != WorkOrder.Status.OPEN:
        raise ApplicationError(gettext("This work order is already closed."))
    return locked


@dataclass(frozen=True)
class ReplacementInput:
    serial_number: str
    network_address: str
    specification_id: int | None = None


@transaction.atomic
def work_order_complete(
    *, work_order: WorkOrder, resolution: str = "", replacement: ReplacementInput | None = None
) -> WorkOrder:
    """Close a site visit. Installation: the device becomes active and is synced.
    Service call with a replacement: the old device is replaced (one replace sync)."""
    order = _lock_work_order(work_order)
    now = timezone.now()
    device = Device.objects.select_related("enrollment__program", "asset_type").get(
        pk=order.device_id
    )
    if order.kind == WorkOrder.Kind.INSTALLATION:
        if replacement is not None:
            raise ApplicationError(gettext("An installation does not replace a device."))
        if device.status != Device.Status.PENDING_INSTALLATION:
            raise ApplicationError(gettext("This device is not waiting for installation."))
        device.status = Device.Status.ACTIVE
        device.save(update_fields=["status"])
        enrollment = ProgramEnrollment.objects.select_for_update().get(pk=order.enrollment_id)
        if not enrollment.devices.filter(status=Device.Status.PENDING_INSTALLATION).exists():
            enrollment.status = ProgramEnrollment.Status.ACTIVE
            enrollment.enrolled_at = enrollment.enrolled_at or now
            enrollment.save(update_fields=["status", "enrolled_at"])
        sync_request_create(kind=SyncRequest.Kind.ENROLL, enrollment=enrollment, register=[device])
    elif order.kind == WorkOrder.Kind.SERVICE_CALL and replacement is not None:
        device_replace(
            device=device,
            serial_number=replacement.serial_number,
            network_address=replacement.network_address,
            specification_id=replacement.specification_id,
        )
    order.status = WorkOrder.Status.COMPLETED
    order.completed_at = now
    order.resolution = (
        resolution or (f"Replaced by {replacement.serial_number}" if replacement else "")
    )[:300]
    order.save(update_fields=["status", "completed_at", "resolution"])
    return order


@transaction.atomic
def device_service_call_create(
    *, device: Device, problem: str, scheduled_date: date | None = None
) -> WorkOrder:
    """Open a service call (troubleshooting visit) that may end in a device replacement."""
    if device.status != Device.Status.ACTIVE:
        raise ApplicationError(gettext("A service call needs an active device."))
    if not problem.strip():
        raise ApplicationError(gettext("Describe the problem."), field="problem")
    return WorkOrder.objects.create(
        kind=WorkOrder.Kind.SERVICE_CALL,
        enrollment=device.enrollment,
        device=device,
        problem=problem.strip()[:300],
        scheduled_date=scheduled_date,
    )


@transaction.atomic
def device_replace(
    *,
    device: Device,
    serial_number: str,
    network_address: str,
    specification_id: int | None = None,
) -> Device:
    """Replace a faulty device: the old one is de-registered, the new one registered."""
    old = Device.objects.select_for_update().select_related("enrollment__program").get(pk=device.pk)
    if old.status != Device.Status.ACTIVE:
        raise ApplicationError(gettext("Only an active device can be replaced."))
    program = old.enrollment.program
    cleaned = _validate_devices(
        program=program,
        devices=[
            DeviceInput(
                asset_type_id=old.asset_type_id,
                serial_number=serial_number,
                network_address=network_address,
                installation_method=old.installation_method,
                ownership=old.ownership,
                specification_id=specification_id or old.specification_id,
            )
        ],
    )[0]
    rate_class = selectors.premise_rate_class(service_account=old.enrollment.service_account)
    group = selectors.entity_group_for(
        program=program, specification=cleaned["specification"], rate_class=rate_class
    )
    old.status = Device.Status.REPLACED
    old.save(update_fields=["status"])
    new = Device.objects.create(
        enrollment=old.enrollment,
        status=Device.Status.ACTIVE,
        entity_group=group or old.entity_group,
        replaces=old,
        **cleaned,
    )
    sync_request_create(
        kind=SyncRequest.Kind.REPLACE, enrollment=old.enrollment, register=[new], deregister=[old]
    )
    return new


@transaction.atomic
def program_unenroll(
    *,
    enrollment: ProgramEnrollment,
    removal_method: str,
    reason: str = "",
    removal_date: date | None = None,
) -> ProgramEnrollment:
    """Unenroll: devices leave the program and are de-registered from the head end.

    Removal method Keep: the customer keeps the device. Utility removal: a removal work
    order per device. Devices never installed are simply cancelled.
    """
    locked = ProgramEnrollment.objects.select_for_update().get(pk=enrollment.pk)
    if locked.status == ProgramEnrollment.Status.UNENROLLED:
        raise ApplicationError(gettext("This enrollment has already ended."))
    if removal_method not in ProgramEnrollment.RemovalMethod.values:
        raise ApplicationError(gettext("Choose a removal method."), field="removal_method")
    now = timezone.now()
    devices = list(locked.devices.filter(status__in=Device.LIVE_STATUSES))
    to_deregister = [
        d
        for d in devices
        if d.status == Device.Status.ACTIVE and d.head_end_status != Device.HeadEndStatus.NOT_SENT
    ]
    locked.work_orders.filter(
        status=WorkOrder.Status.OPEN,
        kind__in=[WorkOrder.Kind.INSTALLATION, WorkOrder.Kind.SERVICE_CALL],
    ).update(status=WorkOrder.Status.CANCELLED, resolution="Unenrolled", completed_at=now)
    for device in devices:
        was_installed = device.status == Device.Status.ACTIVE
        device.status = Device.Status.REMOVED
        device.save(update_fields=["status"])
        if was_installed and removal_method == ProgramEnrollment.RemovalMethod.UTILITY_REMOVAL:
            WorkOrder.objects.create(
                kind=WorkOrder.Kind.REMOVAL,
                enrollment=locked,
                device=device,
                scheduled_date=removal_date,
            )
    DeviceReservation.objects.filter(
        device__in=devices, status=DeviceReservation.Status.RESERVED
    ).update(status=DeviceReservation.Status.RELEASED)
    locked.status = ProgramEnrollment.Status.UNENROLLED
    locked.unenrolled_at = now
    locked.removal_method = removal_method
    locked.unenroll_reason = reason.strip()[:200]
    locked.save(update_fields=["status", "unenrolled_at", "removal_method", "unenroll_reason"])
    if to_deregister:
        sync_request_create(
            kind=SyncRequest.Kind.UNENROLL, enrollment=locked, deregister=to_deregister
        )
    return locked


# --- events: opt-out and unavailability ---------------------------------------------------
@transaction.atomic
def reservation_opt_out(*, reservation: DeviceReservation, channel: str) -> DeviceReservation:
    """Take a device out of an event, if the program type allows it and the event has not
    started; the DERMS is told (outbox) so the event's viability can be re-evaluated."""
    locked = (
        DeviceReservation.objects.select_for_update(of=("self",))
        .select_related("event__program__program_type", "device__enrollment")
        .get(pk=reservation.pk)
    )
    event = locked.event
    program_type = event.program.program_type
    if not program_type.allows_opt_out:
        raise ApplicationError(
            gettext("%(program)s does not allow opting out of events.")
            % {"program": event.program.local_name},
            code="not_allowed",
        )
    if locked.status == DeviceReservation.Status.OPTED_OUT:
        raise ApplicationError(gettext("This device is already opted out of the event."))
    if locked.status != DeviceReservation.Status.RESERVED:
        raise ApplicationError(gettext("This device is no longer reserved for the event."))
    now = timezone.now()
    if event.starts_at <= now:
        local = timezone.localtime(event.starts_at)
        raise ApplicationError(
            gettext(
                "The event started at %(start)s; opting out is only possible before an event "
                "starts."
            )
            % {"start": dateformat.format(local, gettext("M j, Y g:i A"))},
            code="event_started",
        )
    locked.status = DeviceReservation.Status.OPTED_OUT
    locked.opted_out_at = now
    locked.opted_out_by = channel
    locked.save(update_fields=["status", "opted_out_at", "opted_out_by"])
    key = f"derms-optout-{event.external_id}-{locked.device.serial_number}"
    _sync_request_write(
        kind=SyncRequest.Kind.OPT_OUT,
        enrollment=locked.device.enrollment,
        payload={"event_id": event.external_id, "serial_number": locked.device.serial_number},
        idempotency_key=key,
    )
    return locked


@dataclass(frozen=True)
class UnavailabilityResult:
    window: Unavailability
    merged: int  # how many existing windows the new one was merged with


@transaction.atomic
def unavailability_schedule(
    *,
    device: Device,
    starts_at: datetime,
    ends_at: datetime,
    channel: str,
    reason: str = "",
) -> UnavailabilityResult:
    """Tell the DERMS not to reserve a device in a window.

    Windows of one device never overlap: a new window that overlaps or touches existing
    ones is merged with them into one (the earliest row is kept and widened, the others are
    removed), and the DERMS receives the merged window.
    """
    locked = (
        Device.objects.select_for_update(of=("self",))
        .select_related("enrollment__program__program_type")
        .get(pk=device.pk)
    )
    program = locked.enrollment.program
    if not program.program_type.allows_unavailability:
        raise ApplicationError(
            gettext("%(program)s does not take unavailability notices.")
            % {"program": program.local_name}
        )
    if locked.status != Device.Status.ACTIVE:
        raise ApplicationError(gettext("Only an active device can be marked unavailable."))
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("aware datetimes required")
    if ends_at <= starts_at:
        raise ApplicationError(gettext("The window must end after it starts."), field="ends_at")
    if ends_at <= timezone.now():
        raise ApplicationError(gettext("The window is already over."), field="ends_at")
    if (ends_at - starts_at).days > 90:
        raise ApplicationError(gettext("A window can be at most 90 days long."), field="ends_at")
    overlapping = list(
        locked.unavailabilities.filter(starts_at__lte=ends_at, ends_at__gte=starts_at).order_by(
            "pk"
        )
    )
    if overlapping:
        window = overlapping[0]
        window.starts_at = min([starts_at, *(w.starts_at for w in overlapping)])
        window.ends_at = max([ends_at, *(w.ends_at for w in overlapping)])
        if reason.strip():
            window.reason = reason.strip()[:200]
        window.save(update_fields=["starts_at", "ends_at", "reason", "updated_at"])
        removed = [w.pk for w in overlapping[1:]]
        Unavailability.objects.filter(pk__in=removed).delete()
    else:
        window = Unavailability.objects.create(
            device=locked,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason.strip()[:200],
            channel=channel,
        )
        removed = []
    _sync_request_write(
        kind=SyncRequest.Kind.UNAVAILABILITY,
        enrollment=locked.enrollment,
        payload={
            "serial_number": locked.serial_number,
            "window_id": f"UA-{window.pk}",
            "window_pk": window.pk,
            "delete_window_ids": [f"UA-{pk}" for pk in removed],
        },
        idempotency_key=f"derms-unavail-{window.pk}-{uuid.uuid4()}",
    )
    return UnavailabilityResult(window=window, merged=len(overlapping))
