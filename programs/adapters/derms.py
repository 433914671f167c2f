"""The DERMS / head end behind a port: a Protocol, what crosses it, and the httpx client.

HTTP contract (the simulator in ``simulators/derms.py`` speaks it):

- ``POST {base}/v1/customer-asset-sync`` — an enroll / unenroll / replace message with its
  devices. The answer, in the same response, is the acknowledgement::

      {"message_id": ..., "ack": "positive"|"negative", "reason": "...",
       "devices": [{"serial_number": ..., "head_end_status": "Registered"|"De-registered"|"Error",
                    "message": "..."}]}

  The older acknowledgement has no ``devices`` list; it is still accepted and reported as
  deprecated (``SyncAck.deprecated``).
- ``POST {base}/v1/events/{event_id}/opt-outs`` ``{"serial_number": ...}`` — 200, or 409 when
  the event has started.
- ``PUT {base}/v1/devices/{serial}/unavailability/{window_id}`` ``{"starts_at", "ends_at"}`` and
  ``DELETE`` the same path (idempotent).
- ``GET {base}/v1/events?updated_since=ISO`` — events and their device reservations.

Every call carries ``Authorization: Bearer <key>``; the sync carries ``Idempotency-Key``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx

from opsadmin.errors import (
    MalformedAnswerError,
    PermanentIntegrationError,
    TransientIntegrationError,
    retry_after_seconds,
)
from opsadmin.outbound import OutboundURLError, check_outbound_url

HEAD_END_STATUSES = ("Registered", "De-registered", "Error")


def default_timeout() -> httpx.Timeout:
    """Connect fast or give up; reads wait ``DERMS_READ_TIMEOUT_SECONDS`` between bytes."""
    from django.conf import settings

    read = float(getattr(settings, "DERMS_READ_TIMEOUT_SECONDS", 10.0))
    return httpx.Timeout(10.0, connect=3.0, read=read)


@dataclass(frozen=True)
class DeviceAck:
    serial_number: str
    head_end_status: str  # Registered | De-registered | Error
    message: str = ""


@dataclass(frozen=True)
class SyncAck:
    message_id: str
    positive: bool
    reason: str = ""
    devices: tuple[DeviceAck, ...] = ()
    deprecated: bool = False  # the older acknowledgement without per-device status
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EventReservation:
    serial_number: str
    status: str  # reserved | opted_out | released


@dataclass(frozen=True)
class DermsEvent:
    event_id: str
    program_code: str
    starts_at: datetime
    ends_at: datetime
    status: str
    reservations: tuple[EventReservation, ...]


class DermsClient(Protocol):
    def sync(self, *, message: dict, idempotency_key: str) -> SyncAck: ...

    def opt_out(self, *, event_id: str, serial_number: str) -> dict: ...

    def unavailability_put(
        self, *, serial_number: str, window_id: str, starts_at: str, ends_at: str
    ) -> dict: ...

    def unavailability_delete(self, *, serial_number: str, window_id: str) -> None: ...

    def events_list(self, *, updated_since: datetime | None = None) -> list[DermsEvent]: ...


def parse_ack(data: object) -> SyncAck:
    """Read an acknowledgement (current or deprecated format); malformed -> permanent error."""
    if not isinstance(data, dict) or data.get("ack") not in ("positive", "negative"):
        raise MalformedAnswerError("DERMS acknowledgement is malformed (no ack).")
    raw_devices = data.get("devices")
    devices: list[DeviceAck] = []
    if raw_devices is not None:
        if not isinstance(raw_devices, list):
            raise MalformedAnswerError("DERMS acknowledgement devices is not a list.")
        for item in raw_devices:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("serial_number"), str)
                or item.get("head_end_status") not in HEAD_END_STATUSES
            ):
                raise MalformedAnswerError("DERMS acknowledgement has a malformed device.")
            devices.append(
                DeviceAck(
                    serial_number=item["serial_number"],
                    head_end_status=item["head_end_status"],
                    message=str(item.get("message") or "")[:300],
                )
            )
    return SyncAck(
        message_id=str(data.get("message_id") or ""),
        positive=data["ack"] == "positive",
        reason=str(data.get("reason") or "")[:500],
        devices=tuple(devices),
        deprecated=raw_devices is None,
        raw=data,
    )


def _parse_dt(value: object) -> datetime:
    if not isinstance(value, str):
        raise MalformedAnswerError("DERMS event has a malformed time.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedAnswerError("DERMS event has a malformed time.") from exc
    if parsed.tzinfo is None:
        raise MalformedAnswerError("DERMS event time has no time zone.")
    return parsed


def parse_events(data: object) -> list[DermsEvent]:
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise MalformedAnswerError("DERMS events answer is malformed.")
    events = []
    for item in data["events"]:
        if not isinstance(item, dict) or not item.get("event_id") or not item.get("program"):
            raise MalformedAnswerError("DERMS event is malformed.")
        reservations = tuple(
            EventReservation(serial_number=str(r["serial_number"]), status=str(r["status"]))
            for r in item.get("reservations") or []
            if isinstance(r, dict) and r.get("serial_number") and r.get("status")
        )
        events.append(
            DermsEvent(
                event_id=str(item["event_id"]),
                program_code=str(item["program"]),
                starts_at=_parse_dt(item.get("starts_at")),
                ends_at=_parse_dt(item.get("ends_at")),
                status=str(item.get("status") or "scheduled"),
                reservations=reservations,
            )
        )
    return events


class HttpDermsClient:
    """The real client: httpx with an explicit timeout, no redirects."""

    def __init__(
        self, *, base_url: str, api_key: str, transport: httpx.BaseTransport | None = None
    ):
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=default_timeout(),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransientIntegrationError(f"DERMS timed out ({method} {path}).") from exc
        except httpx.TransportError as exc:
            raise TransientIntegrationError(
                f"DERMS unreachable ({exc.__class__.__name__})."
            ) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientIntegrationError(
                f"DERMS answered {status} to {method} {path}.",
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        if status >= 300:
            raise PermanentIntegrationError(
                f"DERMS answered {status} to {method} {path}: {_error_text(response)}"
            )
        return response

    def _json(self, response: httpx.Response) -> object:
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedAnswerError(
                f"DERMS acknowledgement is malformed: HTTP {response.status_code} with a body "
                "that is not JSON (truncated or garbled)."
            ) from exc

    def sync(self, *, message: dict, idempotency_key: str) -> SyncAck:
        response = self._request(
            "POST",
            "/v1/customer-asset-sync",
            json=message,
            headers={"Idempotency-Key": idempotency_key},
        )
        return parse_ack(self._json(response))

    def opt_out(self, *, event_id: str, serial_number: str) -> dict:
        response = self._request(
            "POST", f"/v1/events/{event_id}/opt-outs", json={"serial_number": serial_number}
        )
        data = self._json(response)
        return data if isinstance(data, dict) else {}

    def unavailability_put(
        self, *, serial_number: str, window_id: str, starts_at: str, ends_at: str
    ) -> dict:
        response = self._request(
            "PUT",
            f"/v1/devices/{serial_number}/unavailability/{window_id}",
            json={"starts_at": starts_at, "ends_at": ends_at},
        )
        data = self._json(response)
        return data if isinstance(data, dict) else {}

    def unavailability_delete(self, *, serial_number: str, window_id: str) -> None:
        try:
            self._request("DELETE", f"/v1/devices/{serial_number}/unavailability/{window_id}")
        except PermanentIntegrationError as exc:
            if "answered 404" not in str(exc):  # already gone: the goal is reached
                raise

    def events_list(self, *, updated_since: datetime | None = None) -> list[DermsEvent]:
        params = {"updated_since": updated_since.isoformat()} if updated_since else {}
        return parse_events(self._json(self._request("GET", "/v1/events", params=params)))


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])[:300]
    return response.text[:200]


def get_client() -> DermsClient:
    """The configured DERMS client (Configuration > Third Party Providers)."""
    from opsadmin.models import ThirdPartyProvider

    provider = ThirdPartyProvider.load()
    if not provider.derms_api_url:
        raise PermanentIntegrationError("The DERMS sync URL is not configured.")
    try:
        url = check_outbound_url(provider.derms_api_url)
    except OutboundURLError as exc:
        raise PermanentIntegrationError(f"The DERMS sync URL is not allowed: {exc}") from exc
    return HttpDermsClient(base_url=url, api_key=provider.derms_api_key or "")
