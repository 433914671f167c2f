"""Handlers that higher apps register with billing at start-up (``AppConfig.ready``).

Billing may not import the apps above it; when the billing system answers something they
care about, billing calls what they registered here. Events and their keyword arguments:

- ``PROSPECT_ACKNOWLEDGED``: ``subject_type``, ``subject_id``, ``ack`` (``ProspectAck``) —
  called inside the transaction that marks the outbox row acknowledged.
- ``PROSPECT_STATUS``: ``subject_type``, ``subject_id``, ``status`` (``ProspectStatus``,
  accepted or rejected) — called inside the transaction that records the final status.
- ``REQUEST_ACKNOWLEDGED``: ``kind``, ``subject_type``, ``subject_id``, ``response`` (dict)
  for cancels, drops, move-outs and plan changes.
- ``REQUEST_COMPLETED``: ``kind``, ``subject_type``, ``subject_id``, ``status``
  (``RequestStatus``) when a drop / move-out took effect — called inside the transaction
  that records it.

A handler that raises ``ApplicationError`` is logged and skipped (the billing system's
answer is still recorded); any other exception rolls the transaction back so the work is
tried again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from opsadmin.errors import ApplicationError

logger = logging.getLogger(__name__)

PROSPECT_ACKNOWLEDGED = "prospect_acknowledged"
PROSPECT_STATUS = "prospect_status"
REQUEST_ACKNOWLEDGED = "request_acknowledged"
REQUEST_COMPLETED = "request_completed"
EVENTS = (PROSPECT_ACKNOWLEDGED, PROSPECT_STATUS, REQUEST_ACKNOWLEDGED, REQUEST_COMPLETED)

_HANDLERS: dict[str, list[Callable[..., None]]] = defaultdict(list)


def register_handler(event: str, fn: Callable[..., None]) -> None:
    """Register ``fn`` for ``event`` (registering the same function twice keeps one)."""
    if event not in EVENTS:
        raise ValueError(f"unknown billing event {event!r}")
    if fn not in _HANDLERS[event]:
        _HANDLERS[event].append(fn)


def handlers(event: str) -> list[Callable[..., None]]:
    return list(_HANDLERS.get(event, ()))


def dispatch(event: str, **kwargs) -> None:
    for fn in handlers(event):
        try:
            fn(**kwargs)
        except ApplicationError as exc:
            logger.warning(
                "billing.handler_refused",
                extra={"event": event, "handler": fn.__qualname__, "error": exc.message},
            )
