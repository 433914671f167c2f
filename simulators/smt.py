"""Smart Meter Texas simulator: the official API's contract on loopback (mounted at /smt).

- ``POST /v2/token/`` ``{"username","password"}`` -> bearer token (``expiresIn`` seconds);
  the password ``wrong`` is refused. Older certificate mode: HTTP Basic on each call.
- ``POST /v2/15minintervalreads/``, ``/v2/dailyreads/``, ``/v2/monthlybillingInformation/``
  with the common body (``requestorID`` must equal the token's username,
  ``requesterAuthenticationID`` a 9/13-digit DUNS).
- Data: deterministic synthetic load per ESIID (seasonal, daily shape, weekends), rooftop
  solar (surplus on channel G) for about a third of ESIIDs and the demo ESIID, estimated
  runs sprinkled, 24 months of history, one day of lag (data through yesterday in
  America/Chicago), 92/100 intervals on DST days. Days up to the day before yesterday carry
  the 11 PM settlement revision; yesterday only the noon post, so a refresh tomorrow sees
  yesterday revised. ``RD`` ends with the empty entries the real API pads with.
- Test controls under ``/_sim/``: ``no_data`` (ESIIDs that answer "No data received from
  the respective TDSP"), ``revise`` (a new revision of one day), ``token_ttl``, ``stats``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import secrets
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulators import clock
from simulators.faults import BOARD

CHICAGO = ZoneInfo("America/Chicago")
UTC = ZoneInfo("UTC")
DEMO_ESIID = "1008901023806680370100"
HISTORY_DAYS = 730
ESIID_RE = re.compile(r"^10\d{15}(\d{5})?$")
DUNS_RE = re.compile(r"^\d{9}(\d{4})?$")


class State:
    def __init__(self) -> None:
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (username, expires at)
        self.token_ttl = 3600
        self.no_data: set[str] = set()
        self.revisions: dict[tuple[str, date], int] = {}  # extra revisions of one day
        self.calls: dict[str, int] = {}
        self.today_override: date | None = None


STATE = State()


def reset() -> None:
    global STATE
    STATE = State()
    reset_agreements()  # the agreements section below


def _count(name: str) -> None:
    STATE.calls[name] = STATE.calls.get(name, 0) + 1


def today() -> date:
    return STATE.today_override or clock.today()


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def has_solar(esiid: str) -> bool:
    return esiid == DEMO_ESIID or _seed(esiid, "solar") % 3 == 0


def day_start_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHICAGO).astimezone(UTC)


def intervals_in_day(day: date) -> int:
    return int((day_start_utc(day + timedelta(days=1)) - day_start_utc(day)).total_seconds() // 900)


def revision_of(esiid: str, day: date) -> tuple[int, datetime]:
    """(revision number, revision time in America/Chicago) of a day as SMT has it now."""
    base = 1 if day <= today() - timedelta(days=2) else 0
    extra = STATE.revisions.get((esiid, day), 0)
    post = datetime(day.year, day.month, day.day, tzinfo=CHICAGO) + timedelta(days=1)
    at = post.replace(hour=23) if base else post.replace(hour=12)
    if extra:
        at = post + timedelta(days=1, hours=extra)
    return base + extra, at


def day_values(esiid: str, day: date) -> dict[str, list[tuple[float, str] | None]]:
    """The day's intervals per channel: (kWh, "A"|"E"), None where the meter sent nothing."""
    rev, _ = revision_of(esiid, day)
    profile = random.Random(_seed(esiid, "profile"))
    base_kw = 0.7 + profile.random() * 0.6
    cool = 0.25 + profile.random() * 0.2
    pv_kw = 4.0 + profile.random() * 3.0 if has_solar(esiid) else 0.0
    rng = random.Random(_seed(esiid, day.isoformat(), rev))
    doy = day.timetuple().tm_yday
    temp = 20 + 12 * math.cos(2 * math.pi * (doy - 200) / 365)  # deg C, peak mid-July
    clouds = 0.35 + 0.65 * rng.random()
    weekend = day.weekday() >= 5
    n = intervals_in_day(day)
    start = day_start_utc(day)
    # an estimated run on ~4% of days (the TDSP filled a gap), a lost interval on ~2%
    est_from = rng.randrange(n) if rng.random() < 0.04 else -1
    est_len = rng.randint(2, 8)
    missing = rng.randrange(n) if rng.random() < 0.02 else -1
    cons: list[tuple[float, str] | None] = []
    gen: list[tuple[float, str] | None] = []
    for i in range(n):
        local = (start + timedelta(minutes=15 * i)).astimezone(CHICAGO)
        h = local.hour + local.minute / 60
        shape = 0.65 + 0.35 * math.exp(-((h - 7.5) ** 2) / 2) + 0.8 * math.exp(-((h - 19) ** 2) / 6)
        if weekend:
            shape *= 1.1 if 9 <= h <= 22 else 1.0
        kw = base_kw * shape
        if temp > 22:  # air conditioning, afternoon heavy
            kw += cool * (temp - 22) * (0.5 + 0.5 * math.exp(-((h - 16.5) ** 2) / 10))
        elif temp < 12:  # heating, mornings and evenings
            kw += 0.2 * (12 - temp) * (0.6 + 0.4 * math.exp(-((h - 7) ** 2) / 4))
        kw *= 0.85 + 0.3 * rng.random()
        sun = max(0.0, math.sin(math.pi * (h - 6.5) / 13)) if 6.5 <= h <= 19.5 else 0.0
        pv = pv_kw * sun * clouds * (0.75 + 0.25 * math.cos(2 * math.pi * (doy - 172) / 365))
        flag = "E" if est_from >= 0 and est_from <= i < est_from + est_len else "A"
        if i == missing:
            cons.append(None)
            gen.append(None)
            continue
        cons.append((round(max(kw - pv, 0.0) / 4, 3), flag))
        gen.append((round(max(pv - kw, 0.0) / 4, 3), flag))
    out = {"C": cons}
    if pv_kw:
        out["G"] = gen
    return out


