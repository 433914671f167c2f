"""The DERMS outbox on the core engine (``opsadmin.outbox``), and the events poll.

What only programs knows: how each kind of sync request goes to the DERMS, and what its
acknowledgement means for the devices (each device's head-end flag; a negative or partly
failed acknowledgement ends the request ``failed``, in the staff Outbox screen). Claim,
lease, backoff (``PROGRAMS_SYNC_BACKOFF_SECONDS``, doubling to an hour, at most
``MAX_ATTEMPTS``), attempt records and retry-now are the engine's. One row per batch
call of ``deliver`` at a time: an unavailability request reads its window from the database
while it is sent.
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

from opsadmin import outbox as engine
from opsadmin.errors import PermanentIntegrationError
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
HEAD_END = {
    "Registered": Device.HeadEndStatus.REGISTERED,
    "De-registered": Device.HeadEndStatus.DE_REGISTERED,
    "Error": Device.HeadEndStatus.ERROR,
}


def backoff_base_seconds() -> float:
    """The first retry's wait (then doubling, capped at an hour)."""
    return float(getattr(settings, "PROGRAMS_SYNC_BACKOFF_SECONDS", 30))


def lease_seconds() -> int:
    """How long a claim holds a sync request (an unavailability makes several calls)."""
    return int(getattr(settings, "PROGRAMS_SYNC_LEASE_SECONDS", 120))


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


def _apply_success(request: SyncRequest, answer, now) -> None:
    """Set the request's fields from the answer; the devices are written in ``_on_success``.

    Device kinds, current format: each device's status as the DERMS gave it (a device
    missing from the answer is an Error). Deprecated format (no per-device status): the
    message-level ack decides for every device, and the request is marked deprecated. The
    request ends acknowledged when the ack is positive and no device is in Error, else failed.
    Opt-outs and unavailability windows: acknowledged with the DERMS's answer.
    """
    if request.kind not in SyncRequest.DEVICE_KINDS:
        request.ack = "positive"
        request.response = answer
        return
    ack: SyncAck = answer
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
            device_answer = by_serial.get(item.device.serial_number.upper())
            if device_answer is None:
                item.result = Device.HeadEndStatus.ERROR
                item.message = "The DERMS did not report this device."
            else:
                item.result = HEAD_END[device_answer.head_end_status]
                item.message = device_answer.message or ("" if ack.positive else ack.reason[:300])
    request._answered_items = items  # type: ignore[attr-defined]  # written by _on_success if the claim is still ours
    errors = [i for i in items if i.result == Device.HeadEndStatus.ERROR]
    request.ack = "positive" if ack.positive else "negative"
    request.ack_format = (
        SyncRequest.AckFormat.DEPRECATED if ack.deprecated else SyncRequest.AckFormat.CURRENT
    )
    request.response = ack.raw
    if not (ack.positive and not errors):
        request.state = SyncRequest.State.FAILED
        request.last_error = (
            f"Negative acknowledgement: {ack.reason}"
            if not ack.positive
            else f"{len(errors)} of {len(items)} devices in Error at the head end."
        )


def _on_success(request: SyncRequest, answer) -> None:
    """Write each device's head-end flag (in the transaction that records the answer)."""
    items = getattr(request, "_answered_items", None)
    if items is None:
        return
    now = timezone.now()
    for item in items:
        item.save(update_fields=["result", "message"])
        device = item.device
        device.head_end_status = item.result
        device.head_end_message = item.message
        device.head_end_updated_at = now
        device.save(update_fields=["head_end_status", "head_end_message", "head_end_updated_at"])
    if request.ack_format == SyncRequest.AckFormat.DEPRECATED:
        logger.warning("programs.sync_request.deprecated_ack", extra={"sync_request": request.pk})


def _on_failure(request: SyncRequest) -> None:
    """The request failed for good: its devices show the error at the head end."""
    if request.kind in SyncRequest.DEVICE_KINDS:
        Device.objects.filter(sync_items__sync_request=request).update(
            head_end_status=Device.HeadEndStatus.ERROR,
            head_end_message=request.last_error[:300],
            head_end_updated_at=timezone.now(),
        )


def _enqueue(ids: list[int]) -> None:
    from programs.tasks import sync_requests_send

    sync_requests_send.delay(ids)


def _subject(request: SyncRequest) -> tuple[str, str]:
    enrollment = request.enrollment
    return (
        f"Program enrollment {enrollment.pk} ({request.get_kind_display()})",
        f"/programs/customers/{enrollment.customer_id}/",
    )


OUTBOX = engine.register(
    engine.Outbox(
        name="programs",
        label="DERMS (head end)",
        model=SyncRequest,
        deliver=_deliver,
        make_client=get_client,
        close_client=True,
        enqueue=_enqueue,
        permission="programs.change_syncrequest",
        apply_success=_apply_success,
        success_fields=("ack", "ack_format"),
        on_success=_on_success,
        on_failure=_on_failure,
        subject=_subject,
        select_related=("enrollment",),
        max_attempts=MAX_ATTEMPTS,
        backoff_base_seconds=backoff_base_seconds,
        lease_seconds=lease_seconds,
        batch_size=50,
        threads=1,  # _deliver reads the database (unavailability windows)
    )
)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour; never sooner than ``Retry-After``."""
    wait = OUTBOX.backoff_seconds(attempts)
    return timedelta(seconds=max(wait, float(retry_after)) if retry_after is not None else wait)


def sync_request_send(*, request_id: int, client: DermsClient | None = None) -> SyncRequest | None:
    """Send one due sync request; returns it in its new state (None if not due / taken)."""
    outcome = OUTBOX.send(request_id, client=client)
    if outcome == "skipped":
        return None
    return SyncRequest.objects.get(pk=request_id)


def sync_requests_send(*, request_ids: list[int], client: DermsClient | None = None) -> dict:
    """Send a batch of sync requests (those still due); ``{id: outcome}``."""
    return OUTBOX.send_batch(ids=request_ids, client=client)


def sync_requests_due(*, limit: int = 200) -> list[int]:
    """Sweeper: due queued / retrying requests and claims whose lease ran out."""
    return OUTBOX.due_ids(limit=limit)


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
