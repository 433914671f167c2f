"""Fault injection shared by every simulated system.

Contract: ``POST /_faults`` with ``{"system": "smt"|"esg"|"derms", "error_rate": 0..1,
"latency_ms": N, "outage": bool}``; ``DELETE /_faults`` clears every fault.
``GET /_faults`` shows what is in force.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

SYSTEMS = ("smt", "esg", "derms")


@dataclass
class Fault:
    error_rate: float = 0.0
    latency_ms: int = 0
    outage: bool = False


class FaultBoard:
    """What each simulated system should do wrong, set by tests through ``/_faults``."""

    def __init__(self) -> None:
        self.faults: dict[str, Fault] = {name: Fault() for name in SYSTEMS}
        self._rng = random.Random(0)

    def clear(self) -> None:
        self.faults = {name: Fault() for name in SYSTEMS}

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


BOARD = FaultBoard()


async def faults_endpoint(request: Request) -> Response:
    if request.method == "DELETE":
        BOARD.clear()
        return JSONResponse({"cleared": True})
    if request.method == "GET":
        return JSONResponse({k: asdict(v) for k, v in BOARD.faults.items()})
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
    BOARD.faults[system] = Fault(
        error_rate=error_rate, latency_ms=latency_ms, outage=bool(body.get("outage", False))
    )
    return JSONResponse({system: asdict(BOARD.faults[system])})


class FaultMiddleware:
    """ASGI middleware: applies the fault of the system a path belongs to (``/smt/...``)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            system = scope["path"].strip("/").split("/", 1)[0]
            if system in SYSTEMS:
                response = await BOARD.apply(system)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
