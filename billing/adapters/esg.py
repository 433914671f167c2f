"""The ESG billing system port: a Protocol, the frozen dataclasses that cross it, and the
real httpx client. The REST contract is ours (ESG publishes none): docs/esg-contract.md.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import httpx
from django.conf import settings

from opsadmin.errors import (
    MalformedAnswerError,
    PermanentIntegrationError,
    TransientIntegrationError,
    retry_after_seconds,
)
from opsadmin.outbound import OutboundURLError, check_outbound_url

logger = logging.getLogger(__name__)

# pending -> accepted -> active (the switch / move-in completed: service started), or
# rejected (before acceptance, or at completion: switch hold, competing enrollment).
PROSPECT_STATUSES = ("pending", "accepted", "active", "rejected")
REQUEST_STATUSES = ("received", "completed")


@dataclass(frozen=True)
class ProspectAck:
    """The billing system has the prospect (Create Prospect answered)."""

    prospect_id: str
    status: str


@dataclass(frozen=True)
class ProspectStatus:
    prospect_id: str
    status: str  # 'pending' | 'accepted' | 'active' | 'rejected'
    billing_account_number: str | None
    reason: str
    service_start_date: date | None = None  # active only: the day service began


@dataclass(frozen=True)
class RequestStatus:
    """A service order (drop, move-out, cancel, plan change) as the billing system sees it."""

    request_id: str
    status: str  # 'received' | 'completed'
    service_end_date: date | None = None  # completed drops / move-outs: the final day


@dataclass(frozen=True)
class BillRecord:
    period_start: date
    period_end: date
    kwh: Decimal
    amount: Decimal
    due_date: date
    paid: bool


@dataclass(frozen=True)
class AccountBalance:
    balance: Decimal
    due_date: date | None


@dataclass(frozen=True)
class BillingCycle:
    """The account's open billing cycle (meter-read dates), both days inclusive."""

    start: date
    end: date


@dataclass(frozen=True)
class RequestAck:
    """A cancel or drop the billing system received."""

    request_id: str
    status: str


class EsgClient(Protocol):
    def create_prospect(self, payload: dict, idempotency_key: str) -> ProspectAck: ...

    def prospect_status(self, prospect_id: str) -> ProspectStatus: ...

    def request_status(self, request_id: str) -> RequestStatus: ...

    def billing_account_lookup(self, esiid: str) -> str | None: ...

    def bill_history(self, billing_account_number: str) -> list[BillRecord]: ...

    def account_balance(self, billing_account_number: str) -> AccountBalance: ...

    def billing_cycle(self, billing_account_number: str) -> BillingCycle: ...

    def submit_cancel(self, payload: dict, idempotency_key: str) -> RequestAck: ...

    def submit_drop(self, payload: dict, idempotency_key: str) -> RequestAck: ...

    def submit_plan_change(self, payload: dict, idempotency_key: str) -> RequestAck: ...

    def close(self) -> None: ...

    def __enter__(self) -> EsgClient: ...

    def __exit__(self, *exc: object) -> None: ...


def default_timeout() -> httpx.Timeout:
    """Connect fast or give up; reads get a little longer (the vendor is slow at month end)."""
    read = float(getattr(settings, "ESG_READ_TIMEOUT_SECONDS", 10.0))
    return httpx.Timeout(connect=3.0, read=read, write=5.0, pool=5.0)


