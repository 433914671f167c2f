"""Delivery of the DERMS outbox and the application of its acknowledgements.

A sync request is claimed (``SENDING``) in a short transaction, sent outside any
transaction, then the answer is applied in another. Transient failures wait in the
database (``next_attempt_at``) for the sweeper; permanent ones end in ``ERROR``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError
from programs.adapters.derms import DermsClient, SyncAck, get_client
from programs.models import (
    DemandResponseEvent,
    Device,
    DeviceReservation,
    Program,
    SyncRequest,
    SyncRequestDevice,
    Unavailability,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STUCK_AFTER = timedelta(minutes=10)
HEAD_END = {
    "Registered": Device.HeadEndStatus.REGISTERED,
    "De-registered": Device.HeadEndStatus.DE_REGISTERED,
    "Error": Device.HeadEndStatus.ERROR,
}


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour (``PROGRAMS_SYNC_BACKOFF_SECONDS`` is the
    first step); never sooner than the DERMS's ``Retry-After`` (RFC 9110 section 10.2.3)."""
    base = float(getattr(settings, "PROGRAMS_SYNC_BACKOFF_SECONDS", 30))
    wait = min(base * 2 ** max(attempts - 1, 0), 3600.0)
    if retry_after is not None:
        wait = max(wait, float(retry_after))
    return timedelta(seconds=wait)


def _claim(request_id: int) -> SyncRequest | None:
    with transaction.atomic():
        request = (
            SyncRequest.objects.select_for_update(skip_locked=True)
            .filter(
                pk=request_id,
                state__in=[SyncRequest.State.QUEUED, SyncRequest.State.RETRYING],
                next_attempt_at__lte=timezone.now(),
            )
            .first()
        )
        if request is None:
            return None
        request.state = SyncRequest.State.SENDING
        request.attempts += 1
        request.sent_at = timezone.now()
        request.save(update_fields=["state", "attempts", "sent_at", "updated_at"])
        return request


def sync_request_send(*, request_id: int, client: DermsClient | None = None) -> SyncRequest | None:
    """Send one due sync request; returns it in its new state (None if not due / taken)."""
    request = _claim(request_id)
    if request is None:
        return None
    try:
        client = client or get_client()
        ack = _deliver(client, request)
    except TransientIntegrationError as exc:
        return _retry_later(request, str(exc), retry_after=exc.retry_after)
    except PermanentIntegrationError as exc:
        return _fail(request, str(exc))
    with transaction.atomic():
        if request.kind in SyncRequest.DEVICE_KINDS:
            _apply_ack(request, ack)
        else:
            request.state = SyncRequest.State.SYNCHRONIZED
            request.ack = "positive"
            request.response = ack
            request.last_error = ""
            request.save(update_fields=["state", "ack", "response", "last_error", "updated_at"])
    logger.info(
        "programs.sync_request.sent",
        extra={"sync_request": request.pk, "kind": request.kind, "state": request.state},
    )
    return request


def _deliver(client: DermsClient, request: SyncRequest):
    payload = request.payload
    if request.kind in SyncRequest.DEVICE_KINDS:
        return client.sync(message=payload, idempotency_key=request.idempotency_key)
    if request.kind == SyncRequest.Kind.OPT_OUT:
        return client.opt_out(event_id=payload["event_id"], serial_number=payload["serial_number"])
    if request.kind == SyncRequest.Kind.UNAVAILABILITY:
        # Send the window as it is now (not as it was when queued): later merges win.
        window = Unavailability.objects.filter(pk=payload["window_pk"]).first()
        answer: dict = {"deleted": []}
        if window is not None:
            answer = client.unavailability_put(
                serial_number=payload["serial_number"],
                window_id=payload["window_id"],
                starts_at=window.starts_at.isoformat(),
                ends_at=window.ends_at.isoformat(),
            )
            answer["deleted"] = []
        else:
            payload = {
                **payload,
                "delete_window_ids": [*payload["delete_window_ids"], payload["window_id"]],
            }
        for window_id in payload["delete_window_ids"]:
            client.unavailability_delete(
                serial_number=payload["serial_number"], window_id=window_id
            )
            answer["deleted"].append(window_id)
        return answer
    raise PermanentIntegrationError(f"unknown sync request kind {request.kind}")


def _retry_later(
    request: SyncRequest, error: str, *, retry_after: float | None = None
) -> SyncRequest:
    if request.attempts >= MAX_ATTEMPTS:
        return _fail(request, f"gave up after {request.attempts} attempts: {error}")
    request.state = SyncRequest.State.RETRYING
    request.next_attempt_at = timezone.now() + backoff(request.attempts, retry_after)
    request.last_error = error[:2000]
    request.save(update_fields=["state", "next_attempt_at", "last_error", "updated_at"])
    logger.warning(
        "programs.sync_request.retrying",
        extra={"sync_request": request.pk, "attempts": request.attempts},
    )
    return request


def _fail(request: SyncRequest, error: str) -> SyncRequest:
    with transaction.atomic():
        request.state = SyncRequest.State.ERROR
        request.last_error = error[:2000]
        request.next_attempt_at = None
        request.save(update_fields=["state", "last_error", "next_attempt_at", "updated_at"])
        if request.kind in SyncRequest.DEVICE_KINDS:
            Device.objects.filter(sync_items__sync_request=request).update(
                head_end_status=Device.HeadEndStatus.ERROR,
                head_end_message=error[:300],
                head_end_updated_at=timezone.now(),
            )
    logger.error("programs.sync_request.failed", extra={"sync_request": request.pk})
    return request


