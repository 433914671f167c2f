"""The ESG billing system, simulated: the REST contract of docs/esg-contract.md.

State lives in memory (one uvicorn process); ``reset()`` forgets it. Rules:

- Create Prospect honours ``Idempotency-Key``: the same key returns the same prospect (200),
  a new key creates one (201). ``GET /esg/_stats`` counts prospects and calls.
- A prospect is ``pending`` for ``pending_seconds`` (default 1.0; ``POST /esg/_config``),
  then ``accepted`` with a billing account number, or ``rejected`` when a rule says so:
  ESIID ending ``99999`` -> "Unknown ESIID", ending ``88888`` -> "Switch hold on the premise".
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

from simulators.faults import BOARD

UNKNOWN_ESIID_SUFFIX = "99999"
SWITCH_HOLD_SUFFIX = "88888"
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


def _prospect_view(prospect: dict) -> dict:
    status = "pending"
    if time.monotonic() - prospect["created"] >= STATE.pending_seconds:
        status = "rejected" if prospect["reason"] else "accepted"
    return {
        "prospect_id": prospect["prospect_id"],
        "status": status,
        "billing_account_number": prospect["ban"] if status == "accepted" else None,
        "reason": prospect["reason"] if status == "rejected" else "",
        "esiid": prospect["esiid"],
    }


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
    today = today or date.today()
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
    return JSONResponse({"billing_account_number": ban, "bills": bills_for(ban)})


async def account_balance(request: Request) -> JSONResponse:
    if denied := _unauthorized(request):
        return denied
    ban = request.path_params["ban"]
    if not _valid_ban(ban):
        return JSONResponse({"error": "unknown billing account"}, status_code=404)
    unpaid = [b for b in bills_for(ban) if not b["paid"]]
    balance = sum((Decimal(b["amount"]) for b in unpaid), Decimal("0.00"))
    due = min((b["due_date"] for b in unpaid), default=None)
    return JSONResponse({"billing_account_number": ban, "balance": str(balance), "due_date": due})


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
        STATE.requests[request_id] = {"kind": kind, "key": key, "payload": body}
        STATE.request_by_key[key] = request_id
        return JSONResponse({"request_id": request_id, "status": "received"}, status_code=202)

    return endpoint


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
    Route("/cancels", _submit("cancel"), methods=["POST"]),
    Route("/drops", _submit("drop"), methods=["POST"]),
    Route("/_stats", stats, methods=["GET"]),
    Route("/_config", config, methods=["POST"]),
]
