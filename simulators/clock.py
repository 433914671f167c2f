"""One simulated "today" for every simulator: ``GET/POST/DELETE /_clock``.

``POST /_clock {"today": "2027-01-15"}`` makes each system behave as on that America/Chicago
day (switches complete, drops take effect, SMT publishes data up to the day before, bills
close); ``DELETE /_clock`` returns to the wall clock (the default). Tests move this clock
together with the product's (``opsadmin.clock``) to walk months of a customer's life.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse

CHICAGO = ZoneInfo("America/Chicago")


class _Clock:
    override: date | None = None


CLOCK = _Clock()


def today() -> date:
    return CLOCK.override or datetime.now(CHICAGO).date()


def reset() -> None:
    CLOCK.override = None


async def clock_endpoint(request: Request) -> JSONResponse:
    if request.method == "POST":
        try:
            body = await request.json()
            CLOCK.override = date.fromisoformat(str(body["today"]))
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'body must be {"today": "YYYY-MM-DD"}'}, status_code=400)
    elif request.method == "DELETE":
        reset()
    return JSONResponse({"today": today().isoformat(), "simulated": CLOCK.override is not None})