def _apply_ack(request: SyncRequest, ack: SyncAck) -> None:
    """Update each device's head-end flag from the acknowledgement; end the request.

    Current format: each device's status as the DERMS gave it (a device missing from the
    answer is an Error). Deprecated format (no per-device status): the message-level ack
    decides for every device, and the request is marked deprecated.
    The request ends Synchronized when the ack is positive and no device is in Error.
    """
    now = timezone.now()
    items = list(request.items.select_related("device"))
    by_serial = {d.serial_number.upper(): d for d in ack.devices}
    for item in items:
        if ack.deprecated:
            if ack.positive:
                item.result = (
                    Device.HeadEndStatus.REGISTERED
                    if item.action == SyncRequestDevice.Action.REGISTER
                    else Device.HeadEndStatus.DE_REGISTERED
                )
                item.message = ""
            else:
                item.result = Device.HeadEndStatus.ERROR
                item.message = ack.reason[:300]
        else:
            answer = by_serial.get(item.device.serial_number.upper())
            if answer is None:
                item.result = Device.HeadEndStatus.ERROR
                item.message = "The DERMS did not report this device."
            else:
                item.result = HEAD_END[answer.head_end_status]
                item.message = answer.message or ("" if ack.positive else ack.reason[:300])
        item.save(update_fields=["result", "message"])
        device = item.device
        device.head_end_status = item.result
        device.head_end_message = item.message
        device.head_end_updated_at = now
        device.save(update_fields=["head_end_status", "head_end_message", "head_end_updated_at"])
    errors = [i for i in items if i.result == Device.HeadEndStatus.ERROR]
    request.ack = "positive" if ack.positive else "negative"
    request.ack_format = (
        SyncRequest.AckFormat.DEPRECATED if ack.deprecated else SyncRequest.AckFormat.CURRENT
    )
    request.response = ack.raw
    if ack.positive and not errors:
        request.state = SyncRequest.State.SYNCHRONIZED
        request.last_error = ""
    else:
        request.state = SyncRequest.State.ERROR
        request.last_error = (
            f"Negative acknowledgement: {ack.reason}"
            if not ack.positive
            else f"{len(errors)} of {len(items)} devices in Error at the head end."
        )
    request.save(
        update_fields=["ack", "ack_format", "response", "state", "last_error", "updated_at"]
    )
    if ack.deprecated:
        logger.warning("programs.sync_request.deprecated_ack", extra={"sync_request": request.pk})


def sync_requests_due(*, limit: int = 200) -> list[int]:
    """Sweeper: release requests stuck in SENDING (a worker died) and list those due."""
    now = timezone.now()
    SyncRequest.objects.filter(
        state=SyncRequest.State.SENDING, updated_at__lt=now - STUCK_AFTER
    ).update(state=SyncRequest.State.RETRYING, next_attempt_at=now)
    return list(
        SyncRequest.objects.filter(
            state__in=[SyncRequest.State.QUEUED, SyncRequest.State.RETRYING],
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- events ---------------------------------------------------------------------------------
def events_poll(*, client: DermsClient | None = None) -> dict:
    """Read the DERMS's events and reservations, store them, email newly reserved customers."""
    client = client or get_client()
    events = client.events_list()
    programs = {p.code: p for p in Program.objects.all()}
    new_reservations: list[int] = []
    seen = 0
    with transaction.atomic():
        for item in events:
            program = programs.get(item.program_code)
            if program is None:
                continue
            event, _ = DemandResponseEvent.objects.update_or_create(
                external_id=item.event_id,
                defaults={
                    "program": program,
                    "starts_at": item.starts_at,
                    "ends_at": item.ends_at,
                    "status": item.status[:20],
                },
            )
            serials = {r.serial_number.upper(): r for r in item.reservations}
            devices = Device.objects.filter(
                enrollment__program=program, status=Device.Status.ACTIVE
            )
            for device in devices:
                r = serials.get(device.serial_number.upper())
                if r is None:
                    continue
                seen += 1
                reservation, created = DeviceReservation.objects.get_or_create(
                    event=event, device=device
                )
                if created:
                    new_reservations.append(reservation.pk)
                if r.status == "opted_out" and reservation.status == "reserved":
                    reservation.status = DeviceReservation.Status.OPTED_OUT
                    reservation.opted_out_by = "derms"
                    reservation.save(update_fields=["status", "opted_out_by"])
    notified = reservations_notify(reservation_ids=new_reservations)
    return {"events": len(events), "reservations": seen, "notified": notified}


def reservations_notify(*, reservation_ids: list[int]) -> int:
    """Email each customer about a device reserved for an upcoming event (once)."""
    sent = 0
    for reservation in DeviceReservation.objects.filter(
        pk__in=reservation_ids, notified_at__isnull=True, status=DeviceReservation.Status.RESERVED
    ).select_related(
        "event__program__program_type", "device__enrollment__customer", "device__asset_type"
    ):
        customer = reservation.device.enrollment.customer
        if not customer.email:
            continue
        context = {"reservation": reservation, "event": reservation.event, "customer": customer}
        # In the customer's document language (PUCT Subst. R. 25.473).
        with translation.override(customer.language or "en"):
            subject = gettext("Your %(device)s is scheduled for an energy event") % {
                "device": reservation.device.asset_type.local_name
            }
            message = render_to_string("programs/email/reservation.txt", context)
        send_mail(
            subject=subject,
            message=message,
            from_email=None,
            recipient_list=[customer.email],
        )
        DeviceReservation.objects.filter(pk=reservation.pk).update(notified_at=timezone.now())
        sent += 1
    return sent
