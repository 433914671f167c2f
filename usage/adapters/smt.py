"""Smart Meter Texas (official API, services.smartmetertexas.net) behind a small port.

Contract (SMT Data Access Interface Guide; JWT upgrade of market notice SMT-M-A051425-10):
every call is ``POST`` with a JSON body carrying ``trans_id``, ``requestorID`` (the service
ID, equal to the username), ``requesterType`` and ``requesterAuthenticationID`` (the REP's
DUNS). Token mode: ``POST /v2/token/`` with ``{"username","password"}`` gives a bearer token
(``expiresIn`` seconds), cached until 60 s before it expires. Certificate mode (the older
one): mutual TLS with the registered certificate plus HTTP Basic credentials.

15-minute reads come back as one record per day and channel (``DT`` ``MM/DD/YYYY``, ``RT``
``C``/``G``, ``RevTS`` the revision time, ``RD`` values like ``0.61-A,0.05-E,,``): position
``i`` of ``RD`` is the interval starting ``i * 15 min`` after local midnight, so a DST day has
92 or 100 positions. Empty entries are dropped (their interval is missing).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings

from opsadmin import clock
from opsadmin.errors import (
    MalformedAnswerError,
    PermanentIntegrationError,
    TransientIntegrationError,
    retry_after_seconds,
)
from opsadmin.outbound import OutboundURLError, check_outbound_url

logger = logging.getLogger(__name__)

CHICAGO = clock.CHICAGO  # SMT speaks Central Time
UTC = ZoneInfo("UTC")
INTERVAL = timedelta(minutes=15)
TOKEN_MARGIN_S = 60  # refresh the bearer token this long before SMT says it expires
NO_DATA_CODES = {"1"}  # "No data received from the respective TDSP": not an error, no data


@dataclass(frozen=True)
class IntervalDayRecord:
    """One day of one channel: ``values[i]`` is kWh of interval i (None = missing)."""

    esiid: str
    day: date
    channel: str  # "C" consumption, "G" surplus generation
    values: tuple[Decimal | None, ...]
    estimated: tuple[bool, ...]
    revised_at: datetime

    def readings(self) -> list[IntervalReading]:
        start = datetime(self.day.year, self.day.month, self.day.day, tzinfo=CHICAGO)
        out = []
        for i, value in enumerate(self.values):
            if value is None:
                continue
            at = start.astimezone(UTC) + i * INTERVAL
            out.append(IntervalReading(at, self.channel, value, self.estimated[i]))
        return out


@dataclass(frozen=True)
class IntervalReading:
    start: datetime  # UTC
    channel: str
    kwh: Decimal
    estimated: bool


@dataclass(frozen=True)
class DailyRead:
    esiid: str
    day: date
    start_reading: Decimal | None
    end_reading: Decimal | None
    kwh: Decimal
    revised_at: datetime | None


@dataclass(frozen=True)
class MonthlyRead:
    esiid: str
    start: date
    end: date
    kwh: Decimal
    revised_at: datetime | None


class SmtPort(Protocol):
    def interval_reads(
        self, *, esiid: str, start: date, end: date, channel: str = "A"
    ) -> list[IntervalDayRecord]: ...

    def daily_reads(self, *, esiid: str, start: date, end: date) -> list[DailyRead]: ...

    def monthly_reads(self, *, esiid: str, start: date, end: date) -> list[MonthlyRead]: ...


@dataclass(frozen=True)
class SmtConfig:
    base_url: str
    username: str
    password: str
    duns: str
    requester_type: str
    auth_mode: str = "token"  # "token" | "certificate"
    certificate_name: str = ""
    timeout_s: float = 20.0
    max_days_per_request: int = 366


# Bearer tokens per (base_url, username), shared by the clients of one process.
_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    with _TOKENS_LOCK:
        _TOKENS.clear()


def _mmddyyyy(d: date) -> str:
    return d.strftime("%m/%d/%Y")


def _parse_date(text: str) -> date:
    return datetime.strptime(text.strip(), "%m/%d/%Y").date()


def _parse_revision(text: str | None) -> datetime | None:
    """SMT revision times are America/Chicago wall-clock times."""
    if not text:
        return None
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=CHICAGO)
        except ValueError:
            continue
    raise PermanentIntegrationError(f"SMT sent an unreadable revision time {text!r}")


def _decimal(text) -> Decimal:
    try:
        return Decimal(str(text).strip())
    except (InvalidOperation, ValueError) as exc:
        raise PermanentIntegrationError(f"SMT sent an unreadable kWh value {text!r}") from exc


def parse_rd(rd: str) -> tuple[tuple[Decimal | None, ...], tuple[bool, ...]]:
    """``"0.61-A,0.05-E,,"`` -> values and estimated flags by position; empty -> None."""
    values: list[Decimal | None] = []
    estimated: list[bool] = []
    parts = rd.split(",") if rd else []
    # the API pads the string with empty entries; trailing ones are not intervals at all
    while parts and not parts[-1].strip():
        parts.pop()
    for raw in parts:
        item = raw.strip()
        if not item:
            values.append(None)
            estimated.append(False)
            continue
        number, _, flag = item.rpartition("-")
        if not number:  # no suffix at all
            number, flag = item, "A"
        flag = flag.upper()
        if flag not in ("A", "E"):
            raise PermanentIntegrationError(f"SMT sent an unknown quality flag in {item!r}")
        values.append(_decimal(number))
        estimated.append(flag == "E")
    return tuple(values), tuple(estimated)


class SmtClient:
    """The real SMT client over httpx (one instance per pull; tokens are cached per process)."""

    def __init__(self, config: SmtConfig, *, transport: httpx.BaseTransport | None = None):
        try:
            check_outbound_url(config.base_url)
        except OutboundURLError as exc:
            raise PermanentIntegrationError(f"SMT API URL refused: {exc}") from exc
        self.config = config
        kwargs: dict = {
            "base_url": config.base_url.rstrip("/"),
            "timeout": httpx.Timeout(config.timeout_s, connect=5.0),
            "follow_redirects": False,
            "headers": {"Accept": "application/json"},
        }
        if config.auth_mode == "certificate":
            cert = Path(getattr(settings, "SMT_CERT_DIR", settings.BASE_DIR / ".local" / "smt"))
            certfile = cert / f"{config.certificate_name}.crt"
            keyfile = cert / f"{config.certificate_name}.key"
            if config.base_url.startswith("https"):
                if not (config.certificate_name and certfile.exists() and keyfile.exists()):
                    raise PermanentIntegrationError(
                        "SMT certificate mode needs the registered certificate and key."
                    )
                kwargs["cert"] = (str(certfile), str(keyfile))
            kwargs["auth"] = httpx.BasicAuth(config.username, config.password)
        if transport is not None:
            kwargs["transport"] = transport
        self.http = httpx.Client(**kwargs)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SmtClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- auth -------------------------------------------------------------------------
    def _token(self, *, fresh: bool = False) -> str:
        key = (self.config.base_url, self.config.username)
        now = time.time()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached and not fresh and cached[1] - TOKEN_MARGIN_S > now:
                return cached[0]
        response = self._send(
            "/v2/token/",
            {"username": self.config.username, "password": self.config.password},
            auth=False,
        )
        body = self._json(response)
        token = body.get("accessToken")
        if not token:
            raise MalformedAnswerError("SMT token response had no accessToken")
        try:
            expires_in = float(body.get("expiresIn", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        with _TOKENS_LOCK:
            _TOKENS[key] = (token, now + expires_in)
        return token

    def _send(self, path: str, payload: dict, *, auth: bool = True, bearer: str | None = None):
        headers = {}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            return self.http.post(path, json=payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientIntegrationError(f"SMT timed out on {path}") from exc
        except httpx.TransportError as exc:
            raise TransientIntegrationError(f"SMT unreachable on {path}: {exc}") from exc

    def _json(self, response: httpx.Response) -> dict:
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientIntegrationError(
                f"SMT answered {status}",
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        if 300 <= status < 400:
            raise PermanentIntegrationError(f"SMT redirected ({status}); check the API URL")
        try:
            body = response.json()
        except ValueError as exc:
            # e.g. the CDN's HTML "Access Denied" page, or a truncated body
            if status < 300:
                raise MalformedAnswerError(
                    f"SMT answered {status} with a malformed body (not JSON: truncated or garbled)"
                ) from exc
            raise PermanentIntegrationError(
                f"SMT answered {status} with a malformed body (not JSON: truncated or garbled)"
            ) from exc
        if status >= 400:
            message = (
                body.get("error") or body.get("errorMessage") or ""
                if isinstance(body, dict)
                else ""
            )
            raise PermanentIntegrationError(f"SMT refused ({status}): {message}".strip())
        if not isinstance(body, dict):
            raise MalformedAnswerError("SMT answered with JSON that is not an object")
        return body

    def _call(self, path: str, payload: dict) -> dict | None:
        """POST an authenticated business call; None when SMT says it has no data."""
        base = {
            "trans_id": uuid.uuid4().hex[:20],
            "requestorID": self.config.username,
            "requesterType": self.config.requester_type,
            "requesterAuthenticationID": self.config.duns,
            "reportFormat": "JSON",
            "SMTTermsandConditions": "Y",
        }
        body_out = {**base, **payload}
        if self.config.auth_mode == "token":
            response = self._send(path, body_out, bearer=self._token())
            if response.status_code == 401:  # expired or revoked early: one fresh token
                response = self._send(path, body_out, bearer=self._token(fresh=True))
        else:
            response = self._send(path, body_out)
        body = self._json(response)
        code = body.get("errorCode")
        if code not in (None, "", "0", 0):
            if str(code) in NO_DATA_CODES:
                return None
            raise PermanentIntegrationError(
                f"SMT error {code}: {body.get('errorMessage', '')}".strip()
            )
        return body

    def _chunks(self, start: date, end: date):
        step = timedelta(days=self.config.max_days_per_request)
        cur = start
        while cur <= end:
            last = min(end, cur + step - timedelta(days=1))
            yield cur, last
            cur = last + timedelta(days=1)

    # --- reads ------------------------------------------------------------------------
    def interval_reads(
        self, *, esiid: str, start: date, end: date, channel: str = "A"
    ) -> list[IntervalDayRecord]:
        """15-minute reads, latest revision, for ``start..end`` (America/Chicago days)."""
        records: list[IntervalDayRecord] = []
        for first, last in self._chunks(start, end):
            body = self._call(
                "/v2/15minintervalreads/",
                {
                    "startDate": _mmddyyyy(first),
                    "endDate": _mmddyyyy(last),
                    "version": "L",
                    "readingType": channel,
                    "esiid": [esiid],
                },
            )
            if body is None:
                continue
            for item in body.get("energyData") or []:
                try:
                    day = _parse_date(item["DT"])
                    rt = str(item.get("RT", "C")).upper()
                    rd = item.get("RD") or ""
                except (KeyError, TypeError, ValueError) as exc:
                    raise MalformedAnswerError("SMT sent a malformed energyData entry") from exc
                if rt not in ("C", "G"):
                    raise PermanentIntegrationError(f"SMT sent an unknown reading type {rt!r}")
                values, estimated = parse_rd(rd)
                if not any(v is not None for v in values):
                    continue  # an empty record carries nothing
                revised = _parse_revision(item.get("RevTS")) or datetime(
                    day.year, day.month, day.day, tzinfo=CHICAGO
                ) + timedelta(days=1)
                records.append(
                    IntervalDayRecord(
                        esiid=str(item.get("esiid") or body.get("esiid") or esiid),
                        day=day,
                        channel=rt,
                        values=values,
                        estimated=estimated,
                        revised_at=revised,
                    )
                )
        return records

    def daily_reads(self, *, esiid: str, start: date, end: date) -> list[DailyRead]:
        out: list[DailyRead] = []
        for first, last in self._chunks(start, end):
            body = self._call(
                "/v2/dailyreads/",
                {"startDate": _mmddyyyy(first), "endDate": _mmddyyyy(last), "esiid": [esiid]},
            )
            if body is None:
                continue
            for item in body.get("registeredReads") or []:
                try:
                    kwh = item.get("energyDataKwh")
                    if kwh in (None, ""):
                        continue
                    out.append(
                        DailyRead(
                            esiid=str(body.get("esiid") or esiid),
                            day=_parse_date(item["readDate"]),
                            start_reading=_decimal(item["startReading"])
                            if item.get("startReading") not in (None, "")
                            else None,
                            end_reading=_decimal(item["endReading"])
                            if item.get("endReading") not in (None, "")
                            else None,
                            kwh=_decimal(kwh),
                            revised_at=_parse_revision(item.get("revisionDate")),
                        )
                    )
                except (KeyError, TypeError) as exc:
                    raise MalformedAnswerError("SMT sent a malformed daily read") from exc
        return out

    def monthly_reads(self, *, esiid: str, start: date, end: date) -> list[MonthlyRead]:
        body = self._call(
            "/v2/monthlybillingInformation/",
            {"startDate": _mmddyyyy(start), "endDate": _mmddyyyy(end), "esiid": [esiid]},
        )
        if body is None:
            return []
        out = []
        for item in body.get("billingData") or []:
            try:
                kwh = item.get("actlKwhUsg")
                if kwh in (None, ""):
                    continue
                out.append(
                    MonthlyRead(
                        esiid=str(body.get("esiid") or esiid),
                        start=_parse_date(item["startDate"]),
                        end=_parse_date(item["endDate"]),
                        kwh=_decimal(kwh),
                        revised_at=_parse_revision(item.get("revisionDate")),
                    )
                )
            except (KeyError, TypeError) as exc:
                raise MalformedAnswerError("SMT sent a malformed monthly read") from exc
        return out

    # --- data-sharing agreements (added for authorizations/; see the end of the module) --
    def agreement_create(
        self,
        *,
        esiid: str,
        meter_number: str,
        email: str,
        language: str,
        duration_months: int,
        puct_ror_number: str = "",
    ) -> str:
        """``/v2/NewAgreement/``: SMT emails the customer, who approves or declines there.

        Returns SMT's agreement number. ``language`` is ``en``/``es``. Not idempotent (SMT's
        ``trans_id`` is no idempotency key): the caller records the number before retrying.
        """
        body = self._call(
            "/v2/NewAgreement/",
            {
                "customerEmail": email,
                "agreementDuration": str(int(duration_months)),
                "customerLanguagePreference": "SPANISH" if language == "es" else "ENGLISH",
                "customerMeterList": [
                    {"ESIID": esiid, "meterNumber": meter_number, "PUCTRORNumber": puct_ror_number}
                ],
            },
        )
        number = (body or {}).get("agreementNumber")
        if not number:
            raise MalformedAnswerError("SMT accepted the agreement without a number")
        return str(number)

    def agreement_get(self, *, number: str) -> Agreement:
        """``/v2/myagreements/`` narrowed to one agreement number."""
        body = self._call("/v2/myagreements/", {"agreementNumber": number})
        for item in (body or {}).get("agreements") or []:
            if isinstance(item, dict) and str(item.get("agreementNumber")) == number:
                return _agreement_from(item)
        raise PermanentIntegrationError(f"SMT does not know agreement {number}")

    def agreement_terminate(self, *, number: str) -> None:
        """``/v2/Terminateagreement/``: stop sharing now (the customer withdrew consent)."""
        self._call("/v2/Terminateagreement/", {"agreementNumber": number})

    def agreements_list(self) -> list[Agreement]:
        """``/v2/myagreements/`` without a number: every agreement this REP requested (used
        to find one whose NewAgreement answer was lost before asking again)."""
        body = self._call("/v2/myagreements/", {})
        items = (body or {}).get("agreements", [] if body is None else None)
        if not isinstance(items, list):
            raise MalformedAnswerError("SMT sent a malformed agreement list")
        return [_agreement_from(item) for item in items if isinstance(item, dict)]


def smt_config() -> SmtConfig | None:
    """The SMT configuration from Third Party Providers; None when SMT is not enabled."""
    from opsadmin.models import ThirdPartyProvider

    provider = ThirdPartyProvider.load()
    if not provider.smt_enabled or not provider.smt_api_url:
        return None
    return SmtConfig(
        base_url=provider.smt_api_url,
        username=provider.smt_username,
        password=provider.smt_password,
        duns=provider.smt_duns_number,
        requester_type=provider.smt_requester_type,
        auth_mode=provider.smt_auth_mode,
        certificate_name=provider.smt_certificate_name,
        timeout_s=float(getattr(settings, "SMT_READ_TIMEOUT_SECONDS", 20.0)),
    )


def smt_client() -> SmtClient:
    """The configured client; PermanentIntegrationError when SMT is off or misconfigured."""
    config = smt_config()
    if config is None:
        raise PermanentIntegrationError("Smart Meter Texas is not enabled.")
    return SmtClient(config)


# --- data-sharing agreements (CSP consent; SMT Data Access Interface Guide) -----------------------------
# Added for authorizations/: a shopper or a prospect is not yet our customer, so we read
# their usage only under an SMT agreement that they approve from SMT's email. The existing
# methods above are unchanged.

AGREEMENT_STATUSES = ("PENDING", "ACTIVE", "DECLINED", "EXPIRED", "TERMINATED")


@dataclass(frozen=True)
class Agreement:
    number: str
    status: str  # one of AGREEMENT_STATUSES
    esiids: tuple[str, ...]
    start: date | None
    end: date | None  # last day SMT will share data under this agreement
    email: str = ""
    meter_numbers: tuple[str, ...] = ()


class SmtAgreementPort(Protocol):
    def agreement_create(
        self,
        *,
        esiid: str,
        meter_number: str,
        email: str,
        language: str,
        duration_months: int,
        puct_ror_number: str = "",
    ) -> str: ...

    def agreement_get(self, *, number: str) -> Agreement: ...

    def agreement_terminate(self, *, number: str) -> None: ...

    def agreements_list(self) -> list[Agreement]: ...


def _optional_date(text) -> date | None:
    if text in (None, ""):
        return None
    try:
        return _parse_date(str(text))
    except ValueError as exc:
        raise PermanentIntegrationError(f"SMT sent an unreadable date {text!r}") from exc


def _agreement_from(item: dict) -> Agreement:
    try:
        number = str(item["agreementNumber"])
        status = str(item["status"]).upper()
    except (KeyError, TypeError) as exc:
        raise MalformedAnswerError("SMT sent a malformed agreement") from exc
    if status not in AGREEMENT_STATUSES:
        raise MalformedAnswerError(f"SMT sent an unknown agreement status {status!r}")
    meters = item.get("customerMeterList") or []
    if not isinstance(meters, list):
        raise MalformedAnswerError("SMT sent a malformed agreement (customerMeterList)")
    esiids = tuple(str(m.get("ESIID", "")) for m in meters if isinstance(m, dict))
    return Agreement(
        number=number,
        status=status,
        esiids=esiids,
        start=_optional_date(item.get("startDate")),
        end=_optional_date(item.get("endDate")),
        email=str(item.get("customerEmail") or ""),
        meter_numbers=tuple(str(m.get("meterNumber", "")) for m in meters if isinstance(m, dict)),
    )