def _rd(values: list[tuple[float, str] | None]) -> str:
    parts = ["" if v is None else f"{v[0]:.3f}-{v[1]}" for v in values]
    return ",".join(parts) + ",,"  # the real API pads with empty entries


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def token(request: Request) -> JSONResponse:
    _count("token")
    try:
        body = await request.json()
    except ValueError:
        return _error("Body must be JSON.", 400)
    username, password = body.get("username"), body.get("password")
    if not username or not password:
        return _error("username and password are required.", 400)
    if password == "wrong":  # noqa: S105 - the simulator's refused password
        return _error("Incorrect username or password.", 401)
    value = secrets.token_urlsafe(24)
    now = time.time()
    STATE.tokens[value] = (username, now + STATE.token_ttl)
    issued = datetime.now(UTC)
    return JSONResponse(
        {
            "statusCode": "200",
            "accessToken": value,
            "tokenType": "Bearer",
            "expiresIn": str(STATE.token_ttl),
            "issuedAt": issued.isoformat(),
            "expiresAt": (issued + timedelta(seconds=STATE.token_ttl)).isoformat(),
        }
    )


def _caller(request: Request) -> tuple[str | None, JSONResponse | None]:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        entry = STATE.tokens.get(header[7:])
        if entry is None:
            return None, _error("Invalid token.", 401)
        if entry[1] < time.time():
            return None, _error("Token expired.", 401)
        return entry[0], None
    if header.startswith("Basic "):  # the older certificate + Basic mode
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None, _error("Incorrect username or password.", 401)
        if not user or not password or password == "wrong":  # noqa: S105
            return None, _error("Incorrect username or password.", 401)
        return user, None
    return None, _error("Basic authentication header is missing.", 403)


async def _business(request: Request, name: str):
    """Common checks of a data call; returns (body, esiid, start, end) or an error response."""
    _count(name)
    user, problem = _caller(request)
    if problem:
        return problem
    try:
        body = await request.json()
    except ValueError:
        return _error("Body must be JSON.", 400)
    if body.get("requestorID") != user:
        return _error("requestorID must match the authenticated service ID.", 403)
    if not DUNS_RE.match(str(body.get("requesterAuthenticationID", ""))):
        return JSONResponse({"errorCode": "3", "errorMessage": "Invalid requesterAuthenticationID"})
    esiids = body.get("esiid") or []
    if not isinstance(esiids, list) or len(esiids) != 1 or not ESIID_RE.match(str(esiids[0])):
        return JSONResponse({"errorCode": "2", "errorMessage": "Invalid ESIID"})
    try:
        start = datetime.strptime(body["startDate"], "%m/%d/%Y").date()
        end = datetime.strptime(body["endDate"], "%m/%d/%Y").date()
    except (KeyError, ValueError):
        return JSONResponse({"errorCode": "4", "errorMessage": "Invalid startDate/endDate"})
    esiid = esiids[0]
    first = max(start, today() - timedelta(days=HISTORY_DAYS))
    last = min(end, today() - timedelta(days=1))  # one day of lag
    if esiid in STATE.no_data or first > last:
        return JSONResponse(
            {"errorCode": "1", "errorMessage": "No data received from the respective TDSP"}
        )
    return body, esiid, first, last


