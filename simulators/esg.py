"""The ESG billing system, simulated: the REST contract of docs/esg-contract.md.

State lives in memory (one uvicorn process); ``reset()`` forgets it. Rules:

- Create Prospect honours ``Idempotency-Key``: the same key returns the same prospect (200),
  a new key creates one (201). ``GET /esg/_stats`` counts prospects and calls.
- A prospect is ``pending`` for ``pending_seconds`` (default 1.0; ``POST /esg/_config``),
  then ``accepted`` with a billing account number, or ``rejected`` when a rule says so:
  ESIID ending ``99999`` -> "Unknown ESIID", ending ``88888`` -> "Switch hold on the premise".
- After acceptance the switch or move-in completes on the requested start date of the
  simulated day (``/_clock``): the status becomes ``active`` with ``service_start_date``.
  ESIID ending ``77777`` -> the switch is ``rejected`` at completion instead ("a competing
  enrollment completed first"); ending ``66666`` -> it completes 2 days before the date
  requested (a TDSP finishing a move-in early).
- Drops, move-outs and cancels are service orders: ``GET /requests/{id}`` answers
  ``received`` until the requested date, then ``completed`` with ``service_end_date``
  (cancels complete at once). Plan changes (``POST /plan-changes``) complete at once.
- Billing account numbers are derived from the ESIID (``BA`` + 10 digits), so a lookup by
  ESIID works for history too; an ESIID ending ``99999`` has no account (404).
- Bill history: 24 monthly bills, deterministic per account, seasonal (Texas summer peak).
- Auth: ``Authorization: Bearer <key>``; any non-empty key is accepted unless
  ``ESG_SIM_API_KEY`` is set, then only that one.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import os
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulators import clock
from simulators.faults import BOARD

UNKNOWN_ESIID_SUFFIX = "99999"
SWITCH_HOLD_SUFFIX = "88888"
COMPETING_ENROLLMENT_SUFFIX = "77777"
EARLY_COMPLETION_SUFFIX = "66666"
EARLY_COMPLETION_DAYS = 2
DEFAULT_LEAD_DAYS = 3  # no requested date: the switch completes a few days after acceptance
COMPETING_REASON = (
    "Switch cancelled at completion: a competing enrollment by another REP completed first"
)
DEFAULT_PENDING_SECONDS = 1.0

REQUIRED_FIELDS = ("esiid", "utility", "plan_code", "customer", "service_address")


class State:
    def __init__(self) -> None:
        self.pending_seconds = DEFAULT_PENDING_SECONDS
        self.prospects: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}
        self.requests: dict[str, dict] = {}
        self.request_by_key: dict[str, str] = {}
        self.create_calls = 0
        self.replays = 0
        self.status_calls = 0
        self.lookup_calls = 0


STATE = State()


def reset() -> None:
    global STATE
    STATE = State()


def billing_account_number_for(esiid: str) -> str:
    digest = hashlib.sha256(f"esg-ban:{esiid}".encode()).hexdigest()
    return "BA" + str(int(digest[:15], 16))[-10:].rjust(10, "0")


def _rule_rejection(esiid: str) -> str:
    if esiid.endswith(UNKNOWN_ESIID_SUFFIX):
        return "Unknown ESIID"
    if esiid.endswith(SWITCH_HOLD_SUFFIX):
        return "Switch hold on the premise"
    return ""


def _unauthorized(request: Request) -> JSONResponse | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = os.environ.get("ESG_SIM_API_KEY", "")
    if scheme.lower() != "bearer" or not token or (expected and token != expected):
        return JSONResponse({"error": "missing or invalid bearer token"}, status_code=401)
    return None


def _completion_date(prospect: dict) -> date:
    """The day ERCOT completes the switch / move-in: the requested date (an early one for
    ESIIDs ending 66666), never before the day the prospect was accepted."""
    requested = prospect["requested_start"] or prospect["accepted_on"] + timedelta(
        days=DEFAULT_LEAD_DAYS
    )
    if prospect["esiid"].endswith(EARLY_COMPLETION_SUFFIX):
        requested -= timedelta(days=EARLY_COMPLETION_DAYS)
    return max(requested, prospect["accepted_on"])


def _prospect_view(prospect: dict) -> dict:
    status, reason, started = "pending", "", None
    if time.monotonic() - prospect["created"] >= STATE.pending_seconds:
        if prospect["accepted_on"] is None:
            prospect["accepted_on"] = clock.today()
        if prospect["reason"]:
            status, reason = "rejected", prospect["reason"]
        elif clock.today() < _completion_date(prospect):
            status = "accepted"
        elif prospect["esiid"].endswith(COMPETING_ENROLLMENT_SUFFIX):
            status, reason = "rejected", COMPETING_REASON
        else:
            status, started = "active", _completion_date(prospect)
    return {
        "prospect_id": prospect["prospect_id"],
        "status": status,
        "billing_account_number": prospect["ban"] if status in ("accepted", "active") else None,
        "reason": reason,
        "esiid": prospect["esiid"],
        "requested_start_date": _iso(prospect["requested_start"]),
        "service_start_date": _iso(started),
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _date_or_none(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def create_prospect(request: Request) -> JSONResponse:
    if denied := _unauthorized(request):
        return denied
    key = request.headers.get("idempotency-key", "").strip()
    if not key or len(key) > 200:
        return JSONResponse({"error": "Idempotency-Key header is required"}, status_code=400)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "body must be JSON"}, status_code=400)
    STATE.create_calls += 1
    if key in STATE.by_key:
        STATE.replays += 1
        prospect = STATE.prospects[STATE.by_key[key]]
        return JSONResponse(
            {"prospect_id": prospect["prospect_id"], "status": "pending"}, status_code=200
        )
    if not isinstance(body, dict):
        return JSONResponse({"error": "body must be a JSON object"}, status_code=422)
    missing = [f for f in REQUIRED_FIELDS if not body.get(f)]
    if missing:
        return JSONResponse({"error": f"missing fields: {', '.join(missing)}"}, status_code=422)
    esiid = str(body["esiid"])
    prospect_id = f"P{len(STATE.prospects) + 1:08d}"
    STATE.prospects[prospect_id] = {
        "prospect_id": prospect_id,
        "esiid": esiid,
        "key": key,
        "created": time.monotonic(),
        "reason": _rule_rejection(esiid),
        "ban": billing_account_number_for(esiid),
        "requested_start": _date_or_none(body.get("requested_start_date")),
        "accepted_on": None,
        "payload": body,
    }
    STATE.by_key[key] = prospect_id
    return JSONResponse({"prospect_id": prospect_id, "status": "pending"}, status_code=201)


async def prospect_status(request: Request) -> JSONResponse:
    if denied := _unauthorized(request):
        return denied
    STATE.status_calls += 1
    prospect = STATE.prospects.get(request.path_params["prospect_id"])
    if prospect is None:
        return JSONResponse({"error": "unknown prospect"}, status_code=404)
    return JSONResponse(_prospect_view(prospect))


async def billing_account_lookup(request: Request) -> JSONResponse:
    if denied := _unauthorized(request):
        return denied
    STATE.lookup_calls += 1
    esiid = request.query_params.get("esiid", "")
    if not esiid.isdigit():
        return JSONResponse({"error": "esiid is required (digits)"}, status_code=400)
    if esiid.endswith(UNKNOWN_ESIID_SUFFIX):
        return JSONResponse({"error": "no billing account for this ESIID"}, status_code=404)
    return JSONResponse(
        {"esiid": esiid, "billing_account_number": billing_account_number_for(esiid)}
    )


def _month_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def bills_for(ban: str, today: date | None = None, months: int = 24) -> list[dict]:
    """Deterministic seasonal monthly bills for the last ``months`` complete months."""
    today = today or clock.today()
    seed = int(hashlib.sha256(ban.encode()).hexdigest()[:8], 16)
    base = 700 + seed % 900  # average monthly kWh 700..1599
    bills = []
    for back in range(months, 0, -1):
        start = _month_back(today, back)
        end = date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
        # Texas: summer peak (July/August), a smaller winter bump, mild spring and fall.
        season = 0.45 * math.cos(2 * math.pi * (start.month - 7.5) / 12)
        season += 0.12 * math.cos(2 * math.pi * (start.month - 1) / 6)
        kwh = Decimal(base * (1 + season)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        amount = (kwh * Decimal("0.1390") + Decimal("9.95")).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
        due = end + timedelta(days=21)
        bills.append(
            {
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "kwh": str(kwh),
                "amount": str(amount),
                "due_date": due.isoformat(),
                "paid": due < today,
            }
        )
    return bills


def _valid_ban(ban: str) -> bool:
    return ban.startswith("BA") and ban[2:].isdigit() and len(ban) == 12


async def bill_history(request: Request) -> JSONResponse:
    if denied := _unauthorized(request):
        return denied
    ban = request.path_params["ban"]
    if not _valid_ban(ban):
        return JSONResponse({"error": "unknown billing account"}, status_code=404)
    return JSONResponse({"billing_account_number": ban, "bills": _served_bills(ban)})


def _served_bills(ban: str) -> list[dict]:
    """Bills only for the months we served the account, when a prospect of ours started it."""
    starts = [
        _completion_date(p)
        for p in STATE.prospects.values()
        if p["ban"] == ban and _prospect_view(p)["status"] == "active"
    ]
    bills = bills_for(ban)
    if starts:
        first = min(starts)
        bills = [b for b in bills if date.fromisoformat(b["period_start"]) >= first]
    return bills


async def account_balance(request: Request) -> JSONResponse:
    if denied := _unauthorized(request):
        return denied
    ban = request.path_params["ban"]
    if not _valid_ban(ban):
        return JSONResponse({"error": "unknown billing account"}, status_code=404)
    unpaid = [b for b in _served_bills(ban) if not b["paid"]]
    balance = sum((Decimal(b["amount"]) for b in unpaid), Decimal("0.00"))
    due = min((b["due_date"] for b in unpaid), default=None)
    return JSONResponse({"billing_account_number": ban, "balance": str(balance), "due_date": due})


def billing_cycle_for(ban: str, today: date | None = None) -> dict:
    """The account's current billing cycle: the calendar month holding ``today`` (the bills
    of :func:`bills_for` are whole calendar months, so the open cycle follows the last)."""
    today = today or clock.today()  # the simulated America/Chicago day
    start = today.replace(day=1)
    end = date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
    return {
        "billing_account_number": ban,
        "cycle_start": start.isoformat(),
        "cycle_end": end.isoformat(),
    }


async def billing_cycle(request: Request) -> JSONResponse:
    if denied := _unauthorized(request):
        return denied
    ban = request.path_params["ban"]
    if not _valid_ban(ban):
        return JSONResponse({"error": "unknown billing account"}, status_code=404)
    return JSONResponse(billing_cycle_for(ban))


def _submit(kind: str):
    async def endpoint(request: Request) -> JSONResponse:
        if denied := _unauthorized(request):
            return denied
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            return JSONResponse({"error": "Idempotency-Key header is required"}, status_code=400)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if key in STATE.request_by_key:
            return JSONResponse(
                {"request_id": STATE.request_by_key[key], "status": "received"}, status_code=200
            )
        if not isinstance(body, dict) or not body.get("esiid"):
            return JSONResponse({"error": "missing fields: esiid"}, status_code=422)
        if kind == "drop" and body.get("kind", "drop") not in ("drop", "move_out"):
            return JSONResponse({"error": "kind must be drop or move_out"}, status_code=422)
        request_id = f"{kind[0].upper()}R{len(STATE.requests) + 1:07d}"
        STATE.requests[request_id] = {
            "kind": kind,
            "key": key,
            "payload": body,
            "received_on": clock.today(),
        }
        STATE.request_by_key[key] = request_id
        return JSONResponse({"request_id": request_id, "status": "received"}, status_code=202)

    return endpoint


def _request_view(request_id: str, order: dict) -> dict:
    """A service order's state: drops and move-outs take effect on their requested date."""
    payload = order["payload"]
    effective = order["received_on"]
    if order["kind"] == "drop":
        effective = max(_date_or_none(payload.get("requested_date")) or effective, effective)
    completed = clock.today() >= effective
    return {
        "request_id": request_id,
        "kind": payload.get("kind", order["kind"]) if order["kind"] == "drop" else order["kind"],
        "status": "completed" if completed else "received",
        "service_end_date": effective.isoformat() if completed else None,
    }