class HttpEsgClient:
    """The ESG REST API over httpx (one pooled connection set per instance)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Accept": "application/json"}
            | ({"Authorization": f"Bearer {api_key}"} if api_key else {}),
            timeout=timeout or default_timeout(),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpEsgClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        params: dict | None = None,
        headers: dict | None = None,
        allow_404: bool = False,
    ) -> Any:
        try:
            response = self._client.request(method, path, json=json, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientIntegrationError(f"ESG {method} {path}: timed out") from exc
        except httpx.TransportError as exc:
            raise TransientIntegrationError(f"ESG {method} {path}: {type(exc).__name__}") from exc
        status = response.status_code
        if allow_404 and status == 404:
            return None
        if status >= 300:
            cause = httpx.HTTPStatusError(
                f"HTTP {status}", request=response.request, response=response
            )
            message = f"ESG {method} {path}: HTTP {status} {_error_text(response)}".rstrip()
            if status == 429 or status >= 500:
                wait = retry_after_seconds(response.headers.get("retry-after"))
                raise TransientIntegrationError(message, retry_after=wait) from cause
            # 3xx (redirects are not followed), 4xx: retrying will not help.
            raise PermanentIntegrationError(message) from cause
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedAnswerError(
                f"ESG {method} {path}: malformed answer (HTTP {status} with a body that is not "
                f"JSON: truncated or garbled)"
            ) from exc

    # -- operations ------------------------------------------------------------------
    def create_prospect(self, payload: dict, idempotency_key: str) -> ProspectAck:
        body = self._request(
            "POST", "/prospects", json=payload, headers={"Idempotency-Key": idempotency_key}
        )
        try:
            return ProspectAck(prospect_id=str(body["prospect_id"]), status=str(body["status"]))
        except (KeyError, TypeError) as exc:
            raise MalformedAnswerError(
                f"ESG Create Prospect: malformed answer ({_missing(body, 'prospect_id', 'status')})"
            ) from exc

    def prospect_status(self, prospect_id: str) -> ProspectStatus:
        body = self._request("GET", f"/prospects/{_segment(prospect_id)}")
        try:
            status = str(body["status"])
            if status not in PROSPECT_STATUSES:
                raise ValueError(status)
            started = body.get("service_start_date")
            if status == "active" and not started:
                raise ValueError("active without service_start_date")
            return ProspectStatus(
                prospect_id=str(body["prospect_id"]),
                status=status,
                billing_account_number=body.get("billing_account_number") or None,
                reason=str(body.get("reason") or ""),
                service_start_date=date.fromisoformat(started) if started else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedAnswerError("ESG prospect status: malformed answer") from exc

    def request_status(self, request_id: str) -> RequestStatus:
        body = self._request("GET", f"/requests/{_segment(request_id)}")
        try:
            status = str(body["status"])
            if status not in REQUEST_STATUSES:
                raise ValueError(status)
            ended = body.get("service_end_date")
            return RequestStatus(
                request_id=str(body["request_id"]),
                status=status,
                service_end_date=date.fromisoformat(ended) if ended else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentIntegrationError("ESG request status: malformed answer") from exc

    def billing_account_lookup(self, esiid: str) -> str | None:
        body = self._request("GET", "/billing-accounts", params={"esiid": esiid}, allow_404=True)
        if body is None:
            return None
        try:
            return str(body["billing_account_number"]) or None
        except (KeyError, TypeError) as exc:
            raise MalformedAnswerError("ESG billing account lookup: malformed answer") from exc

    def bill_history(self, billing_account_number: str) -> list[BillRecord]:
        body = self._request("GET", f"/accounts/{_segment(billing_account_number)}/bills")
        try:
            return [
                BillRecord(
                    period_start=date.fromisoformat(b["period_start"]),
                    period_end=date.fromisoformat(b["period_end"]),
                    kwh=Decimal(str(b["kwh"])),
                    amount=Decimal(str(b["amount"])),
                    due_date=date.fromisoformat(b["due_date"]),
                    paid=bool(b["paid"]),
                )
                for b in body["bills"]
            ]
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise MalformedAnswerError("ESG bill history: malformed answer") from exc

    def account_balance(self, billing_account_number: str) -> AccountBalance:
        body = self._request("GET", f"/accounts/{_segment(billing_account_number)}/balance")
        try:
            due = body.get("due_date")
            return AccountBalance(
                balance=Decimal(str(body["balance"])),
                due_date=date.fromisoformat(due) if due else None,
            )
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            raise MalformedAnswerError("ESG account balance: malformed answer") from exc

    def billing_cycle(self, billing_account_number: str) -> BillingCycle:
        body = self._request("GET", f"/accounts/{_segment(billing_account_number)}/cycle")
        try:
            cycle = BillingCycle(
                start=date.fromisoformat(body["cycle_start"]),
                end=date.fromisoformat(body["cycle_end"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PermanentIntegrationError("ESG billing cycle: malformed answer") from exc
        if cycle.end < cycle.start:
            raise PermanentIntegrationError("ESG billing cycle: ends before it starts")
        return cycle

    def _submit(self, path: str, payload: dict, idempotency_key: str) -> RequestAck:
        body = self._request(
            "POST", path, json=payload, headers={"Idempotency-Key": idempotency_key}
        )
        try:
            return RequestAck(request_id=str(body["request_id"]), status=str(body["status"]))
        except (KeyError, TypeError) as exc:
            raise MalformedAnswerError(
                f"ESG {path}: malformed answer ({_missing(body, 'request_id', 'status')})"
            ) from exc

    def submit_cancel(self, payload: dict, idempotency_key: str) -> RequestAck:
        return self._submit("/cancels", payload, idempotency_key)

    def submit_drop(self, payload: dict, idempotency_key: str) -> RequestAck:
        """Drop or move-out (``payload["kind"]`` is ``drop`` or ``move_out``)."""
        return self._submit("/drops", payload, idempotency_key)

    def submit_plan_change(self, payload: dict, idempotency_key: str) -> RequestAck:
        """The contract rolled to another plan (e.g. month-to-month at contract end)."""
        return self._submit("/plan-changes", payload, idempotency_key)


def _segment(value: str) -> str:
    """A path segment from an opaque id; refuse anything that could change the path."""
    value = str(value)
    if not value or any(ch in value for ch in "/?#%\\") or value in (".", ".."):
        raise PermanentIntegrationError("ESG: an identifier contains characters not allowed.")
    return value


def _missing(body: object, *fields: str) -> str:
    """Why an answer does not fit the contract, in words staff can act on."""
    if not isinstance(body, dict):
        return f"expected a JSON object, got {type(body).__name__}"
    absent = [f for f in fields if f not in body]
    return f"missing {', '.join(absent)}" if absent else "unexpected field types"


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])[:200]
    return ""


def esg_client() -> EsgClient:
    """The configured client (Configuration > Third Party Providers: ESG REST API URL/key).

    Raises ``PermanentIntegrationError`` when ESG is not configured or its URL is not allowed.
    """
    from opsadmin.models import ThirdPartyProvider

    provider = ThirdPartyProvider.load()
    url = provider.esg_api_url
    if not url:
        raise PermanentIntegrationError("The ESG REST API URL is not configured.")
    try:
        check_outbound_url(url)
    except OutboundURLError as exc:
        raise PermanentIntegrationError(f"ESG REST API URL refused: {exc}") from exc
    return HttpEsgClient(url, provider.esg_api_key or "")


_SHARED: dict[str, Any] = {"pid": None, "client": None, "config": None, "checked": 0.0}
SHARED_CONFIG_TTL_SECONDS = 30.0


def shared_esg_client() -> EsgClient:
    """A process-wide client for workers that send many requests (connection reuse: creating
    an httpx client costs ~40 ms). Configuration is re-read at most every 30 s, and a new
    client is built when it changed; a forked process never reuses its parent's client.
    Callers must not close it.
    """
    import time

    from opsadmin.models import ThirdPartyProvider

    now = time.monotonic()
    pid = os.getpid()
    if (
        _SHARED["pid"] == pid
        and _SHARED["client"] is not None
        and now - _SHARED["checked"] < SHARED_CONFIG_TTL_SECONDS
    ):
        return _SHARED["client"]
    provider = ThirdPartyProvider.load()
    config = (provider.esg_api_url, provider.esg_api_key)
    if _SHARED["pid"] != pid or _SHARED["client"] is None or _SHARED["config"] != config:
        client = esg_client()
        old = _SHARED["client"] if _SHARED["pid"] == pid else None
        _SHARED.update(pid=pid, client=client, config=config)
        if old is not None:
            old.close()
    _SHARED["checked"] = now
    return _SHARED["client"]


def shared_esg_client_reset() -> None:
    """Forget the shared client (tests that change the configuration call this)."""
    if _SHARED["client"] is not None and _SHARED["pid"] == os.getpid():
        _SHARED["client"].close()
    _SHARED.update(pid=None, client=None, config=None, checked=0.0)