def _days(first: date, last: date):
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


async def interval_reads(request: Request) -> JSONResponse:
    checked = await _business(request, "15minintervalreads")
    if isinstance(checked, JSONResponse):
        return checked
    body, esiid, first, last = checked
    wanted = str(body.get("readingType", "A")).upper()
    energy = []
    for day in _days(first, last):
        _, revised = revision_of(esiid, day)
        for rt, values in day_values(esiid, day).items():
            if wanted in ("A", rt):
                energy.append(
                    {
                        "DT": day.strftime("%m/%d/%Y"),
                        "RevTS": revised.strftime("%m/%d/%Y %H:%M:%S"),
                        "RT": rt,
                        "RD": _rd(values),
                    }
                )
    return JSONResponse({"trans_id": body.get("trans_id"), "esiid": esiid, "energyData": energy})


def _day_total(esiid: str, day: date) -> float:
    return round(sum(v[0] for v in day_values(esiid, day)["C"] if v is not None), 3)


async def daily_reads(request: Request) -> JSONResponse:
    checked = await _business(request, "dailyreads")
    if isinstance(checked, JSONResponse):
        return checked
    body, esiid, first, last = checked
    reading: float = 10000 + _seed(esiid, "meter") % 50000
    reads = []
    for day in _days(first, last):
        kwh = _day_total(esiid, day)
        _, revised = revision_of(esiid, day)
        reads.append(
            {
                "readDate": day.strftime("%m/%d/%Y"),
                "revisionDate": revised.strftime("%m/%d/%Y %H:%M:%S"),
                "startReading": f"{reading:.3f}",
                "endReading": f"{reading + kwh:.3f}",
                "energyDataKwh": f"{kwh:.3f}",
            }
        )
        reading += kwh
    return JSONResponse(
        {"trans_id": body.get("trans_id"), "esiid": esiid, "registeredReads": reads}
    )


