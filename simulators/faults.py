"""Fault injection shared by every simulated system.

Contract: ``POST /_faults`` with ``{"system": "smt"|"esg"|"derms", ...}`` replaces what that
system does wrong; ``DELETE /_faults`` clears every fault; ``GET /_faults`` shows what is in
force (and ``GET /_faults/counts`` how often each fault fired).

Whole-system faults (every path of the system): ``"error_rate": 0..1`` (500s),
``"latency_ms": N``, ``"outage": bool`` (503).

Faults that break exactly-once, each an object scoped by endpoint, e.g.
``{"system": "esg", "lose_response": {"endpoint": "POST /prospects", "mode": "drop"}}``:

- ``lose_response``: the request is carried out, then the answer is lost: ``mode`` ``drop``
  (the connection closes after the status line: the client sees a broken response),
  ``502`` or ``504`` (a gateway error in place of the answer).
- ``rate_limit``: ``429`` with ``Retry-After: retry_after_s`` (default 1); not carried out.
- ``malformed``: the request is carried out and a 2xx answer becomes a 200 whose body is
  ``truncated`` (half the JSON) or ``schema`` (valid JSON without the expected fields).
- ``duplicate_delivery``: the request reaches the system twice (an at-least-once gateway)
  and the second answer is returned; every list in a JSON answer carries each item twice
  (an event or acknowledgement delivered twice).
- ``out_of_order``: once an answer changes (a status moved on), the answer before the
  change is delivered once more on the next call: a later status arrives before an
  earlier one.
- ``slow_body``: headers on time, then the body trickles in ``chunks`` pieces ``gap_ms``
  apart (past the client's read timeout); the request was carried out.

Each takes ``endpoint`` (``"METHOD /path"`` or ``"/path"`` under the system's prefix; a
trailing ``*`` matches a prefix; default every non-control path), ``rate`` (0..1, default
1) and ``count`` (fire at most this many times; default unlimited). Control paths (``/_...``)
are never hit by these faults, so tests can read ``_stats`` while a fault is on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import asdict, dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

SYSTEMS = ("smt", "esg", "derms")
FAULT_KINDS = (
    "lose_response",
    "rate_limit",
    "malformed",
    "duplicate_delivery",
    "out_of_order",
    "slow_body",
)
LOSE_MODES = ("drop", "502", "504")
MALFORMED_MODES = ("truncated", "schema")


@dataclass
class Scoped:
    """One endpoint-scoped fault and its options."""

    kind: str
    endpoint: str = ""
    rate: float = 1.0
    count: int | None = None
    mode: str = ""
    retry_after_s: int = 1
    gap_ms: int = 1500
    chunks: int = 3

    def matches(self, method: str, path: str) -> bool:
        if path.startswith("/_"):
            return False
        if not self.endpoint:
            return True
        want_method, _, want_path = self.endpoint.strip().rpartition(" ")
        if want_method and want_method.upper() != method.upper():
            return False
        if want_path.endswith("*"):
            return path.startswith(want_path[:-1])
        return path.rstrip("/") == want_path.rstrip("/")

    def public(self) -> dict:
        out = asdict(self)
        out.pop("kind")
        return out


@dataclass
class Fault:
    error_rate: float = 0.0
    latency_ms: int = 0
    outage: bool = False
    scoped: dict[str, Scoped] = field(default_factory=dict)

    def public(self) -> dict:
        out: dict = {
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms,
            "outage": self.outage,
        }
        out.update({kind: s.public() for kind, s in self.scoped.items()})
        return out


class FaultBoard:
    """What each simulated system should do wrong, set by tests through ``/_faults``."""

    def __init__(self) -> None:
        self.faults: dict[str, Fault] = {name: Fault() for name in SYSTEMS}
        self._rng = random.Random(0)
        self.received: dict[str, int] = dict.fromkeys(SYSTEMS, 0)
        self.fired: dict[str, dict[str, int]] = {name: {} for name in SYSTEMS}
        # out_of_order: per (system, request) the last answer delivered and a stale one due
        self._last: dict[tuple, tuple[bytes, bytes]] = {}
        self._stale: dict[tuple, tuple[int, list, bytes]] = {}

    def clear(self) -> None:
        self.faults = {name: Fault() for name in SYSTEMS}
        self._last.clear()
        self._stale.clear()

    def reset_counts(self) -> None:
        self.received = dict.fromkeys(SYSTEMS, 0)
        self.fired = {name: {} for name in SYSTEMS}

    def counts(self, system: str) -> dict:
        return {"received": self.received[system], "fired": dict(self.fired[system])}

    async def apply(self, system: str) -> Response | None:
        """Sleep for the latency, then return an error response when the fault says so."""
        fault = self.faults[system]
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.outage:
            return JSONResponse({"error": "service unavailable (outage)"}, status_code=503)
        if fault.error_rate and self._rng.random() < fault.error_rate:
            return JSONResponse({"error": "injected server error"}, status_code=500)
        return None

    def firing(self, system: str, method: str, path: str) -> list[Scoped]:
        """The scoped faults that fire for this request (rate and count rolled here)."""
        out = []
        for scoped in self.faults[system].scoped.values():
            if not scoped.matches(method, path):
                continue
            if scoped.count is not None and scoped.count <= 0:
                continue
            if scoped.rate < 1 and self._rng.random() >= scoped.rate:
                continue
            if scoped.count is not None:
                scoped.count -= 1
            self.fired[system][scoped.kind] = self.fired[system].get(scoped.kind, 0) + 1
            out.append(scoped)
        return out


BOARD = FaultBoard()


def _scoped_from(kind: str, spec: object) -> Scoped:
    if spec is True:
        spec = {}
    if not isinstance(spec, dict):
        raise ValueError(f"{kind} must be an object")
    try:
        scoped = Scoped(
            kind=kind,
            endpoint=str(spec.get("endpoint") or ""),
            rate=float(spec.get("rate", 1.0)),
            count=None if spec.get("count") is None else int(spec["count"]),
            mode=str(spec.get("mode") or ""),
            retry_after_s=int(spec.get("retry_after_s", 1)),
            gap_ms=int(spec.get("gap_ms", 1500)),
            chunks=int(spec.get("chunks", 3)),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{kind}: options must be numbers where numbers are expected") from exc
    if not 0 <= scoped.rate <= 1 or scoped.retry_after_s < 0 or scoped.gap_ms < 0:
        raise ValueError(f"{kind}: rate is 0..1, retry_after_s and gap_ms >= 0")
    if scoped.chunks < 2:
        raise ValueError(f"{kind}: chunks >= 2")
    if kind == "lose_response":
        scoped.mode = scoped.mode or "drop"
        if scoped.mode not in LOSE_MODES:
            raise ValueError(f"lose_response mode is one of {', '.join(LOSE_MODES)}")
    if kind == "malformed":
        scoped.mode = scoped.mode or "truncated"
        if scoped.mode not in MALFORMED_MODES:
            raise ValueError(f"malformed mode is one of {', '.join(MALFORMED_MODES)}")
    return scoped


async def faults_endpoint(request: Request) -> Response:
    if request.method == "DELETE":
        BOARD.clear()
        return JSONResponse({"cleared": True})
    if request.method == "GET":
        return JSONResponse({k: v.public() for k, v in BOARD.faults.items()})
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "body must be JSON"}, status_code=400)
    system = body.get("system") if isinstance(body, dict) else None
    if system not in SYSTEMS:
        return JSONResponse(
            {"error": f"system must be one of {', '.join(SYSTEMS)}"}, status_code=400
        )
    try:
        error_rate = float(body.get("error_rate", 0))
        latency_ms = int(body.get("latency_ms", 0))
    except (TypeError, ValueError):
        return JSONResponse({"error": "error_rate and latency_ms must be numbers"}, status_code=400)
    if not 0 <= error_rate <= 1 or latency_ms < 0:
        return JSONResponse({"error": "error_rate is 0..1 and latency_ms >= 0"}, status_code=400)
    try:
        scoped = {k: _scoped_from(k, body[k]) for k in FAULT_KINDS if body.get(k)}
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    BOARD.faults[system] = Fault(
        error_rate=error_rate,
        latency_ms=latency_ms,
        outage=bool(body.get("outage", False)),
        scoped=scoped,
    )
    return JSONResponse({system: BOARD.faults[system].public()})


async def fault_counts(request: Request) -> Response:
    """``GET /_faults/counts``: calls received and faults fired, per system."""
    return JSONResponse({name: BOARD.counts(name) for name in SYSTEMS})


class InjectedDrop(Exception):
    """Raised after the status line to make the server close the connection (lose_response)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedDrop)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