async def request_status(request: Request) -> JSONResponse:
    if denied := _unauthorized(request):
        return denied
    STATE.status_calls += 1
    request_id = request.path_params["request_id"]
    order = STATE.requests.get(request_id)
    if order is None:
        return JSONResponse({"error": "unknown request"}, status_code=404)
    return JSONResponse(_request_view(request_id, order))


async def stats(request: Request) -> JSONResponse:
    """Test and bench helper: what the simulator has received."""
    return JSONResponse(
        {
            "prospects": len(STATE.prospects),
            "create_calls": STATE.create_calls,
            "replays": STATE.replays,
            "status_calls": STATE.status_calls,
            "lookup_calls": STATE.lookup_calls,
            "requests": len(STATE.requests),
            "cancels": sum(1 for r in STATE.requests.values() if r["kind"] == "cancel"),
            "drops": sum(1 for r in STATE.requests.values() if r["kind"] == "drop"),
            "plan_changes": sum(1 for r in STATE.requests.values() if r["kind"] == "plan_change"),
            "prospect_keys": {p["key"]: pid for pid, p in STATE.prospects.items()},
            "pending_seconds": STATE.pending_seconds,
            # what the billing system actually did, apart from the calls it received
            "carried_out": {
                "prospects_created": len(STATE.prospects),
                "drops": sum(1 for r in STATE.requests.values() if r["kind"] == "drop"),
                "cancels": sum(1 for r in STATE.requests.values() if r["kind"] == "cancel"),
            },
            "faults": BOARD.counts("esg"),
        }
    )


