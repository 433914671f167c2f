"""The one ASGI app that serves every simulator, each under its own prefix.

``/smt/...`` Smart Meter Texas, ``/esg/...`` the ESG billing system, ``/derms/...`` the
DERMS head end; ``/_faults`` the fault-injection contract; ``/_clock`` the simulated day (simulators/clock.py); ``/_health`` for start-up checks.
Each system module exposes ``routes`` (a list of Starlette routes, mounted under its prefix)
and optionally ``reset()`` (called by ``DELETE /_state``).
"""

from __future__ import annotations

import importlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from simulators.clock import clock_endpoint
from simulators.clock import reset as clock_reset
from simulators.faults import SYSTEMS, FaultMiddleware, faults_endpoint


def _system_modules():
    modules = {}
    for name in SYSTEMS:
        try:
            modules[name] = importlib.import_module(f"simulators.{name}")
        except ModuleNotFoundError as exc:  # a system not built yet
            if exc.name != f"simulators.{name}":
                raise
    return modules


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "systems": sorted(_system_modules())})


async def reset_state(request: Request) -> JSONResponse:
    """Forget everything every simulator remembers (tests call this between cases)."""
    for module in _system_modules().values():
        reset = getattr(module, "reset", None)
        if reset:
            reset()
    clock_reset()
    return JSONResponse({"reset": True})


def build_app() -> Starlette:
    routes: list[BaseRoute] = [
        Route("/_health", health),
        Route("/_faults", faults_endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/_state", reset_state, methods=["DELETE"]),
        Route("/_clock", clock_endpoint, methods=["GET", "POST", "DELETE"]),
    ]
    for name, module in _system_modules().items():
        routes.append(Mount(f"/{name}", routes=module.routes))
    app = Starlette(routes=routes)
    app.add_middleware(FaultMiddleware)
    return app