async def _read_body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def _replaying(body: bytes, receive):
    """A ``receive`` that hands the buffered body to the app, then waits on the real one.

    The body is read before any fault sleeps, so a client that gives up does not stop the
    system from carrying the request out (as a real back end keeps working)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _run(app, scope, body: bytes, receive) -> tuple[int, list, bytes]:
    """Run the app to completion and capture its answer instead of sending it."""
    status = 500
    headers: list = []
    chunks: list[bytes] = []

    async def capture(message):
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(dict(scope), _replaying(body, receive), capture)  # routing edits the scope
    return status, headers, b"".join(chunks)


def _with_length(headers: list, length: int) -> list:
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


async def _send(send, status: int, headers: list, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _with_length(headers, len(body)),
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_json(send, status: int, data: dict, extra: list | None = None) -> None:
    headers = [(b"content-type", b"application/json"), *(extra or [])]
    await _send(send, status, headers, json.dumps(data).encode())


def _duplicate_items(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    changed = False
    for key, value in data.items():
        if isinstance(value, list) and value:
            data[key] = [item for item in value for _ in (0, 1)]
            changed = True
    return json.dumps(data).encode() if changed else body


def _without_trans_id(raw: bytes) -> bytes:
    """SMT echoes a fresh ``trans_id``: leave it out when comparing answers or requests."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(data, dict):
        data.pop("trans_id", None)
        return json.dumps(data, sort_keys=True).encode()
    return raw


