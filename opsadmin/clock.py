"""The market's "today": one copy of the rule, and a clock tests can move.

ERCOT market days are America/Chicago days, so every date rule (start dates, rescission,
renewal notices, contract ends, drop dates, SMT pull windows) asks :func:`today`.

Real time is the default. Two ways to move the clock, both off unless allowed:

- :func:`travel` (a context manager) for code in this process, e.g. ``seed_demo`` building
  a customer's past through the real services;
- :func:`shared_set`, a date kept in Redis that every process of this deployment (web, the
  Celery worker) reads, so a test can walk months of a customer's life through a real
  worker. Only honoured when ``settings.CLOCK_OVERRIDABLE`` is true (tests; never
  production), and checked on each call so a test's change is seen at once.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings

CHICAGO = ZoneInfo("America/Chicago")
SHARED_KEY = "opsadmin:clock:today"

_travel: contextvars.ContextVar[date | None] = contextvars.ContextVar("clock_travel", default=None)


def real_today() -> date:
    """Today in America/Chicago by the wall clock."""
    return datetime.now(CHICAGO).date()


def today() -> date:
    """The market day: a travelled-to or shared date where allowed, else the real one."""
    travelled = _travel.get()
    if travelled is not None:
        return travelled
    if getattr(settings, "CLOCK_OVERRIDABLE", False):
        shared = _shared_get()
        if shared is not None:
            return shared
    return real_today()


def now() -> datetime:
    """The current instant, moved by as many days as the market day is (a record stamped
    "submitted" in a travelled-to day carries that day)."""
    moved = datetime.now(CHICAGO)
    shift = today() - moved.date()
    return moved + shift if shift else moved


@contextlib.contextmanager
def travel(day: date) -> Iterator[date]:
    """Run the block as if the market day were ``day`` (this process and context only)."""
    token = _travel.set(day)
    try:
        yield day
    finally:
        _travel.reset(token)


_clients: dict[str, object] = {}


def _redis():
    import redis

    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=2)
    return client


def _shared_get() -> date | None:
    try:
        raw = _redis().get(SHARED_KEY)
    except Exception:  # noqa: BLE001 - a broken override must never stop the product
        return None
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.decode())
    except ValueError:
        return None


def shared_set(day: date | None) -> None:
    """Set (or with None, clear) the deployment-wide market day. Tests only."""
    if not getattr(settings, "CLOCK_OVERRIDABLE", False):
        raise RuntimeError("the shared clock can be moved only where CLOCK_OVERRIDABLE is on")
    client = _redis()
    if day is None:
        client.delete(SHARED_KEY)
    else:
        client.set(SHARED_KEY, day.isoformat())