async def config(request: Request) -> JSONResponse:
    """``POST /esg/_config {"pending_seconds": 0.2}`` (tests make pending short or long)."""
    try:
        body = await request.json()
        seconds = float(body.get("pending_seconds", STATE.pending_seconds))
    except (ValueError, TypeError, AttributeError):
        return JSONResponse({"error": "pending_seconds must be a number"}, status_code=400)
    if seconds < 0:
        return JSONResponse({"error": "pending_seconds >= 0"}, status_code=400)
    STATE.pending_seconds = seconds
    return JSONResponse({"pending_seconds": seconds})


routes = [
    Route("/prospects", create_prospect, methods=["POST"]),
    Route("/prospects/{prospect_id}", prospect_status, methods=["GET"]),
    Route("/billing-accounts", billing_account_lookup, methods=["GET"]),
    Route("/accounts/{ban}/bills", bill_history, methods=["GET"]),
    Route("/accounts/{ban}/balance", account_balance, methods=["GET"]),
    Route("/accounts/{ban}/cycle", billing_cycle, methods=["GET"]),
    Route("/cancels", _submit("cancel"), methods=["POST"]),
    Route("/drops", _submit("drop"), methods=["POST"]),
    Route("/plan-changes", _submit("plan_change"), methods=["POST"]),
    Route("/requests/{request_id}", request_status, methods=["GET"]),
    Route("/_stats", stats, methods=["GET"]),
    Route("/_config", config, methods=["POST"]),
]