class FaultMiddleware:
    """ASGI middleware: applies the faults of the system a path belongs to (``/smt/...``)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        system, _, rest = scope["path"].strip("/").partition("/")
        if system not in SYSTEMS:
            await self.app(scope, receive, send)
            return
        path = "/" + rest
        if not path.startswith("/_"):
            BOARD.received[system] += 1
        firing = {s.kind: s for s in BOARD.firing(system, scope["method"], path)}
        if not firing:
            response = await BOARD.apply(system)
            if response is not None:
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)  # before any sleep: see _replaying
        response = await BOARD.apply(system)
        if response is not None:
            await response(scope, receive, send)
            return
        if limit := firing.get("rate_limit"):
            retry = [(b"retry-after", str(limit.retry_after_s).encode())]
            await _send_json(send, 429, {"error": "too many requests"}, retry)
            return
        status, headers, answer = await _run(self.app, scope, body, receive)
        if "duplicate_delivery" in firing:
            status, headers, answer = await _run(self.app, scope, body, receive)
            if 200 <= status < 300:
                answer = _duplicate_items(answer)
        if "out_of_order" in firing:
            status, headers, answer = self._out_of_order(
                system, scope, body, status, headers, answer
            )
        if (bad := firing.get("malformed")) and 200 <= status < 300:
            if bad.mode == "truncated":
                answer = answer[: max(1, len(answer) // 2)]
            else:
                answer = json.dumps({"result": "ok", "data": None}).encode()
            await _send(send, 200, headers, answer)
            return
        if lost := firing.get("lose_response"):
            if lost.mode == "drop":
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": _with_length(headers, len(answer)),
                    }
                )
                raise InjectedDrop("lose_response: connection dropped after the request")
            gateway = {"502": (502, "bad gateway"), "504": (504, "gateway timeout")}[lost.mode]
            await _send_json(send, gateway[0], {"error": gateway[1]})
            return
        if slow := firing.get("slow_body"):
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": _with_length(headers, len(answer)),
                }
            )
            size = max(1, -(-len(answer) // slow.chunks))
            pieces = [answer[i : i + size] for i in range(0, len(answer), size)] or [b""]
            for index, piece in enumerate(pieces):
                if index:
                    await asyncio.sleep(slow.gap_ms / 1000)
                more = index < len(pieces) - 1
                await send({"type": "http.response.body", "body": piece, "more_body": more})
            return
        await _send(send, status, headers, answer)

    @staticmethod
    def _out_of_order(system, scope, body, status, headers, answer):
        key = (system, scope["method"], scope["path"], _without_trans_id(body))
        stale = BOARD._stale.pop(key, None)
        if stale is not None:
            return stale  # the earlier answer, arriving after the later one
        last = BOARD._last.get(key)
        normalized = _without_trans_id(answer)
        if last is not None and last[0] != normalized and 200 <= status < 300:
            BOARD._stale[key] = (status, headers, last[1])
        BOARD._last[key] = (normalized, answer)
        return status, headers, answer