async def monthly_reads(request: Request) -> JSONResponse:
    checked = await _business(request, "monthlybillingInformation")
    if isinstance(checked, JSONResponse):
        return checked
    body, esiid, first, last = checked
    months = []
    cur = date(first.year, first.month, 1)
    while cur <= last:
        nxt = date(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
        lo, hi = max(cur, first), min(nxt - timedelta(days=1), last)
        kwh = sum(_day_total(esiid, d) for d in _days(lo, hi))
        months.append(
            {
                "startDate": lo.strftime("%m/%d/%Y"),
                "endDate": hi.strftime("%m/%d/%Y"),
                "actlKwhUsg": f"{kwh:.3f}",
                "revisionDate": (hi + timedelta(days=2)).strftime("%m/%d/%Y 12:00:00"),
            }
        )
        cur = nxt
    return JSONResponse({"trans_id": body.get("trans_id"), "esiid": esiid, "billingData": months})


async def sim_control(request: Request) -> JSONResponse:
    """Test controls: ``no_data``, ``revise``, ``token_ttl``, ``today``, ``stats``."""
    what = request.path_params["what"]
    if what == "stats":
        return JSONResponse({"calls": STATE.calls, "tokens": len(STATE.tokens)})
    body = await request.json()
    if what == "no_data":
        STATE.no_data.add(body["esiid"])
    elif what == "revise":
        key = (body["esiid"], datetime.strptime(body["date"], "%m/%d/%Y").date())
        STATE.revisions[key] = STATE.revisions.get(key, 0) + 1
    elif what == "token_ttl":
        STATE.token_ttl = int(body["seconds"])
    elif what == "today":
        STATE.today_override = datetime.strptime(body["date"], "%m/%d/%Y").date()
    else:
        return _error("unknown control", 404)
    return JSONResponse({"ok": True})


routes = [
    Route("/v2/token/", token, methods=["POST"]),
    Route("/v2/15minintervalreads/", interval_reads, methods=["POST"]),
    Route("/v2/dailyreads/", daily_reads, methods=["POST"]),
    Route("/v2/monthlybillingInformation/", monthly_reads, methods=["POST"]),
    Route("/_sim/{what}", sim_control, methods=["GET", "POST"]),
]


# =============================================================================================
# Data-sharing agreements (CSP consent; SMT Data Access Interface Guide), added for authorizations/.
#
# - ``POST /v2/NewAgreement/`` with the common body plus ``customerEmail``,
#   ``agreementDuration`` (months, 1..36), ``customerLanguagePreference`` (ENGLISH|SPANISH)
#   and ``customerMeterList`` ``[{ESIID, meterNumber, PUCTRORNumber}]`` ->
#   ``{"trans_id","agreementNumber","statusCode":"0","statusReason"}``; SMT would now email
#   the customer.
# - ``POST /v2/myagreements/`` (optional ``agreementNumber``) -> ``{"agreements": [{
#   "agreementNumber","status","customerEmail","customerMeterList","startDate","endDate"}]}``
#   with status PENDING, ACTIVE, DECLINED, EXPIRED or TERMINATED.
# - ``POST /v2/Terminateagreement/`` ``{"agreementNumber"}``.
# The "customer" answers after ``approve_after_s`` seconds: approve (default), decline, or
# never (the request just sits pending); per-ESIID outcomes override the default. An approved
# agreement runs ``agreementDuration`` months from the approval day (or ``end_in_days`` when
# set), and is EXPIRED after its end date (simulated ``today``) or when expired on purpose.
# Controls under ``/_sim/agreements/``: ``config``, ``expire``, ``list``.
# Faults (``/_faults`` system ``smt``) apply to these paths like to every /smt/ path.
# =============================================================================================


class AgreementState:
    def __init__(self) -> None:
        self.approve_after_s = 2.0
        self.outcome = "approve"  # approve | decline | never
        self.outcomes: dict[str, str] = {}  # ESIID -> outcome
        self.end_in_days: int | None = None
        self.agreements: dict[str, dict] = {}
        self.seq = 0


AGREEMENTS = AgreementState()


def reset_agreements() -> None:
    global AGREEMENTS
    AGREEMENTS = AgreementState()


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for dd in (day.day, 30, 29, 28):
        try:
            return date(year, month, dd)
        except ValueError:
            continue
    raise ValueError(day)


def _agreement_view(a: dict) -> dict:
    """The agreement as SMT reports it now (the customer's answer arrives after the delay)."""
    now = time.time()
    status = "PENDING"
    start = end = None
    if a["terminated_at"] is not None:
        status = "TERMINATED"
    elif a["outcome"] != "never" and now >= a["answer_at"]:
        if a["outcome"] == "decline":
            status = "DECLINED"
        else:
            approved = datetime.fromtimestamp(a["answer_at"], CHICAGO).date()
            start = approved
            end = (
                approved + timedelta(days=a["end_in_days"])
                if a["end_in_days"] is not None
                else _add_months(approved, a["months"]) - timedelta(days=1)
            )
            status = "EXPIRED" if a["expired"] or today() > end else "ACTIVE"
    return {
        "agreementNumber": a["number"],
        "status": status,
        "customerEmail": a["email"],
        "customerLanguagePreference": a["language"],
        "agreementDuration": str(a["months"]),
        "customerMeterList": a["meters"],
        "startDate": start.strftime("%m/%d/%Y") if start else "",
        "endDate": end.strftime("%m/%d/%Y") if end else "",
        # not in SMT's answer: lets benches measure from the moment of approval
        "answeredAtEpoch": a["answer_at"] if status != "PENDING" else None,
    }


async def _agreement_call(request: Request, name: str):
    _count(name)
    user, problem = _caller(request)
    if problem:
        return problem
    try:
        body = await request.json()
    except ValueError:
        return _error("Body must be JSON.", 400)
    if not isinstance(body, dict):
        return _error("Body must be a JSON object.", 400)
    if body.get("requestorID") != user:
        return _error("requestorID must match the authenticated service ID.", 403)
    if not DUNS_RE.match(str(body.get("requesterAuthenticationID", ""))):
        return JSONResponse({"errorCode": "3", "errorMessage": "Invalid requesterAuthenticationID"})
    return body


async def new_agreement(request: Request) -> JSONResponse:
    body = await _agreement_call(request, "NewAgreement")
    if isinstance(body, JSONResponse):
        return body
    email = str(body.get("customerEmail") or "")
    if "@" not in email:
        return JSONResponse({"errorCode": "5", "errorMessage": "Invalid customerEmail"})
    try:
        months = int(body.get("agreementDuration"))
    except (TypeError, ValueError):
        months = 0
    if not 1 <= months <= 36:
        return JSONResponse({"errorCode": "6", "errorMessage": "Invalid agreementDuration"})
    language = str(body.get("customerLanguagePreference") or "")
    if language not in ("ENGLISH", "SPANISH"):
        return JSONResponse(
            {"errorCode": "7", "errorMessage": "Invalid customerLanguagePreference"}
        )
    meters = body.get("customerMeterList")
    if not isinstance(meters, list) or not meters:
        return JSONResponse({"errorCode": "8", "errorMessage": "customerMeterList is required"})
    for meter in meters:
        if not isinstance(meter, dict) or not ESIID_RE.match(str(meter.get("ESIID", ""))):
            return JSONResponse({"errorCode": "2", "errorMessage": "Invalid ESIID"})
        if not str(meter.get("meterNumber") or "").strip():
            return JSONResponse({"errorCode": "9", "errorMessage": "Invalid meterNumber"})
    AGREEMENTS.seq += 1
    number = f"AG{AGREEMENTS.seq:08d}"
    esiid = str(meters[0]["ESIID"])
    AGREEMENTS.agreements[number] = {
        "number": number,
        "email": email,
        "language": language,
        "months": months,
        "meters": [
            {"ESIID": str(m["ESIID"]), "meterNumber": str(m["meterNumber"])} for m in meters
        ],
        "outcome": AGREEMENTS.outcomes.get(esiid, AGREEMENTS.outcome),
        "answer_at": time.time() + AGREEMENTS.approve_after_s,
        "end_in_days": AGREEMENTS.end_in_days,
        "expired": False,
        "terminated_at": None,
    }
    return JSONResponse(
        {
            "trans_id": body.get("trans_id"),
            "agreementNumber": number,
            "statusCode": "0",
            "statusReason": "Agreement request submitted; the customer was emailed.",
        }
    )


async def my_agreements(request: Request) -> JSONResponse:
    body = await _agreement_call(request, "myagreements")
    if isinstance(body, JSONResponse):
        return body
    wanted = body.get("agreementNumber")
    items = [
        _agreement_view(a) for n, a in AGREEMENTS.agreements.items() if wanted in (None, "", n)
    ]
    return JSONResponse({"trans_id": body.get("trans_id"), "agreements": items})


async def terminate_agreement(request: Request) -> JSONResponse:
    body = await _agreement_call(request, "Terminateagreement")
    if isinstance(body, JSONResponse):
        return body
    agreement = AGREEMENTS.agreements.get(str(body.get("agreementNumber") or ""))
    if agreement is None:
        return JSONResponse({"errorCode": "10", "errorMessage": "Unknown agreementNumber"})
    if agreement["terminated_at"] is None:
        agreement["terminated_at"] = time.time()
    return JSONResponse(
        {"trans_id": body.get("trans_id"), "statusCode": "0", "statusReason": "Terminated"}
    )


async def agreements_control(request: Request) -> JSONResponse:
    """``config`` {approve_after_s, outcome, outcomes: {ESIID: outcome}, end_in_days},
    ``expire`` {agreementNumber}, ``list`` (every agreement as SMT reports it)."""
    what = request.path_params["what"]
    if what == "list":
        return JSONResponse(
            {"agreements": [_agreement_view(a) for a in AGREEMENTS.agreements.values()]}
        )
    body = await request.json()
    if what == "config":
        if "approve_after_s" in body:
            AGREEMENTS.approve_after_s = float(body["approve_after_s"])
        if "outcome" in body:
            AGREEMENTS.outcome = str(body["outcome"])
        for esiid, outcome in (body.get("outcomes") or {}).items():
            AGREEMENTS.outcomes[str(esiid)] = str(outcome)
        if "end_in_days" in body:
            value = body["end_in_days"]
            AGREEMENTS.end_in_days = None if value is None else int(value)
    elif what == "expire":
        agreement = AGREEMENTS.agreements.get(str(body.get("agreementNumber")))
        if agreement is None:
            return _error("unknown agreement", 404)
        agreement["expired"] = True
    else:
        return _error("unknown control", 404)
    return JSONResponse({"ok": True})


async def stats(request: Request) -> JSONResponse:
    """``GET /smt/_stats``: what SMT carried out (agreements created), apart from calls."""
    return JSONResponse(
        {
            "calls": STATE.calls,
            "carried_out": {
                "agreements_created": len(AGREEMENTS.agreements),
                "agreements_terminated": sum(
                    1 for a in AGREEMENTS.agreements.values() if a["terminated_at"] is not None
                ),
            },
            "faults": BOARD.counts("smt"),
        }
    )


routes += [
    Route("/_stats", stats, methods=["GET"]),
    Route("/v2/NewAgreement/", new_agreement, methods=["POST"]),
    Route("/v2/myagreements/", my_agreements, methods=["POST"]),
    Route("/v2/Terminateagreement/", terminate_agreement, methods=["POST"]),
    Route("/_sim/agreements/{what}", agreements_control, methods=["GET", "POST"]),
]
